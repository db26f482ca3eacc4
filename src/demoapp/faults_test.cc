#include "demoapp/faults.h"

#include <gtest/gtest.h>

namespace trellis::demoapp {
namespace {

using namespace std::chrono_literals;

ServeOptions with_routes(std::vector<std::string> routes) {
  ServeOptions o;
  for (const auto& r : routes) o.routes.push_back(*parse_route(r));
  return o;
}

TEST(FaultInjector, LongestPrefixWinsAndQueryIsIgnored) {
  ServeOptions o = with_routes({"/api:latency=1ms", "/api/users:latency=2ms", "/:latency=3ms"});
  FaultInjector f(o, 1);
  EXPECT_EQ(f.match("/api/users/7?x=/api/users")->prefix, "/api/users");
  EXPECT_EQ(f.match("/api/orders")->prefix, "/api");
  EXPECT_EQ(f.match("/other")->prefix, "/");
  EXPECT_EQ(f.plan("/api/users").latency, Duration(2ms));
  EXPECT_EQ(f.plan("/api?q=1").latency, Duration(1ms));
  ServeOptions only_api = with_routes({"/api:latency=1ms"});
  EXPECT_EQ(FaultInjector(only_api, 1).match("/ap"), nullptr);
}

TEST(FaultInjector, RouteOverridesOnlyWhatItSets) {
  ServeOptions o = with_routes({"/slow:latency=50ms"});
  o.latency = 2ms;
  o.response_size = 10;
  o.error_rate = 1;
  FaultInjector f(o, 1);
  FaultPlan slow = f.plan("/slow");
  EXPECT_EQ(slow.latency, Duration(50ms));
  EXPECT_EQ(slow.response_size, 10u);
  EXPECT_TRUE(slow.fail);
  EXPECT_EQ(slow.error_status, 500);
  FaultPlan other = f.plan("/x");
  EXPECT_EQ(other.latency, Duration(2ms));
  EXPECT_EQ(other.route, nullptr);
}

TEST(FaultInjector, StatusWithoutRateAlwaysFailsWithThatStatus) {
  ServeOptions o = with_routes({"/teapot:status=418", "/flaky:status=503,error-rate=0"});
  FaultInjector f(o, 1);
  for (int i = 0; i < 20; ++i) {
    FaultPlan p = f.plan("/teapot");
    EXPECT_TRUE(p.fail);
    EXPECT_EQ(p.error_status, 418);
    EXPECT_FALSE(f.plan("/flaky").fail);
  }
}

TEST(FaultInjector, SameSeedSameDecisions) {
  ServeOptions o;
  o.error_rate = 0.3;
  FaultInjector a(o, 42), b(o, 42), c(o, 43);
  std::vector<bool> da, db, dc;
  for (int i = 0; i < 200; ++i) {
    da.push_back(a.plan("/").fail);
    db.push_back(b.plan("/").fail);
    dc.push_back(c.plan("/").fail);
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(FaultInjector, ErrorRateIsHonouredStatistically) {
  ServeOptions o;
  o.error_rate = 0.3;
  FaultInjector f(o, 12345);
  int failures = 0;
  constexpr int kN = 100000;
  for (int i = 0; i < kN; ++i) failures += f.plan("/").fail ? 1 : 0;
  // Binomial(1e5, 0.3): sd ≈ 145; 1% is ~7 sd.
  EXPECT_NEAR(failures, 30000, 1000);
}

TEST(FaultInjector, ZeroAndOneDoNotConsumeRandomness) {
  ServeOptions zero;
  ServeOptions rate = with_routes({"/always:error-rate=1", "/never:error-rate=0"});
  rate.error_rate = 0.5;
  FaultInjector reference(rate, 9), mixed(rate, 9);
  std::vector<bool> expected, got;
  for (int i = 0; i < 50; ++i) expected.push_back(reference.plan("/x").fail);
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(mixed.plan("/always").fail);
    EXPECT_FALSE(mixed.plan("/never").fail);
    got.push_back(mixed.plan("/x").fail);
  }
  EXPECT_EQ(expected, got);
  FaultInjector none(zero, 1);
  EXPECT_FALSE(none.plan("/").fail);
}

TEST(FaultInjector, UnitDrawsAreInRange) {
  ServeOptions o;
  FaultInjector f(o, 0);
  for (int i = 0; i < 10000; ++i) {
    const double u = f.next_unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace trellis::demoapp
