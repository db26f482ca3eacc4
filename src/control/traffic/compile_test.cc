// Tests of the traffic policy compiler: the seed manifests (templates 3, 4 and 6 of the first
// seed, the 90/10 and full-rollout splits of the third), Linkerd's precedence between
// mechanisms, Gateway API precedence between routes, annotations, and the problems reported.

#include "control/traffic/compile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "resources/load.h"

namespace trellis::control::traffic {
namespace {

namespace pb = api::traffic::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string seed(const std::string& file) {
  return std::string(TRELLIS_SOURCE_DIR) + "/tests/fixtures/seeds/" + file;
}

class Store {
 public:
  Store& file(const std::string& path) {
    resources::Diagnostics diags;
    auto r = resources::load_file(path, resources_, diags);
    EXPECT_TRUE(r.ok()) << path;
    return *this;
  }
  // `decode_errors`: the manifests are broken on purpose (the decoder's own diagnostics).
  Store& yaml(const std::string& text, bool decode_errors = false) {
    resources::Diagnostics diags;
    resources::load_text(text, "test.yaml", resources_, diags);
    EXPECT_EQ(diags.has_errors(), decode_errors)
        << (diags.items().empty() ? "" : diags.items()[0].format());
    return *this;
  }
  const resources::Resource& service(const std::string& ns, const std::string& name) const {
    for (const auto& r : resources_) {
      if (r.as<resources::Service>() && r.meta.name == name && r.effective_namespace() == ns) {
        return r;
      }
    }
    ADD_FAILURE() << "no Service " << ns << "/" << name;
    return resources_.front();
  }
  Compiled compile(const std::string& ns, const std::string& name, int32_t port,
                   const Options& options = {}) const {
    return traffic::compile(service(ns, name), port, resources_, options);
  }
  const std::vector<resources::Resource>& all() const { return resources_; }

 private:
  std::vector<resources::Resource> resources_;
};

std::string service_yaml(const std::string& ns, const std::string& name, int port,
                         const std::string& annotations = "") {
  std::string out = "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
                    "\n  namespace: " + ns + "\n";
  if (!annotations.empty()) out += "  annotations:\n" + annotations;
  out += "spec:\n  selector:\n    app: " + name + "\n  ports:\n  - port: " +
         std::to_string(port) + "\n---\n";
  return out;
}

std::vector<std::string> lines(const resources::Diagnostics& d, resources::Severity s) {
  std::vector<std::string> out;
  for (const auto& item : d.items()) {
    if (item.severity != s) continue;
    out.push_back(item.object.display() + ": " + item.field + ": " + item.message);
  }
  return out;
}
std::vector<std::string> errors(const Compiled& c) {
  return lines(c.problems, resources::Severity::kError);
}
std::vector<std::string> warnings(const Compiled& c) {
  return lines(c.problems, resources::Severity::kWarning);
}

std::vector<std::pair<std::string, uint64_t>> backends(
    const google::protobuf::RepeatedPtrField<pb::WeightedBackend>& list) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& b : list) out.emplace_back(b.authority(), b.weight());
  return out;
}

// ---- seed template 3: ServiceProfile with retries, POST not retryable, 5 s timeout ----------

