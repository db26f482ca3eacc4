// Series identity, handles and idle expiry, driven by a ManualClock.
#include "metrics/family.h"

#include <gtest/gtest.h>

#include <chrono>

#include "metrics/registry.h"

namespace trellis::metrics {
namespace {

using namespace std::chrono_literals;

class FamilyTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  Registry registry_{RegistryOptions{.retain_idle = 10min, .clock = &clock_}};
  Family<Counter>& family_ = registry_.counter("tcp_open_total", "Opened connections.", {"peer"});
};

TEST_F(FamilyTest, SameLabelValuesGiveTheSameSeries) {
  Handle<Counter> a = family_.get({"src"});
  Handle<Counter> b = family_.get({"src"});
  Handle<Counter> c = family_.get({"dst"});
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  a->inc();
  b->inc(2);
  EXPECT_EQ(a->value(), 3u);
  EXPECT_EQ(c->value(), 0u);
  EXPECT_EQ(family_.size(), 2u);
}

TEST_F(FamilyTest, SeriesAreCacheLineAligned) {
  Handle<Counter> a = family_.get({"a"});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.get()) % detail::kCacheLineBytes, 0u);
}

TEST_F(FamilyTest, HeldSeriesSurviveAnyIdleTime) {
  Handle<Counter> held = family_.get({"src"});
  held->inc(5);
  clock_.advance(24h);
  EXPECT_EQ(registry_.sweep(), 0u);
  EXPECT_EQ(family_.size(), 1u);
  EXPECT_EQ(registry_.render(),
            "# HELP tcp_open_total Opened connections.\n"
            "# TYPE tcp_open_total counter\n"
            "tcp_open_total{peer=\"src\"} 5\n");
}

TEST_F(FamilyTest, ReleasedSeriesExpireExactlyAfterRetainIdle) {
  family_.get({"src"})->inc(7);  // the temporary handle is released at once
  clock_.advance(10min - 1ns);
  EXPECT_EQ(registry_.sweep(), 0u);
  EXPECT_EQ(family_.get({"src"})->value(), 7u) << "not yet idle long enough: value kept";
  clock_.advance(10min - 1ns);  // counted from the second release
  EXPECT_EQ(registry_.sweep(), 0u);
  clock_.advance(1ns);
  EXPECT_EQ(registry_.sweep(), 1u);
  EXPECT_EQ(family_.size(), 0u);
}

TEST_F(FamilyTest, RecreatedSeriesStartFromZero) {
  family_.get({"src"})->inc(7);
  clock_.advance(10min);
  EXPECT_EQ(registry_.sweep(), 1u);
  Handle<Counter> again = family_.get({"src"});
  EXPECT_EQ(again->value(), 0u);
}

TEST_F(FamilyTest, ScrapeSweepsExpiredSeries) {
  Handle<Counter> held = family_.get({"held"});
  family_.get({"gone"})->inc();
  clock_.advance(10min);
  EXPECT_EQ(registry_.render(),
            "# HELP tcp_open_total Opened connections.\n"
            "# TYPE tcp_open_total counter\n"
            "tcp_open_total{peer=\"held\"} 0\n");
  EXPECT_EQ(family_.size(), 1u);
  held.reset();
  clock_.advance(10min);
  EXPECT_EQ(registry_.render(), "") << "a family without series renders nothing";
}

TEST_F(FamilyTest, EveryCopyHoldsTheSeries) {
  Handle<Counter> first = family_.get({"src"});
  Handle<Counter> copy = first;
  Handle<Counter> assigned;
  assigned = copy;
  first.reset();
  copy.reset();
  clock_.advance(1h);
  EXPECT_EQ(registry_.sweep(), 0u) << "still held by `assigned`";
  assigned.reset();
  EXPECT_EQ(registry_.sweep(), 0u) << "idle time counts from the last release";
  clock_.advance(10min);
  EXPECT_EQ(registry_.sweep(), 1u);
}

TEST_F(FamilyTest, MovedFromHandleHoldsNothing) {
  Handle<Counter> a = family_.get({"src"});
  Handle<Counter> b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_TRUE(b);
  b->inc();
  clock_.advance(1h);
  EXPECT_EQ(registry_.sweep(), 0u);
  b = Handle<Counter>();  // assignment releases the old series
  clock_.advance(10min);
  EXPECT_EQ(registry_.sweep(), 1u);
}

TEST_F(FamilyTest, ReassigningAHandleReleasesItsOldSeries) {
  Handle<Counter> h = family_.get({"first"});
  h = family_.get({"second"});
  clock_.advance(10min);
  EXPECT_EQ(registry_.sweep(), 1u);
  EXPECT_EQ(family_.size(), 1u);
  EXPECT_EQ(registry_.render(),
            "# HELP tcp_open_total Opened connections.\n"
            "# TYPE tcp_open_total counter\n"
            "tcp_open_total{peer=\"second\"} 0\n");
}

TEST_F(FamilyTest, EmptyHandle) {
  Handle<Counter> h;
  EXPECT_FALSE(h);
  EXPECT_EQ(h.get(), nullptr);
  h.reset();  // no-op
}

TEST_F(FamilyTest, RetainIdleIsPerFamilyOverridable) {
  Family<Gauge>& forever =
      registry_.gauge("tcp_open_connections", "Open.", {"peer"}, {.retain_idle = kRetainForever});
  Family<Gauge>& short_lived =
      registry_.gauge("queue_length", "Queued.", {"peer"}, {.retain_idle = 1min});
  forever.get({"src"})->set(3);
  short_lived.get({"src"})->set(4);
  family_.get({"src"})->inc();
  clock_.advance(1min);
  EXPECT_EQ(registry_.sweep(), 1u);
  EXPECT_EQ(short_lived.size(), 0u);
  clock_.advance(1000h);
  EXPECT_EQ(registry_.sweep(), 1u);  // tcp_open_total, at the registry default
  EXPECT_EQ(forever.size(), 1u);
  EXPECT_EQ(forever.get({"src"})->value(), 3);
}

TEST(FamilyRetainTest, RegistryDefaultIsConfigurable) {
  ManualClock clock;
  Registry registry(RegistryOptions{.retain_idle = 30s, .clock = &clock});
  Family<Histogram>& h = registry.histogram("response_latency_ms", "Latency.", {"direction"},
                                            kLatencyBucketsMs);
  EXPECT_EQ(h.retain_idle(), 30s);
  h.get({"inbound"})->observe(3);
  clock.advance(29s);
  EXPECT_EQ(registry.sweep(), 0u);
  clock.advance(1s);
  EXPECT_EQ(registry.sweep(), 1u);
}

TEST(FamilyRetainTest, DefaultRetainIdleIsTenMinutes) {
  Registry registry;
  EXPECT_EQ(registry.counter("request_total", "Requests.", {}).retain_idle(), 10min);
}

TEST_F(FamilyTest, WrongNumberOfLabelValuesIsAProgrammingError) {
  // Debug builds assert; release builds pad with "" so the output stays well-formed.
  EXPECT_DEBUG_DEATH(
      {
        family_.get({})->inc();
        EXPECT_EQ(registry_.render(),
                  "# HELP tcp_open_total Opened connections.\n"
                  "# TYPE tcp_open_total counter\n"
                  "tcp_open_total 1\n");
      },
      "label value count");
}

}  // namespace
}  // namespace trellis::metrics
