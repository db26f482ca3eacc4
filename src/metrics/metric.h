#pragma once
// The three metric kinds. Every update is one relaxed atomic operation, with no lock, no
// allocation and no clock read, so worker threads can update them on the request path while a
// scrape on another thread reads them (DESIGN.md §7.3).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "base/duration.h"

namespace trellis::metrics {

enum class MetricType { Counter, Gauge, Histogram };

// Linkerd's latency buckets in milliseconds (reference/linkerd.md §5.1), used by
// response_latency_ms and route_response_latency_ms. The +Inf bucket is implicit in every
// histogram and not listed.
inline constexpr std::array<double, 25> kLatencyBucketsMs = {
    1,    2,    3,    4,     5,     10,    20,    30,    40,    50,    100,   200,  300,
    400,  500,  1000, 2000,  3000,  4000,  5000,  10000, 20000, 30000, 40000, 50000};

// A monotonic count.
class Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (open connections, queue depth).
class Gauge {
 public:
  void add(int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(int64_t n) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { sub(1); }
  void set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// A histogram over fixed, strictly increasing finite upper bounds plus the implicit +Inf
// bucket. A value v lands in the first bucket with v <= bound (Prometheus `le` semantics).
//
// There is no separate count: the count is the sum of the buckets, so a concurrent scrape
// always sees `_bucket{le="+Inf"} == _count`. The sum is updated separately and may lag the
// buckets by in-flight observations during a scrape.
class Histogram {
 public:
  // `bounds` must outlive the histogram (families keep them; kLatencyBucketsMs is static) and
  // satisfy valid_bounds().
  explicit Histogram(std::span<const double> bounds);

  // NaN is ignored: it would poison the sum for the rest of the series' life.
  void observe(double value) noexcept {
    if (value != value) return;
    // Branch-free bucket search: the index is the number of bounds strictly below the value.
    size_t index = 0;
    for (double bound : bounds_) index += static_cast<size_t>(value > bound);
    buckets_[index].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }
  // Observes a duration in milliseconds or seconds, to match the unit in the family's name.
  void observe_ms(base::Duration d) noexcept {
    observe(std::chrono::duration<double, std::milli>(d).count());
  }
  void observe_seconds(base::Duration d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  std::span<const double> bounds() const noexcept { return bounds_; }
  // Non-cumulative count of bucket i; i == bounds().size() is the +Inf bucket.
  uint64_t bucket(size_t i) const noexcept {
    return buckets_[i].load(std::memory_order_relaxed);
  }
  uint64_t count() const noexcept;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

  // Strictly increasing and finite.
  static bool valid_bounds(std::span<const double> bounds);

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 entries
  std::atomic<double> sum_{0};
};

}  // namespace trellis::metrics