TEST(CompileTest, SeedTemplate3ServiceProfile) {
  Store store;
  store.yaml(service_yaml("my-namespace", "my-service", 80))
      .file(seed("000-template3-service-profile.yaml"));
  const Compiled c = store.compile("my-namespace", "my-service", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c), IsEmpty());
  const pb::TrafficPolicy& p = c.policy;
  EXPECT_EQ(p.authority(), "my-service.my-namespace.svc.cluster.local:80");
  EXPECT_EQ(p.source(), pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  EXPECT_THAT(p.resources(), ElementsAre("ServiceProfile/my-namespace/"
                                         "my-service.my-namespace.svc.cluster.local"));
  EXPECT_DOUBLE_EQ(p.retry_budget().retry_ratio(), 0.2);
  EXPECT_EQ(p.retry_budget().min_retries_per_second(), 10u);
  EXPECT_EQ(p.retry_budget().ttl_ms(), 10'000u);

  ASSERT_EQ(p.http_routes_size(), 3);
  const auto& get_users = p.http_routes(0);
  EXPECT_EQ(get_users.name(), "GET /api/users");
  ASSERT_EQ(get_users.matches_size(), 1);
  const auto& cond = get_users.matches(0);
  ASSERT_TRUE(cond.has_all());
  ASSERT_EQ(cond.all().matches_size(), 2);
  // The decoder lists a condition's keys in a fixed order; both must be there.
  std::vector<std::string> parts;
  for (const auto& m : cond.all().matches()) {
    parts.push_back(m.has_path() ? "path=" + m.path().regex() : "method=" + m.method());
  }
  EXPECT_THAT(parts, ::testing::UnorderedElementsAre("path=/api/users", "method=GET"));
  ASSERT_EQ(get_users.response_classes_size(), 1);
  EXPECT_TRUE(get_users.response_classes(0).is_failure());
  EXPECT_EQ(get_users.response_classes(0).condition().status().min(), 500u);
  EXPECT_EQ(get_users.response_classes(0).condition().status().max(), 599u);
  EXPECT_TRUE(get_users.retry().enabled());
  EXPECT_TRUE(get_users.retry().on_classified_failure());
  EXPECT_EQ(get_users.retry().max_retries(), 0u);  // bounded by the budget only
  EXPECT_EQ(get_users.retry().max_request_bytes(), 64u * 1024);
  EXPECT_EQ(get_users.retry().backoff_min_ms(), 0u);
  EXPECT_EQ(get_users.timeouts().request_ms(), 0u);
  EXPECT_THAT(backends(get_users.backends()),
              ElementsAre(std::pair{"my-service.my-namespace.svc.cluster.local:80", 1u}));

  const auto& post_users = p.http_routes(1);
  EXPECT_EQ(post_users.name(), "POST /api/users");
  EXPECT_FALSE(post_users.retry().enabled());
  EXPECT_EQ(post_users.response_classes_size(), 0);

  const auto& get_user = p.http_routes(2);
  EXPECT_EQ(get_user.name(), "GET /api/users/{id}");
  EXPECT_TRUE(get_user.retry().enabled());
  EXPECT_EQ(get_user.timeouts().request_ms(), 5000u);

  ASSERT_TRUE(p.has_default_route());
  EXPECT_TRUE(p.default_route().is_default());
  EXPECT_FALSE(p.default_route().retry().enabled());
  EXPECT_THAT(backends(p.tcp().backends()),
              ElementsAre(std::pair{"my-service.my-namespace.svc.cluster.local:80", 1u}));
}

TEST(CompileTest, ProfileRetryBudgetAndDefaults) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80) + R"(
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata:
  name: web.ns.svc.cluster.local
  namespace: ns
spec:
  routes:
  - name: any
    condition:
      any:
      - method: PUT
      - not:
          pathRegex: /health.*
  retryBudget:
    retryRatio: 0.5
    minRetriesPerSecond: 3
    ttl: 20s
)");
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_DOUBLE_EQ(c.policy.retry_budget().retry_ratio(), 0.5);
  EXPECT_EQ(c.policy.retry_budget().min_retries_per_second(), 3u);
  EXPECT_EQ(c.policy.retry_budget().ttl_ms(), 20'000u);
  ASSERT_EQ(c.policy.http_routes_size(), 1);
  const auto& m = c.policy.http_routes(0).matches(0);
  ASSERT_TRUE(m.has_any());
  ASSERT_EQ(m.any().matches_size(), 2);
  EXPECT_EQ(m.any().matches(0).method(), "PUT");
  ASSERT_TRUE(m.any().matches(1).has_not_());
  EXPECT_EQ(m.any().matches(1).not_().path().regex(), "/health.*");
}

// ---- seed template 4 + third seed: TrafficSplit 900m/100m, full rollout ------------------------

