#pragma once
// A high-dynamic-range latency histogram (the HdrHistogram idea, our own layout): log-linear
// buckets over nanoseconds. Every power of two from 2^8 ns up is split into 128 equal
// sub-buckets, and values below 256 ns are exact, so a bucket is never wider than 1/128 (0.78%)
// of the values it holds: two significant digits from 1 µs to the 100 s ceiling, in a fixed
// ~31 KiB of counters. Constant memory and O(1) record() make it safe on the send/receive path;
// merge() adds bucket counts, so per-thread histograms combine exactly.
//
// Percentiles use the nearest-rank definition (the value of the ceil(p/100 * count)-th smallest
// sample) and report the highest value of that sample's bucket, capped at the exact maximum: a
// reported percentile is never below the true one and never more than 1/128 above it.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trellis::bench::loadgen {

class Histogram {
 public:
  // Values above this are recorded as this value and counted in saturated().
  static constexpr uint64_t kMaxValue = 100'000'000'000;  // 100 s in ns
  static constexpr unsigned kSubBucketBits = 7;           // 128 sub-buckets per power of two
  // The largest width/lower-bound ratio of any bucket: the precision guarantee.
  static constexpr double kRelativePrecision = 1.0 / (1u << kSubBucketBits);

  Histogram();

  void record(uint64_t value_ns, uint64_t count = 1);
  // Adds every sample of `other`. Both have the same layout, so nothing is lost.
  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t saturated() const { return saturated_; }
  // Exact extremes and mean of what was recorded (after clamping to kMaxValue); 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

  // The nearest-rank percentile, `percentile` in [0, 100]; 0 when empty. 0 gives min(), 100
  // gives max().
  uint64_t value_at_percentile(double percentile) const;

  // The 1-based rank that value_at_percentile() reports for `count` samples (at least 1).
  static uint64_t rank_for(double percentile, uint64_t count);

  // Bucket layout, exposed for tests and for exporting the distribution.
  static size_t bucket_index(uint64_t value_ns);
  static uint64_t bucket_lowest(size_t index);
  static uint64_t bucket_highest(size_t index);
  static size_t bucket_count();

  struct Bucket {
    uint64_t lowest_ns;
    uint64_t highest_ns;
    uint64_t count;
  };
  // The non-empty buckets in value order: enough to pool runs later and recompute percentiles.
  std::vector<Bucket> nonempty_buckets() const;

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t saturated_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace trellis::bench::loadgen
