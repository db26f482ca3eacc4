#include "http/h1conn/io.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "http/h1/chars.h"

namespace trellis::http::h1::detail {

// === ReadBuffer ===

namespace {

// Free standard blocks of this thread. Bounded: a burst of connections that all went idle at
// once gives the rest back to malloc.
constexpr size_t kMaxCachedBlocks = 16;

// Set when this thread's cache has been destroyed (thread exit): buffers freed later (members
// of thread_local or static objects) must not touch it.
thread_local bool block_cache_gone = false;

struct BlockCache {
  std::vector<std::unique_ptr<char[]>> blocks;
  ~BlockCache() { block_cache_gone = true; }
};

BlockCache& block_cache() {
  thread_local BlockCache cache;
  return cache;
}

std::unique_ptr<char[]> take_block() {
  if (block_cache_gone) return std::make_unique_for_overwrite<char[]>(ReadBuffer::kBlockSize);
  auto& blocks = block_cache().blocks;
  if (blocks.empty()) return std::make_unique_for_overwrite<char[]>(ReadBuffer::kBlockSize);
  auto block = std::move(blocks.back());
  blocks.pop_back();
  return block;
}

}  // namespace

ReadBuffer::ReadBuffer(ReadBuffer&& other) noexcept
    : storage_(std::move(other.storage_)), capacity_(std::exchange(other.capacity_, 0)),
      begin_(std::exchange(other.begin_, 0)), end_(std::exchange(other.end_, 0)) {}

ReadBuffer& ReadBuffer::operator=(ReadBuffer&& other) noexcept {
  if (this != &other) {
    release_storage();
    storage_ = std::move(other.storage_);
    capacity_ = std::exchange(other.capacity_, 0);
    begin_ = std::exchange(other.begin_, 0);
    end_ = std::exchange(other.end_, 0);
  }
  return *this;
}

void ReadBuffer::release_storage() noexcept {
  if (storage_ && capacity_ == kBlockSize && !block_cache_gone) {
    auto& blocks = block_cache().blocks;
    if (blocks.size() < kMaxCachedBlocks) {
      // push_back may throw only on allocation failure; then the block is simply freed.
      try {
        blocks.push_back(std::move(storage_));
      } catch (...) {
      }
    }
  }
  storage_.reset();
  capacity_ = 0;
  begin_ = end_ = 0;
}

void ReadBuffer::release_if_empty() {
  if (empty()) release_storage();
}

void ReadBuffer::consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;  // empty: the next read starts at the front again
}

void ReadBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  auto space = prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

net::asio::mutable_buffer ReadBuffer::prepare(size_t n) {
  if (capacity_ - end_ < n) {
    const size_t used = size();
    if (capacity_ - used >= n && begin_ > 0) {
      std::memmove(storage_.get(), storage_.get() + begin_, used);
    } else {
      const size_t capacity = std::max(capacity_ * 2, used + n);
      auto grown = capacity == kBlockSize ? take_block()
                                          : std::make_unique_for_overwrite<char[]>(capacity);
      if (used > 0) std::memcpy(grown.get(), storage_.get() + begin_, used);
      release_storage();
      storage_ = std::move(grown);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = used;
  }
  return net::asio::buffer(storage_.get() + end_, capacity_ - end_);
}

std::string ReadBuffer::take_all() {
  std::string out(data());
  begin_ = end_ = 0;
  return out;
}

void ReadBuffer::shrink_if_idle(size_t keep) {
  if (!empty() || capacity_ <= keep) return;
  release_storage();
}

// === Signal ===

Signal::Signal(net::asio::any_io_executor executor) : timer_(std::move(executor)) {}

net::awaitable<void> Signal::wait_until(Clock::time_point deadline) {
  timer_.expires_at(deadline);
  co_await timer_.async_wait(net::use_nothrow);
}

void Signal::notify() { timer_.cancel(); }

// === Watchdog ===

Watchdog::Watchdog(net::asio::any_io_executor executor) : timer_(std::move(executor)) {}

void Watchdog::arm_at(Kind kind, Clock::time_point deadline) {
  Slot& s = slot(kind);
  s.deadline = deadline;
  s.armed = true;
  s.expired = false;
  // The run loop sleeps until the earliest deadline it knew of; wake it only if this one is
  // earlier. Later deadlines are picked up when it wakes.
  if (running_ && deadline < timer_.expiry()) timer_.cancel();
}

net::awaitable<void> Watchdog::run(std::function<void(Kind)> on_expire) {
  running_ = true;
  while (!stopped_) {
    const auto now = Clock::now();
    for (size_t i = 0; i < 2; ++i) {
      Slot& s = slots_[i];
      if (!s.armed || s.deadline > now) continue;
      s.armed = false;
      s.expired = true;
      on_expire(static_cast<Kind>(i));
    }
    if (stopped_) break;
    // Computed after the callbacks, which may have re-armed a slot.
    auto next = Clock::time_point::max();
    for (const Slot& s : slots_) {
      if (s.armed) next = std::min(next, s.deadline);
    }
    if (next <= Clock::now()) continue;
    timer_.expires_at(next);
    co_await timer_.async_wait(net::use_nothrow);
    auto cs = co_await net::asio::this_coro::cancellation_state;
    if (cs.cancelled() != net::asio::cancellation_type::none) break;
  }
  running_ = false;
}

void Watchdog::stop() {
  stopped_ = true;
  timer_.cancel();
}

// === Field conversions ===

Headers to_headers(const std::vector<Field>& fields) {
  Headers out;
  for (const Field& f : fields) out.add(f.name, f.value);
  return out;
}

Headers to_headers(const FieldList& fields) {
  Headers out;
  for (const HeaderField& f : fields) out.add(f.name, f.value);
  return out;
}

std::vector<Field> to_fields(const Headers& headers) {
  std::vector<Field> out;
  out.reserve(headers.size());
  for (const Header& h : headers) {
    // HTTP/2 pseudo-headers never belong in the model's fields; skip any that leaked in rather
    // than failing the whole message on the serializer's name check.
    if (h.name.empty() || h.name.front() == ':') continue;
    out.push_back({h.name, h.value});
  }
  return out;
}

size_t filter_trailers(const Headers& trailers, std::vector<Field>& out) {
  size_t dropped = 0;
  for (const Header& h : trailers) {
    if (!is_valid_field_name(h.name) || !is_valid_field_value(h.value) ||
        is_forbidden_trailer(h.name)) {
      ++dropped;
      continue;
    }
    out.push_back({h.name, h.value});
  }
  return dropped;
}

}  // namespace trellis::http::h1::detail