TEST(CompileTest, SeedTemplate4TrafficSplit) {
  Store store;
  store
      .yaml(service_yaml("my-namespace", "my-service", 80) +
            service_yaml("my-namespace", "my-service-stable", 80) +
            service_yaml("my-namespace", "my-service-canary", 80))
      .file(seed("000-template4-traffic-split.yaml"));
  const Compiled c = store.compile("my-namespace", "my-service", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c), IsEmpty());
  const auto expected =
      ElementsAre(std::pair{"my-service-stable.my-namespace.svc.cluster.local:80", 900u},
                  std::pair{"my-service-canary.my-namespace.svc.cluster.local:80", 100u});
  EXPECT_EQ(c.policy.source(), pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  EXPECT_THAT(c.policy.resources(), ElementsAre("TrafficSplit/my-namespace/my-service-canary"));
  EXPECT_THAT(backends(c.policy.tcp().backends()), expected);
  ASSERT_TRUE(c.policy.has_default_route());
  EXPECT_THAT(backends(c.policy.default_route().backends()), expected);
  EXPECT_EQ(c.policy.tcp().backends(0).service(), "my-service-stable");
  EXPECT_EQ(c.policy.tcp().backends(0).namespace_(), "my-namespace");
  EXPECT_EQ(c.policy.tcp().backends(0).port(), 80u);
}

TEST(CompileTest, SplitAppliesToEveryProfileRoute) {
  Store store;
  store
      .yaml(service_yaml("my-namespace", "my-service", 80) +
            service_yaml("my-namespace", "my-service-stable", 80) +
            service_yaml("my-namespace", "my-service-canary", 80))
      .file(seed("000-template3-service-profile.yaml"))
      .file(seed("000-template4-traffic-split.yaml"));
  const Compiled c = store.compile("my-namespace", "my-service", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  ASSERT_EQ(c.policy.http_routes_size(), 3);
  for (const auto& r : c.policy.http_routes()) {
    EXPECT_THAT(backends(r.backends()),
                ElementsAre(std::pair{"my-service-stable.my-namespace.svc.cluster.local:80", 900u},
                            std::pair{"my-service-canary.my-namespace.svc.cluster.local:80", 100u}))
        << r.name();
  }
}

TEST(CompileTest, ThirdSeedNinetyTen) {
  Store store;
  store.file(seed("002-my-app-v2.yaml")).file(seed("002-traffic-split-90-10.yaml"));
  const Compiled c = store.compile("default", "my-app", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(backends(c.policy.tcp().backends()),
              ElementsAre(std::pair{"my-app-v1.default.svc.cluster.local:80", 900u},
                          std::pair{"my-app-v2.default.svc.cluster.local:80", 100u}));
  // Neither backend Service is defined by the seed: a warning each, the policy still compiles.
  EXPECT_THAT(warnings(c),
              ElementsAre("TrafficSplit/default/my-app-split: spec.backends[0].service: Service "
                          "\"my-app-v1\" does not exist in namespace default; requests sent to "
                          "it fail",
                          "TrafficSplit/default/my-app-split: spec.backends[1].service: Service "
                          "\"my-app-v2\" does not exist in namespace default; requests sent to "
                          "it fail"));
}

TEST(CompileTest, ThirdSeedFullRolloutReplacesTheEarlierSplit) {
  Store store;
  store.file(seed("002-my-app-v2.yaml"))
      .yaml(service_yaml("default", "my-app-v1", 80) + service_yaml("default", "my-app-v2", 80))
      .file(seed("002-traffic-split-90-10.yaml"))
      .file(seed("002-traffic-split-full-rollout.yaml"));
  const Compiled c = store.compile("default", "my-app", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c), IsEmpty());
  EXPECT_THAT(backends(c.policy.default_route().backends()),
              ElementsAre(std::pair{"my-app-v1.default.svc.cluster.local:80", 0u},
                          std::pair{"my-app-v2.default.svc.cluster.local:80", 1000u}));
}

TEST(CompileTest, AllZeroSplitIsAnErrorAndFallsBackToTheApex) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80) + service_yaml("ns", "web-v1", 80) + R"(
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: web-split
  namespace: ns
