// Traffic policies carried by discovery: the static file's ports[].policy (YAML map or JSON
// text), and the traffic part of /config_dump built from a snapshot.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/admin/config_dump.h"
#include "proxy/discovery/policy.h"
#include "proxy/discovery/static_file.h"
#include "proxy/route/route_table.h"

namespace trellis::proxy::discovery {
namespace {

constexpr const char* kYamlPolicy = R"(
services:
  - name: web
    namespace: shop
    ports:
      - port: 80
        endpoints: [{address: 127.0.0.1:8080}]
        policy:
          source: SOURCE_SERVICE_PROFILE
          httpRoutes:
            - name: "GET /api/users"
              matches:
                - all: {matches: [{method: GET}, {path: {regex: "/api/users/[^/]*"}}]}
              backends:
                - {authority: "web.shop.svc.cluster.local:80", weight: 900}
                - {authority: "web-v2.shop.svc.cluster.local:80", weight: 100}
              retry: {enabled: true, onClassifiedFailure: true}
              timeouts: {requestMs: 5000}
          retryBudget: {retryRatio: 0.2, minRetriesPerSecond: 10, ttlMs: 10000}
      - port: 81
        endpoints: [{address: 127.0.0.1:8081}]
)";

TEST(DiscoveryPolicy, StaticFileCarriesACompiledPolicyPerPort) {
  auto snap = parse_discovery_file(kYamlPolicy, "d.yaml");
  ASSERT_TRUE(snap.ok()) << snap.error();
  const Service& web = snap->services().at(0);
  const ServicePort& p80 = web.ports.at(80);
  ASSERT_NE(p80.routes, nullptr);
  EXPECT_EQ(p80.policy_source, PolicySource::kStatic);
  // The authority is filled in from the service port when the policy leaves it empty.
  EXPECT_EQ(p80.routes->policy().authority(), "web.shop.svc.cluster.local:80");
  ASSERT_EQ(p80.routes->routes().size(), 1u);
  const route::Route& r = p80.routes->routes()[0];
  EXPECT_EQ(r.name, "GET /api/users");
  EXPECT_TRUE(r.retry.enabled());
  EXPECT_EQ(r.timeouts.request_ms(), 5000u);
  ASSERT_EQ(r.backends.backends().size(), 2u);
  EXPECT_EQ(r.backends.total_weight(), 1000u);
  EXPECT_DOUBLE_EQ(p80.routes->retry_budget().retry_ratio(), 0.2);

  http::RequestHead get{"GET", "http", "web", "/api/users/7", http::Version::kHttp11, {}};
  EXPECT_EQ(p80.routes->route_for(get), &r);
  http::RequestHead post{"POST", "http", "web", "/api/users/7", http::Version::kHttp11, {}};
  EXPECT_EQ(p80.routes->route_for(post), nullptr);  // no default route in this policy

  const ServicePort& p81 = web.ports.at(81);
  EXPECT_EQ(p81.routes, nullptr);
  EXPECT_EQ(p81.policy_source, PolicySource::kDefault);
}

TEST(DiscoveryPolicy, PolicyMayBeJsonText) {
  constexpr const char* kFile = R"(
services:
  - name: web
    ports:
      - port: 80
        policy: '{"defaultRoute": {"name": "default", "isDefault": true,
                  "backends": [{"authority": "web.default.svc.cluster.local:80", "weight": "1"}]}}'
)";
  auto snap = parse_discovery_file(kFile, "d.yaml");
  ASSERT_TRUE(snap.ok()) << snap.error();
  const auto& routes = snap->services().at(0).ports.at(80).routes;
  ASSERT_NE(routes, nullptr);
  ASSERT_NE(routes->default_route(), nullptr);
  EXPECT_TRUE(routes->default_route()->is_default);
}

TEST(DiscoveryPolicy, InvalidPoliciesAreErrorsNamingTheField) {
  constexpr const char* kUnknownField = R"(
services:
  - name: web
    ports:
      - port: 80
        policy: {httpRoutez: []}
)";
  auto a = parse_discovery_file(kUnknownField, "d.yaml");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().find("d.yaml:6:"), std::string::npos) << a.error();
  EXPECT_NE(a.error().find("services[0].ports[0].policy"), std::string::npos) << a.error();

  constexpr const char* kBadRegex = R"(
services:
  - name: web
    ports:
      - port: 80
        policy:
          httpRoutes:
            - name: broken
              matches: [{path: {regex: "/api/(users"}}]
              backends: [{authority: "web.default.svc.cluster.local:80", weight: 1}]
)";
  auto b = parse_discovery_file(kBadRegex, "d.yaml");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("services[0].ports[0].policy"), std::string::npos) << b.error();
}

TEST(DiscoveryPolicy, ConfigDumpListsEveryServicePortWithItsPolicy) {
  auto snap = parse_discovery_file(kYamlPolicy, "d.yaml");
  ASSERT_TRUE(snap.ok()) << snap.error();
  nlohmann::json dump;
  admin::add_traffic_policies(dump, *snap);
  ASSERT_EQ(dump["outbound"].size(), 2u);
  const auto& with = dump["outbound"][0];
  EXPECT_EQ(with["authority"], "web.shop.svc.cluster.local:80");
  EXPECT_EQ(with["source"], "static");
  EXPECT_EQ(with["policy"]["httpRoutes"][0]["name"], "GET /api/users");
  EXPECT_EQ(with["policy"]["httpRoutes"][0]["backends"][1]["weight"], "100");  // uint64 in JSON
  const auto& without = dump["outbound"][1];
  EXPECT_EQ(without["authority"], "web.shop.svc.cluster.local:81");
  EXPECT_EQ(without["source"], "default");
  EXPECT_TRUE(without["policy"].is_null());
  EXPECT_EQ(dump["inbound"]["authorities"], nlohmann::json::array({"web.shop.svc.cluster.local:80"}));
}

TEST(DiscoveryPolicy, CompilePolicyKeepsAGivenAuthority) {
  api::traffic::v1::TrafficPolicy policy;
  policy.set_authority("other.ns.svc.cluster.local:8080");
  auto table = compile_policy(policy, "web.ns.svc.cluster.local:80");
  ASSERT_TRUE(table.ok()) << table.error();
  EXPECT_EQ((*table)->policy().authority(), "other.ns.svc.cluster.local:8080");
}

}  // namespace
}  // namespace trellis::proxy::discovery
