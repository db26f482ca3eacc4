#pragma once
// A vector that stores its first N elements inline and spills to one heap array beyond that.
// Parsed heads use it so that a typical request (well under 32 fields) costs no allocation, and
// a parser reused across requests keeps its capacity (clear() does not free).

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <memory>
#include <type_traits>

namespace trellis::http::h1 {

template <typename T, size_t N>
class InlineVector {
  static_assert(std::is_trivially_copyable_v<T>, "elements are copied bytewise");
  static_assert(N > 0);

 public:
  InlineVector() = default;
  InlineVector(const InlineVector& other) { append_all(other); }
  InlineVector& operator=(const InlineVector& other) {
    if (this != &other) {
      clear();
      append_all(other);
    }
    return *this;
  }
  InlineVector(InlineVector&& other) noexcept { take(other); }
  InlineVector& operator=(InlineVector&& other) noexcept {
    if (this != &other) {
      heap_.reset();
      capacity_ = N;
      size_ = 0;
      take(other);
    }
    return *this;
  }
  ~InlineVector() = default;

  void push_back(const T& value) {
    if (size_ == capacity_) grow();
    data()[size_++] = value;
  }
  void clear() { size_ = 0; }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  static constexpr size_t inline_capacity() { return N; }

  T* data() { return heap_ ? heap_.get() : inline_; }
  const T* data() const { return heap_ ? heap_.get() : inline_; }
  T& operator[](size_t i) { assert(i < size_); return data()[i]; }
  const T& operator[](size_t i) const { assert(i < size_); return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  void grow() {
    const size_t new_capacity = capacity_ * 2;
    auto bigger = std::make_unique<T[]>(new_capacity);
    std::copy(data(), data() + size_, bigger.get());
    heap_ = std::move(bigger);
    capacity_ = new_capacity;
  }
  void append_all(const InlineVector& other) {
    for (const T& v : other) push_back(v);
  }
  void take(InlineVector& other) {
    if (other.heap_) {
      heap_ = std::move(other.heap_);
      capacity_ = other.capacity_;
      size_ = other.size_;
    } else {
      std::copy(other.inline_, other.inline_ + other.size_, inline_);
      size_ = other.size_;
    }
    other.capacity_ = N;
    other.size_ = 0;
  }

  T inline_[N]{};
  std::unique_ptr<T[]> heap_;
  size_t size_ = 0;
  size_t capacity_ = N;
};

}  // namespace trellis::http::h1