spec:
  service: web
  backends:
  - service: web-v1
    weight: 0
)",
             /*decode_errors=*/true);  // `trellis validate` reports it too
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), ElementsAre("TrafficSplit/ns/web-split: spec.backends: every backend "
                                     "weight is zero: nothing can receive traffic; requests go "
                                     "to the apex service \"web\" instead"));
  EXPECT_THAT(backends(c.policy.tcp().backends()),
              ElementsAre(std::pair{"web.ns.svc.cluster.local:80", 1u}));
}

TEST(CompileTest, DstOverridesBecomeWeightedBackends) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80) + service_yaml("ns", "web-v2", 80) + R"(
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata:
  name: web.ns.svc.cluster.local
  namespace: ns
spec:
  dstOverrides:
  - authority: web.ns.svc.cluster.local:80
    weight: 750m
  - authority: web-v2.ns.svc.cluster.local:80
    weight: 250m
  - authority: web-v3.ns.svc.cluster.local:80
    weight: 0
)");
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c), ElementsAre(HasSubstr("spec.dstOverrides[2].authority: Service "
                                                 "\"web-v3\" does not exist")));
  EXPECT_THAT(backends(c.policy.tcp().backends()),
              ElementsAre(std::pair{"web.ns.svc.cluster.local:80", 750u},
                          std::pair{"web-v2.ns.svc.cluster.local:80", 250u},
                          std::pair{"web-v3.ns.svc.cluster.local:80", 0u}));
  EXPECT_EQ(c.policy.tcp().backends(1).service(), "web-v2");
}

// ---- seed template 6: HTTPRoute header and path routing ---------------------------------------

TEST(CompileTest, SeedTemplate6HttpRoute) {
  Store store;
  store
      .yaml(service_yaml("my-namespace", "my-service", 8080) +
            service_yaml("my-namespace", "my-service-v1", 8080) +
            service_yaml("my-namespace", "my-service-v2", 8080))
      .file(seed("000-template6-httproute.yaml"));
  const Compiled c = store.compile("my-namespace", "my-service", 8080);
  EXPECT_THAT(errors(c), IsEmpty());
  // The header-only match loses to the /api rule for paths under /api (see README.md): said
  // once, with the fix.
  EXPECT_THAT(warnings(c),
              ElementsAre(HasSubstr("spec.rules[0].matches[1]: the match on header "
                                    "x-api-version: v2 (no path, so PathPrefix / is implied) "
                                    "does not apply to requests under /api")));
  const auto& p = c.policy;
  EXPECT_EQ(p.source(), pb::TrafficPolicy::SOURCE_ROUTES);
  EXPECT_THAT(p.resources(), ElementsAre("HTTPRoute/my-namespace/my-route"));
  EXPECT_FALSE(p.has_default_route());  // unmatched requests: 404
  // One compiled route per match, in Gateway API precedence: the longest prefix first; the
  // header-only match (implicitly PathPrefix "/") is the least specific path.
  ASSERT_EQ(p.http_routes_size(), 3);
  const auto& v2_path = p.http_routes(0);
  EXPECT_EQ(v2_path.matches(0).all().matches(0).path().prefix(), "/api/v2");
  EXPECT_EQ(v2_path.rule_index(), 0u);
  EXPECT_THAT(backends(v2_path.backends()),
              ElementsAre(std::pair{"my-service-v2.my-namespace.svc.cluster.local:8080", 1u}));
  const auto& v1 = p.http_routes(1);
  EXPECT_EQ(v1.matches(0).all().matches(0).path().prefix(), "/api");
  EXPECT_THAT(backends(v1.backends()),
              ElementsAre(std::pair{"my-service-v1.my-namespace.svc.cluster.local:8080", 1u}));
  const auto& v2_header = p.http_routes(2);
  ASSERT_EQ(v2_header.matches(0).all().matches_size(), 2);
  EXPECT_EQ(v2_header.matches(0).all().matches(0).path().prefix(), "/");
  EXPECT_EQ(v2_header.matches(0).all().matches(1).header().name(), "x-api-version");
  EXPECT_EQ(v2_header.matches(0).all().matches(1).header().exact(), "v2");
  EXPECT_THAT(backends(v2_header.backends()),
              ElementsAre(std::pair{"my-service-v2.my-namespace.svc.cluster.local:8080", 1u}));
  EXPECT_EQ(v2_header.name(), "my-route");
  EXPECT_EQ(v2_header.origin(), "HTTPRoute/my-namespace/my-route");
  // The route does not attach to other ports.
  EXPECT_EQ(store.compile("my-namespace", "my-service", 9090).policy.source(),
            pb::TrafficPolicy::SOURCE_DEFAULT);
}

