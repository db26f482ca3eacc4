#include "proxy/balance/p2c.h"

#include <gtest/gtest.h>

#include <map>

namespace trellis::proxy::balance {
namespace {

using std::chrono::milliseconds;

discovery::Endpoint ep(const char* addr, uint32_t weight = 1) {
  discovery::Endpoint e;
  e.address = *net::SocketAddress::parse(addr);
  e.weight = weight;
  return e;
}

TEST(PeakEwma, PeaksImmediatelyAndDecaysWithTime) {
  const auto t0 = Clock::now();
  PeakEwma e(PeakEwmaConfig{}, t0);
  EXPECT_DOUBLE_EQ(e.estimate_ns(), 30e6);
  e.observe(milliseconds(100), t0);
  EXPECT_DOUBLE_EQ(e.estimate_ns(), 100e6);  // peak
  e.observe(milliseconds(10), t0 + std::chrono::seconds(10));  // one decay constant later
  EXPECT_NEAR(e.estimate_ns(), 100e6 * std::exp(-1.0) + 10e6 * (1 - std::exp(-1.0)), 1e3);
  e.start();
  e.start();
  EXPECT_NEAR(e.load(t0 + std::chrono::seconds(10)), e.estimate_ns() * 3, 1e3);
}

TEST(P2c, SpreadsEvenlyOverEqualEndpoints) {
  P2cBalancer b({}, 42);
  const auto now = Clock::now();
  b.update({ep("10.0.0.1:80"), ep("10.0.0.2:80"), ep("10.0.0.3:80")}, now);
  std::map<size_t, int> counts;
  for (int i = 0; i < 30000; ++i) ++counts[*b.pick(now)];
  for (auto [i, c] : counts) EXPECT_NEAR(c, 10000, 1000) << i;
}

TEST(P2c, PrefersTheFasterEndpoint) {
  P2cBalancer b({}, 7);
  auto now = Clock::now();
  b.update({ep("10.0.0.1:80"), ep("10.0.0.2:80")}, now);
  b.endpoint(0).ewma.observe(milliseconds(500), now);  // slow
  b.endpoint(1).ewma.observe(milliseconds(5), now);
  int fast = 0;
  for (int i = 0; i < 1000; ++i) fast += *b.pick(now) == 1;
  EXPECT_EQ(fast, 1000);  // with two endpoints P2C always compares both
}

TEST(P2c, AnEndpointNotPickedLatelyIsTriedAgain) {
  // Sequential requests to two equal endpoints: the one that answered is measured, the other
  // only decays. It must not keep its pessimistic default RTT and starve (seen after a rolling
  // update: every request went to one of the two new pods).
  P2cBalancer b({}, 7);
  const auto t0 = Clock::now();
  b.update({ep("10.0.0.1:80"), ep("10.0.0.2:80")}, t0);
  std::map<size_t, int> counts;
  auto now = t0;
  for (int i = 0; i < 2000; ++i) {
    now += milliseconds(5);
    const size_t picked = *b.pick(now);
    ++counts[picked];
    b.endpoint(picked).ewma.observe(std::chrono::microseconds(300), now);
  }
  EXPECT_GT(counts[0], 400);
  EXPECT_GT(counts[1], 400);
}

TEST(P2c, PrefersTheLessBusyEndpoint) {
  P2cBalancer b({}, 7);
  auto now = Clock::now();
  b.update({ep("10.0.0.1:80"), ep("10.0.0.2:80")}, now);
  for (int i = 0; i < 5; ++i) b.endpoint(0).ewma.start();
  EXPECT_EQ(*b.pick(now), 1u);
}

TEST(P2c, SkipsEndpointsInBackoffAndZeroWeight) {
  P2cBalancer b({}, 1);
  auto now = Clock::now();
  b.update({ep("10.0.0.1:80"), ep("10.0.0.2:80"), ep("10.0.0.3:80", 0)}, now);
  b.record_connect_failure(0, now);
  EXPECT_EQ(b.available_count(now), 1u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*b.pick(now), 1u);
  // Backoff doubles per failure, capped.
  b.record_connect_failure(0, now);
  EXPECT_EQ(b.endpoint(0).unavailable_until, now + milliseconds(200));
  for (int i = 0; i < 30; ++i) b.record_connect_failure(0, now);
  EXPECT_EQ(b.endpoint(0).unavailable_until, now + P2cBalancer::kBackoffMax);
  EXPECT_TRUE(b.endpoint(0).available(now + P2cBalancer::kBackoffMax));
  b.record_connect_success(0);
  EXPECT_EQ(b.available_count(now), 2u);
  b.record_connect_failure(1, now);
  b.record_connect_failure(0, now);
  EXPECT_FALSE(b.pick(now).has_value());
}

TEST(P2c, UpdateKeepsStateOfUnchangedEndpoints) {
  P2cBalancer b;
  auto now = Clock::now();
  b.update({ep("10.0.0.1:80"), ep("10.0.0.2:80")}, now);
  b.endpoint(1).ewma.observe(milliseconds(900), now);
  b.update({ep("10.0.0.2:80", 5), ep("10.0.0.9:80")}, now);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_DOUBLE_EQ(b.endpoint(0).ewma.estimate_ns(), 900e6);
  EXPECT_EQ(b.endpoint(0).meta.weight, 5u);
  EXPECT_DOUBLE_EQ(b.endpoint(1).ewma.estimate_ns(), 30e6);
}

}  // namespace
}  // namespace trellis::proxy::balance
