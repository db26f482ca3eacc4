#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace trellis::bench::loadgen {
namespace {

constexpr uint64_t kSubBuckets = uint64_t{1} << Histogram::kSubBucketBits;  // 128
// Below 2 * kSubBuckets every value has a bucket of its own (width 1 ns).
constexpr uint64_t kExactBelow = 2 * kSubBuckets;

// The power-of-two step of a bucket above the exact range: its width is 2^shift.
constexpr unsigned shift_of_index(size_t index) {
  return static_cast<unsigned>(index / kSubBuckets) - 1;
}

}  // namespace

size_t Histogram::bucket_index(uint64_t value_ns) {
  if (value_ns < kExactBelow) return static_cast<size_t>(value_ns);
  // floor(log2(v)) - 7: how far v must be shifted to leave 8 significant bits (128..255).
  const unsigned shift = static_cast<unsigned>(std::bit_width(value_ns)) - 1 - kSubBucketBits;
  const uint64_t top = value_ns >> shift;  // in [128, 256)
  return static_cast<size_t>(kSubBuckets * shift + top);
}

uint64_t Histogram::bucket_lowest(size_t index) {
  if (index < kExactBelow) return index;
  const unsigned shift = shift_of_index(index);
  const uint64_t top = index - kSubBuckets * shift;
  return top << shift;
}

uint64_t Histogram::bucket_highest(size_t index) {
  if (index < kExactBelow) return index;
  return bucket_lowest(index) + (uint64_t{1} << shift_of_index(index)) - 1;
}

size_t Histogram::bucket_count() { return bucket_index(kMaxValue) + 1; }

Histogram::Histogram() : counts_(bucket_count(), 0) {}

void Histogram::record(uint64_t value_ns, uint64_t count) {
  if (count == 0) return;
  if (value_ns > kMaxValue) {
    value_ns = kMaxValue;
    saturated_ += count;
  }
  counts_[bucket_index(value_ns)] += count;
  count_ += count;
  min_ = std::min(min_, value_ns);
  max_ = std::max(max_, value_ns);
  sum_ += static_cast<double>(value_ns) * static_cast<double>(count);
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  saturated_ += other.saturated_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  saturated_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

uint64_t Histogram::rank_for(double percentile, uint64_t count) {
  if (count == 0) return 0;
  const double exact = std::clamp(percentile, 0.0, 100.0) * static_cast<double>(count) / 100.0;
  // 99.9% of 1000 computes as 999.0000000000001: without the nudge the rank would be 1000.
  const auto rank = static_cast<uint64_t>(std::ceil(exact - exact * 1e-12));
  return std::clamp<uint64_t>(rank, 1, count);
}

uint64_t Histogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  if (percentile <= 0) return min_;
  if (percentile >= 100) return max_;
  const uint64_t rank = rank_for(percentile, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_highest(i), max_);
  }
  return max_;
}

std::vector<Histogram::Bucket> Histogram::nonempty_buckets() const {
  std::vector<Bucket> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) out.push_back({bucket_lowest(i), bucket_highest(i), counts_[i]});
  }
  return out;
}

}  // namespace trellis::bench::loadgen