TEST(CompileTest, SeedTemplate6MissingBackendServicesAreWarnings) {
  Store store;
  store.yaml(service_yaml("my-namespace", "my-service", 8080))
      .file(seed("000-template6-httproute.yaml"));
  const Compiled c = store.compile("my-namespace", "my-service", 8080);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c),
              ElementsAre(HasSubstr("spec.rules[0].backendRefs[0]: Service \"my-service-v2\" "
                                    "does not exist in namespace my-namespace"),
                          HasSubstr("spec.rules[1].backendRefs[0]: Service \"my-service-v1\" "
                                    "does not exist in namespace my-namespace"),
                          HasSubstr("spec.rules[0].matches[1]: the match on header")));
  // Manifests that are not the whole cluster (trellis validate): missing Services may exist.
  Options partial;
  partial.report_missing_services = false;
  EXPECT_THAT(warnings(store.compile("my-namespace", "my-service", 8080, partial)),
              ElementsAre(HasSubstr("spec.rules[0].matches[1]: the match on header")));
}

std::string http_route(const std::string& name, const std::string& created,
                       const std::string& rules, const std::string& annotations = "") {
  std::string out = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n"
                    "  name: " + name + "\n  namespace: ns\n";
  if (!created.empty()) out += "  creationTimestamp: \"" + created + "\"\n";
  if (!annotations.empty()) out += "  annotations:\n" + annotations;
  out += "spec:\n  parentRefs:\n  - name: web\n    kind: Service\n    group: \"\"\n    port: 80\n"
         "  rules:\n" + rules + "---\n";
  return out;
}

std::vector<std::string> route_order(const pb::TrafficPolicy& p) {
  std::vector<std::string> out;
  for (const auto& r : p.http_routes()) {
    out.push_back(r.name() + "#" + std::to_string(r.rule_index()));
  }
  return out;
}

TEST(CompileTest, GatewayPrecedenceBetweenRoutes) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80) +
             http_route("a-prefix", "2024-01-01T00:00:00Z", R"(  - matches:
    - path: {type: PathPrefix, value: /api}
)") + http_route("b-exact", "2024-06-01T00:00:00Z", R"(  - matches:
    - path: {type: Exact, value: /api}
)") + http_route("c-longer-prefix", "2024-06-01T00:00:00Z", R"(  - matches:
    - path: {type: PathPrefix, value: /api/users}
)") + http_route("d-method", "2024-06-01T00:00:00Z", R"(  - matches:
    - path: {type: PathPrefix, value: /api}
      method: GET
)") + http_route("e-headers", "2024-06-01T00:00:00Z", R"(  - matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: X-A, value: "1"}, {name: x-b, value: "2"}]
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-a, value: "1"}]
      queryParams: [{name: q, value: "1"}]
)") + http_route("f-newer-same", "2025-01-01T00:00:00Z", R"(  - matches:
    - path: {type: PathPrefix, value: /api}
  - matches:
    - path: {type: RegularExpression, value: "/api/[0-9]+"}
)") + http_route("a-same-time", "2024-01-01T00:00:00Z", R"(  - matches:
    - path: {type: PathPrefix, value: /api}
)"));
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_EQ(c.policy.source(), pb::TrafficPolicy::SOURCE_ROUTES);
  EXPECT_THAT(route_order(c.policy),
              ElementsAre("b-exact#0", "c-longer-prefix#0", "d-method#0", "e-headers#0",
                          "e-headers#0", "a-prefix#0", "a-same-time#0", "f-newer-same#0",
                          "f-newer-same#1"));
  // e-headers: two headers beat one header + one query parameter.
  EXPECT_EQ(c.policy.http_routes(3).matches(0).all().matches_size(), 3);
  EXPECT_EQ(c.policy.http_routes(3).matches(0).all().matches(1).header().name(), "x-a");
  EXPECT_EQ(c.policy.http_routes(4).matches(0).all().matches(2).query_param().name(), "q");
}

