#include "metrics/metric.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <limits>

namespace trellis::metrics {
namespace {

using namespace std::chrono_literals;

TEST(CounterTest, StartsAtZeroAndAddsIncrements) {
  Counter c;
  EXPECT_EQ(c.value(), 0u);
  c.inc();
  c.inc(41);
  EXPECT_EQ(c.value(), 42u);
}

TEST(GaugeTest, AddSubSetIncDec) {
  Gauge g;
  EXPECT_EQ(g.value(), 0);
  g.add(10);
  g.sub(3);
  EXPECT_EQ(g.value(), 7);
  g.dec();
  g.dec();
  g.inc();
  EXPECT_EQ(g.value(), 6);
  g.sub(10);
  EXPECT_EQ(g.value(), -4);
  g.set(123);
  EXPECT_EQ(g.value(), 123);
}

TEST(HistogramTest, LatencyBucketsAreLinkerds) {
  const std::array<double, 25> expected = {1,    2,    3,    4,     5,     10,    20,
                                           30,   40,   50,   100,   200,   300,   400,
                                           500,  1000, 2000, 3000,  4000,  5000,  10000,
                                           20000, 30000, 40000, 50000};
  EXPECT_EQ(kLatencyBucketsMs, expected);
  EXPECT_TRUE(Histogram::valid_bounds(kLatencyBucketsMs));
}

TEST(HistogramTest, ValueOnABoundGoesToThatBucket) {
  static constexpr double kBounds[] = {1, 5, 10};
  Histogram h(kBounds);
  h.observe(0);    // le=1
  h.observe(1);    // le=1 (inclusive)
  h.observe(1.5);  // le=5
  h.observe(5);    // le=5
  h.observe(10);   // le=10
  h.observe(10.0001);  // +Inf
  h.observe(1e12);     // +Inf
  h.observe(-3);       // le=1
  EXPECT_EQ(h.bucket(0), 3u);
  EXPECT_EQ(h.bucket(1), 2u);
  EXPECT_EQ(h.bucket(2), 1u);
  EXPECT_EQ(h.bucket(3), 2u);
  EXPECT_EQ(h.count(), 8u);
  EXPECT_DOUBLE_EQ(h.sum(), 0 + 1 + 1.5 + 5 + 10 + 10.0001 + 1e12 - 3);
}

TEST(HistogramTest, NanIsIgnored) {
  static constexpr double kBounds[] = {1};
  Histogram h(kBounds);
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0);
  h.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.bucket(1), 1u);
}

TEST(HistogramTest, ObserveDurationsInTheFamilyUnit) {
  Histogram ms(kLatencyBucketsMs);
  ms.observe_ms(1500us);  // 1.5 ms -> le=2
  ms.observe_ms(7s);      // 7000 ms -> le=10000
  EXPECT_EQ(ms.bucket(1), 1u);
  EXPECT_EQ(ms.bucket(20), 1u);
  EXPECT_DOUBLE_EQ(ms.sum(), 7001.5);

  static constexpr double kSeconds[] = {0.05, 0.5, 1, 10};
  Histogram s(kSeconds);
  s.observe_seconds(250ms);  // le=0.5
  EXPECT_EQ(s.bucket(1), 1u);
  EXPECT_DOUBLE_EQ(s.sum(), 0.25);
}

TEST(HistogramTest, ValidBounds) {
  static constexpr double kEmpty[] = {0};
  EXPECT_TRUE(Histogram::valid_bounds(std::span<const double>(kEmpty, 0)));
  static constexpr double kDecreasing[] = {1, 3, 2};
  EXPECT_FALSE(Histogram::valid_bounds(kDecreasing));
  static constexpr double kRepeated[] = {1, 1};
  EXPECT_FALSE(Histogram::valid_bounds(kRepeated));
  static constexpr double kInf[] = {1, std::numeric_limits<double>::infinity()};
  EXPECT_FALSE(Histogram::valid_bounds(kInf));
  static constexpr double kNan[] = {std::numeric_limits<double>::quiet_NaN()};
  EXPECT_FALSE(Histogram::valid_bounds(kNan));
}

TEST(HistogramTest, NoBoundsMeansOnlyInf) {
  Histogram h(std::span<const double>{});
  h.observe(3);
  EXPECT_EQ(h.bucket(0), 1u);
  EXPECT_EQ(h.count(), 1u);
}

}  // namespace
}  // namespace trellis::metrics
