// The proxy half of the traffic contract: the policies the control plane compiles from the seed
// manifests (testdata/*.textproto, kept in sync by control_traffic_test) do what the seed
// documents describe when the route engine executes them.

#include <google/protobuf/text_format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "proxy/retry/budget.h"
#include "proxy/retry/decision.h"
#include "proxy/route/route_table.h"

namespace trellis::proxy::route {
namespace {

namespace pb = api::traffic::v1;

std::shared_ptr<const RouteTable> load(const std::string& name) {
  const std::string path =
      std::string(TRELLIS_SOURCE_DIR) + "/src/proxy/route/testdata/" + name + ".textproto";
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  pb::TrafficPolicy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(buffer.str(), &policy)) << path;
  auto table = RouteTable::compile(policy);
  EXPECT_TRUE(table.ok());
  return table.ok() ? *table : nullptr;
}

http::RequestHead request(std::string method, std::string path, http::Headers headers = {}) {
  http::RequestHead h;
  h.method = std::move(method);
  h.scheme = "http";
  h.path = std::move(path);
  h.authority = "my-service.my-namespace:80";
  h.headers = std::move(headers);
  return h;
}

// Service name of the backend chosen for each of `n` requests.
std::map<std::string, int> spread(const RouteTable& t, const http::RequestHead& head, int n) {
  balance::FastRandom random(2026);
  std::map<std::string, int> out;
  const Route* r = t.route_for(head);
  for (int i = 0; i < n; ++i) {
    const Backend* b = r ? r->backends.pick(random) : nullptr;
    ++out[b ? b->service : "<none>"];
  }
  return out;
}

TEST(SeedPolicyTest, Template3RetriesAndTimeoutsWithTemplate4Split) {
  auto t = load("seed-template3-4");
  ASSERT_TRUE(t);
  const Route* get_users = t->route_for(request("GET", "/api/users"));
  const Route* post_users = t->route_for(request("POST", "/api/users"));
  const Route* get_user = t->route_for(request("GET", "/api/users/42"));
  ASSERT_TRUE(get_users && post_users && get_user);
  EXPECT_EQ(get_users->name, "GET /api/users");
  EXPECT_EQ(post_users->name, "POST /api/users");
  EXPECT_EQ(get_user->name, "GET /api/users/{id}");
  EXPECT_TRUE(t->route_for(request("DELETE", "/api/users"))->is_default);

  // GET /api/users: a 500 is a failure and is retried (budget permitting); POST never is.
  http::ResponseHead error;
  error.status = 500;
  const auto now = retry::Clock::now();
  retry::RetryBudget budget(retry::RetryBudgetConfig::from(t->retry_budget()), now);
  balance::FastRandom random(1);
  retry::Outcome outcome;
  outcome.status = 500;
  outcome.classification = get_users->classifier.classify(error, nullptr);
  EXPECT_EQ(outcome.classification, Classification::kFailure);
  EXPECT_TRUE(retry::decide(get_users->retry, outcome, {}, budget, now, random).retry());
  outcome.classification = post_users->classifier.classify(error, nullptr);
  EXPECT_EQ(retry::decide(post_users->retry, outcome, {}, budget, now, random).verdict,
            retry::Verdict::kRouteNotRetryable);

  // GET /api/users/{id}: 5 s for the whole request, retries included.
  EXPECT_EQ(get_user->timeouts.request_ms(), 5000u);
  EXPECT_EQ(get_users->timeouts.request_ms(), 0u);

  // Template 4: every route is split 900m/100m.
  for (const char* path : {"/api/users", "/api/users/1", "/elsewhere"}) {
    const auto counts = spread(*t, request("GET", path), 10'000);
    EXPECT_NEAR(counts.at("my-service-stable"), 9000, 200) << path;
    EXPECT_NEAR(counts.at("my-service-canary"), 1000, 200) << path;
  }
  const auto tcp_counts = [&] {
    balance::FastRandom r(9);
    std::map<std::string, int> out;
    for (int i = 0; i < 10'000; ++i) ++out[t->tcp_backends().pick(r)->service];
    return out;
  }();
  EXPECT_NEAR(tcp_counts.at("my-service-stable"), 9000, 200);
}

TEST(SeedPolicyTest, ThirdSeedNinetyTenThenFullRollout) {
  auto split = load("seed-002-90-10");
  ASSERT_TRUE(split);
  const auto counts = spread(*split, request("GET", "/"), 10'000);
  EXPECT_NEAR(counts.at("my-app-v1"), 9000, 200);
  EXPECT_NEAR(counts.at("my-app-v2"), 1000, 200);

  auto rollout = load("seed-002-full-rollout");
  ASSERT_TRUE(rollout);
  EXPECT_THAT(spread(*rollout, request("GET", "/"), 10'000),
              ::testing::ElementsAre(std::pair{std::string("my-app-v2"), 10'000}));
}

TEST(SeedPolicyTest, Template6HeaderAndPathRouting) {
  auto t = load("seed-template6");
  ASSERT_TRUE(t);
  auto backend_of = [&](const http::RequestHead& head) -> std::string {
    const Route* r = t->route_for(head);
    if (!r) return "<404>";
    balance::FastRandom random(1);
    return r->backends.pick(random)->service;
  };
  EXPECT_EQ(backend_of(request("GET", "/api/v2/users")), "my-service-v2");
  EXPECT_EQ(backend_of(request("GET", "/api/users")), "my-service-v1");
  EXPECT_EQ(backend_of(request("GET", "/api")), "my-service-v1");
  EXPECT_EQ(backend_of(request("GET", "/", {{"x-api-version", "v2"}})), "my-service-v2");
  EXPECT_EQ(backend_of(request("GET", "/users", {{"x-api-version", "v2"}})), "my-service-v2");
  // Gateway API precedence: the /api prefix is more specific than the header-only match.
  EXPECT_EQ(backend_of(request("GET", "/api/users", {{"x-api-version", "v2"}})),
            "my-service-v1");
  EXPECT_EQ(backend_of(request("GET", "/users", {{"x-api-version", "v1"}})), "<404>");
  EXPECT_EQ(backend_of(request("GET", "/apiary")), "<404>");
}

}  // namespace
}  // namespace trellis::proxy::route