TEST(CompileTest, GatewayOrderDoesNotDependOnStoreOrder) {
  const std::string a = http_route("one", "", R"(  - matches:
    - path: {type: PathPrefix, value: /x}
)");
  const std::string b = http_route("two", "", R"(  - matches:
    - path: {type: PathPrefix, value: /y}
)");
  Store s1;
  s1.yaml(service_yaml("ns", "web", 80) + a + b);
  Store s2;
  s2.yaml(b + a + service_yaml("ns", "web", 80));
  EXPECT_THAT(route_order(s1.compile("ns", "web", 80).policy), ElementsAre("one#0", "two#0"));
  EXPECT_THAT(route_order(s2.compile("ns", "web", 80).policy), ElementsAre("one#0", "two#0"));
}

TEST(CompileTest, FiltersWeightsTimeoutsAndAnnotations) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80, "    retry.linkerd.io/http: \"503\"\n") +
             service_yaml("ns", "web-v2", 80) + service_yaml("ns", "shadow", 80) +
             http_route("r", "", R"(  - matches:
    - path: {type: PathPrefix, value: /old}
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Set, value: a}]
        add: [{name: x-add, value: b}]
        remove: [X-Gone]
    - type: RequestMirror
      requestMirror:
        backendRef: {name: shadow, port: 80}
        percent: 25
    backendRefs:
    - name: web
      port: 80
      weight: 90
    - name: web-v2
      port: 80
      weight: 10
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier:
          set: [{name: x-version, value: v2}]
    timeouts:
      request: 3s
      backendRequest: 1s
)",
                        "    retry.linkerd.io/http: 5xx,429\n"
                        "    retry.linkerd.io/limit: \"3\"\n"
                        "    retry.linkerd.io/timeout: 300ms\n"));
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c), IsEmpty());
  ASSERT_EQ(c.policy.http_routes_size(), 1);
  const auto& r = c.policy.http_routes(0);
  ASSERT_EQ(r.filters_size(), 3);
  EXPECT_EQ(r.filters(0).url_rewrite().path().replace_prefix_match(), "/new");
  EXPECT_EQ(r.filters(1).request_header_modifier().set(0).name(), "x-set");
  EXPECT_EQ(r.filters(1).request_header_modifier().add(0).value(), "b");
  EXPECT_EQ(r.filters(1).request_header_modifier().remove(0), "x-gone");
  EXPECT_EQ(r.filters(2).request_mirror().backend().authority(), "shadow.ns.svc.cluster.local:80");
  EXPECT_EQ(r.filters(2).request_mirror().numerator(), 25u);
  EXPECT_EQ(r.filters(2).request_mirror().denominator(), 100u);
  EXPECT_THAT(backends(r.backends()), ElementsAre(std::pair{"web.ns.svc.cluster.local:80", 90u},
                                                  std::pair{"web-v2.ns.svc.cluster.local:80", 10u}));
  EXPECT_EQ(r.backends(1).filters(0).response_header_modifier().set(0).value(), "v2");
  EXPECT_EQ(r.timeouts().request_ms(), 3000u);
  EXPECT_EQ(r.timeouts().backend_request_ms(), 1000u);
  // The route's retry annotations replace the Service's as a whole.
  EXPECT_TRUE(r.retry().enabled());
  EXPECT_EQ(r.retry().max_retries(), 3u);
  ASSERT_EQ(r.retry().http_statuses_size(), 2);
  EXPECT_EQ(r.retry().http_statuses(0).min(), 500u);
  EXPECT_EQ(r.retry().http_statuses(0).max(), 599u);
  EXPECT_EQ(r.retry().http_statuses(1).min(), 429u);
  EXPECT_EQ(r.retry().per_try_timeout_ms(), 300u);
  EXPECT_EQ(r.retry().backoff_min_ms(), 25u);
  EXPECT_EQ(r.retry().backoff_max_ms(), 250u);
  EXPECT_EQ(r.retry().max_request_bytes(), 64u * 1024);
}

