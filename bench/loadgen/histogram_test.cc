#include "loadgen/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace trellis::bench::loadgen {
namespace {

constexpr double kPercentiles[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999};

// Latency-like samples spread over seven decades (100 ns .. ~10 s), log-uniform.
std::vector<uint64_t> random_samples(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> exponent(2.0, 10.0);
  std::vector<uint64_t> out(n);
  for (auto& v : out) v = static_cast<uint64_t>(std::pow(10.0, exponent(random)));
  return out;
}

uint64_t exact_percentile(std::vector<uint64_t> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  if (p <= 0) return sorted.front();
  return sorted[Histogram::rank_for(p, sorted.size()) - 1];
}

TEST(Histogram, BucketsTileTheRangeWithinThePrecision) {
  const size_t n = Histogram::bucket_count();
  EXPECT_LT(n, 4096u);  // constant memory: ~31 KiB of counters
  EXPECT_EQ(Histogram::bucket_lowest(0), 0u);
  for (size_t i = 0; i + 1 < n; ++i) {
    ASSERT_EQ(Histogram::bucket_lowest(i + 1), Histogram::bucket_highest(i) + 1) << i;
    ASSERT_EQ(Histogram::bucket_index(Histogram::bucket_lowest(i)), i);
    ASSERT_EQ(Histogram::bucket_index(Histogram::bucket_highest(i)), i);
    const uint64_t lowest = Histogram::bucket_lowest(i);
    const uint64_t width = Histogram::bucket_highest(i) - lowest + 1;
    if (lowest < 256) {
      ASSERT_EQ(width, 1u);  // exact below 256 ns
    } else {
      ASSERT_LE(static_cast<double>(width) / static_cast<double>(lowest),
                Histogram::kRelativePrecision)
          << i;
    }
  }
  EXPECT_GE(Histogram::bucket_highest(n - 1), Histogram::kMaxValue);
}

TEST(Histogram, PercentilesOfRandomSamplesAreWithinThePrecision) {
  const auto samples = random_samples(200'000, 42);
  Histogram h;
  double sum = 0;
  for (uint64_t v : samples) {
    h.record(v);
    sum += static_cast<double>(v);
  }
  ASSERT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.min(), *std::min_element(samples.begin(), samples.end()));
  EXPECT_EQ(h.max(), *std::max_element(samples.begin(), samples.end()));
  EXPECT_NEAR(h.mean(), sum / static_cast<double>(samples.size()), h.mean() * 1e-12);
  for (double p : kPercentiles) {
    const uint64_t exact = exact_percentile(samples, p);
    const uint64_t reported = h.value_at_percentile(p);
    // Never below the true value, never more than one bucket width (1/128) above it.
    EXPECT_GE(reported, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(reported),
              static_cast<double>(exact) * (1 + Histogram::kRelativePrecision))
        << "p" << p;
  }
  EXPECT_EQ(h.value_at_percentile(0), h.min());
  EXPECT_EQ(h.value_at_percentile(100), h.max());
}

TEST(Histogram, NearestRankOnSmallExactValues) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);  // below 256 ns: exact buckets
  EXPECT_EQ(h.value_at_percentile(50), 50u);
  EXPECT_EQ(h.value_at_percentile(50.5), 51u);
  EXPECT_EQ(h.value_at_percentile(99), 99u);
  EXPECT_EQ(h.value_at_percentile(1), 1u);
  EXPECT_EQ(h.value_at_percentile(100), 100u);
}

TEST(Histogram, RankIsNotPushedUpByFloatingPointNoise) {
  // 99.9 * 1000 / 100 computes as 999.0000000000001.
  EXPECT_EQ(Histogram::rank_for(99.9, 1000), 999u);
  EXPECT_EQ(Histogram::rank_for(99.99, 10000), 9999u);
  EXPECT_EQ(Histogram::rank_for(50, 1), 1u);
  EXPECT_EQ(Histogram::rank_for(0.0001, 10), 1u);
  EXPECT_EQ(Histogram::rank_for(100, 10), 10u);
  EXPECT_EQ(Histogram::rank_for(50, 0), 0u);
}

TEST(Histogram, MicrosecondsKeepTwoSignificantDigits) {
  Histogram h;
  h.record(1'234'567);  // 1234.567 us
  const uint64_t reported = h.value_at_percentile(50);
  EXPECT_EQ(reported, 1'234'567u);  // capped at the exact max
  h.record(1'234'000);
  const uint64_t low = h.value_at_percentile(1);
  EXPECT_GE(low, 1'234'000u);
  EXPECT_LE(low, 1'234'000u + 1'234'000u / 128);
}

TEST(Histogram, ValuesAboveTheCeilingSaturate) {
  Histogram h;
  h.record(200'000'000'000);  // 200 s
  h.record(1'000);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.saturated(), 1u);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  EXPECT_EQ(h.value_at_percentile(100), Histogram::kMaxValue);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  const auto samples = random_samples(50'000, 7);
  Histogram all, a, b, c;
  for (size_t i = 0; i < samples.size(); ++i) {
    all.record(samples[i]);
    (i % 3 == 0 ? a : i % 3 == 1 ? b : c).record(samples[i]);
  }
  Histogram merged;
  merged.merge(a);
  merged.merge(b);
  merged.merge(c);
  merged.merge(Histogram{});  // an empty one changes nothing
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_NEAR(merged.mean(), all.mean(), all.mean() * 1e-12);
  const auto got = merged.nonempty_buckets();
  const auto want = all.nonempty_buckets();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].lowest_ns, want[i].lowest_ns);
    EXPECT_EQ(got[i].count, want[i].count);
  }
  for (double p : kPercentiles) {
    EXPECT_EQ(merged.value_at_percentile(p), all.value_at_percentile(p));
  }
}

TEST(Histogram, EmptyAndReset) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.value_at_percentile(99), 0u);
  h.record(5'000, 3);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.mean(), 5'000.0);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(h.nonempty_buckets().empty());
}

}  // namespace
}  // namespace trellis::bench::loadgen