TEST(CompileTest, ServiceAnnotationsApplyToTheDefaultRouteAndToRoutesWithout) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80,
                          "    retry.linkerd.io/http: gateway-error\n"
                          "    timeout.linkerd.io/request: 2s\n"));
  const Compiled plain = store.compile("ns", "web", 80);
  EXPECT_EQ(plain.policy.source(), pb::TrafficPolicy::SOURCE_DEFAULT);
  const auto& d = plain.policy.default_route();
  EXPECT_TRUE(d.retry().enabled());
  EXPECT_EQ(d.retry().max_retries(), 1u);  // Linkerd's default limit
  ASSERT_EQ(d.retry().http_statuses_size(), 1);
  EXPECT_EQ(d.retry().http_statuses(0).min(), 502u);
  EXPECT_EQ(d.retry().http_statuses(0).max(), 504u);
  EXPECT_EQ(d.timeouts().request_ms(), 2000u);

  store.yaml(http_route("r", "", R"(  - matches:
    - path: {type: PathPrefix, value: /}
)"));
  const Compiled routed = store.compile("ns", "web", 80);
  ASSERT_EQ(routed.policy.http_routes_size(), 1);
  EXPECT_EQ(routed.policy.http_routes(0).retry().http_statuses(0).min(), 502u);
  EXPECT_EQ(routed.policy.http_routes(0).timeouts().request_ms(), 2000u);
}

TEST(CompileTest, BadServiceAnnotationIsReportedOnTheService) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80, "    retry.linkerd.io/limit: lots\n"));
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), ElementsAre("Service/ns/web: metadata.annotations[\"retry.linkerd.io/"
                                     "limit\"]: must be a non-negative integer, got \"lots\""));
}

TEST(CompileTest, ProfileTakesPrecedenceOverRoutes) {
  Store store;
  store.yaml(service_yaml("my-namespace", "my-service", 8080) +
             service_yaml("my-namespace", "my-service-v1", 8080) +
             service_yaml("my-namespace", "my-service-v2", 8080) + R"(
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata:
  name: my-service.my-namespace.svc.cluster.local
  namespace: my-namespace
spec:
  routes:
  - name: all
    condition:
      pathRegex: /.*
)")
      .file(seed("000-template6-httproute.yaml"));
  const Compiled c = store.compile("my-namespace", "my-service", 8080);
  EXPECT_EQ(c.policy.source(), pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  EXPECT_THAT(route_order(c.policy), ElementsAre("all#0"));
  EXPECT_THAT(warnings(c),
              ElementsAre("HTTPRoute/my-namespace/my-route: spec.parentRefs: ignored for "
                          "Service \"my-service\" port 8080: ServiceProfile/my-namespace/"
                          "my-service.my-namespace.svc.cluster.local takes precedence over "
                          "routes"));
}

TEST(CompileTest, GrpcRoutes) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80) + service_yaml("ns", "web-v2", 80) + R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: g
  namespace: ns
  annotations:
    retry.linkerd.io/grpc: unavailable,internal
spec:
  parentRefs:
  - name: web
    kind: Service
    group: core
    port: 80
  rules:
  - matches:
    - method: {service: helloworld.Greeter}
  - matches:
    - method: {service: helloworld.Greeter, method: SayHello}
    backendRefs:
    - name: web-v2
      port: 80
---
)" + http_route("h", "", R"(  - matches:
    - path: {type: PathPrefix, value: /}
)"));
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_THAT(warnings(c), ElementsAre(HasSubstr("HTTPRoute/ns/h: spec.parentRefs: ignored for "
                                                 "Service \"web\" port 80: GRPCRoutes")));
  ASSERT_EQ(c.policy.http_routes_size(), 2);
  // The match naming a method is more specific.
  const auto& first = c.policy.http_routes(0).matches(0).all().matches(0).grpc();
  EXPECT_EQ(first.service_exact(), "helloworld.Greeter");
  EXPECT_EQ(first.method_exact(), "SayHello");
  EXPECT_EQ(c.policy.http_routes(0).backends(0).service(), "web-v2");
  EXPECT_EQ(c.policy.http_routes(1).backends(0).service(), "web");
  EXPECT_THAT(c.policy.http_routes(0).retry().grpc_codes(), ElementsAre(14u, 13u));
}

TEST(CompileTest, ConsumerRoutesApplyOnlyToTheirNamespace) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80) + http_route("producer", "", R"(  - matches:
    - path: {type: PathPrefix, value: /p}
)") + R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: consumer
  namespace: client
spec:
  parentRefs:
  - {name: web, namespace: ns, kind: Service, group: "", port: 80}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /c}
)");
  EXPECT_THAT(route_order(store.compile("ns", "web", 80).policy), ElementsAre("producer#0"));
  Options client;
  client.client_namespace = "client";
  EXPECT_THAT(route_order(store.compile("ns", "web", 80, client).policy),
              ElementsAre("consumer#0"));
}

TEST(CompileTest, NoTrafficResourcesGiveOneDefaultRoute) {
  Store store;
  store.yaml(service_yaml("ns", "web", 80));
  const Compiled c = store.compile("ns", "web", 80);
  EXPECT_THAT(errors(c), IsEmpty());
  EXPECT_EQ(c.policy.source(), pb::TrafficPolicy::SOURCE_DEFAULT);
  EXPECT_EQ(c.policy.http_routes_size(), 0);
  EXPECT_EQ(c.policy.default_route().name(), "default");
  EXPECT_FALSE(c.policy.default_route().retry().enabled());
  EXPECT_THAT(backends(c.policy.default_route().backends()),
              ElementsAre(std::pair{"web.ns.svc.cluster.local:80", 1u}));
  EXPECT_DOUBLE_EQ(c.policy.retry_budget().retry_ratio(), 0.2);
}

// ---- the contract with the proxy ----------------------------------------------------------------
// The policies compiled from the seeds are kept as text protos in src/proxy/route/testdata/,
// where the proxy's tests execute them (route choice, splits, retries, timeouts). This test keeps
// them in sync with the compiler: TRELLIS_UPDATE_GOLDEN=1 rewrites them.

void check_golden(const pb::TrafficPolicy& policy, const std::string& name) {
  const std::string path =
      std::string(TRELLIS_SOURCE_DIR) + "/src/proxy/route/testdata/" + name + ".textproto";
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(policy, &text));
  if (std::getenv("TRELLIS_UPDATE_GOLDEN") != nullptr) {
    std::ofstream out(path);
    out << "# Generated by control_traffic_test (TRELLIS_UPDATE_GOLDEN=1) from the seeds.\n"
        << text;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  pb::TrafficPolicy expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(buffer.str(), &expected)) << path;
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(expected, policy)) << name << ":\n" << diff;
}

TEST(CompileTest, GoldenPoliciesForTheProxy) {
  Store t34;
  t34.yaml(service_yaml("my-namespace", "my-service", 80) +
           service_yaml("my-namespace", "my-service-stable", 80) +
           service_yaml("my-namespace", "my-service-canary", 80))
      .file(seed("000-template3-service-profile.yaml"))
      .file(seed("000-template4-traffic-split.yaml"));
  check_golden(t34.compile("my-namespace", "my-service", 80).policy, "seed-template3-4");

  Store t6;
  t6.yaml(service_yaml("my-namespace", "my-service", 8080) +
          service_yaml("my-namespace", "my-service-v1", 8080) +
          service_yaml("my-namespace", "my-service-v2", 8080))
      .file(seed("000-template6-httproute.yaml"));
  check_golden(t6.compile("my-namespace", "my-service", 8080).policy, "seed-template6");

  Store s2;
  s2.file(seed("002-my-app-v2.yaml"));
  s2.file(seed("002-traffic-split-90-10.yaml"));
  check_golden(s2.compile("default", "my-app", 80).policy, "seed-002-90-10");
  s2.file(seed("002-traffic-split-full-rollout.yaml"));
  check_golden(s2.compile("default", "my-app", 80).policy, "seed-002-full-rollout");
}

}  // namespace
}  // namespace trellis::control::traffic
