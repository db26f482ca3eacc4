// Tests of the linkerd.io ServiceProfile decoder: the internal form of valid profiles (both
// versions, defaults, match trees), warnings for non-canonical input, and a table of bad inputs
// with the exact diagnostics they produce.

#include "resources/service_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::decode_yaml;
using std::chrono::milliseconds;
using std::chrono::seconds;

using ReqKind = ProfileRequestMatch::Kind;
using RspKind = ProfileResponseMatch::Kind;

// A v1alpha2 profile for web.emojivoto with `spec_body` (written at column 0) as its spec.
std::string profile(std::string_view spec_body,
                    std::string_view name = "web.emojivoto.svc.cluster.local",
                    std::string_view ns = "emojivoto") {
  std::string out = "apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata:\n  name: " +
                    std::string(name) + "\n";
  if (!ns.empty()) out += "  namespace: " + std::string(ns) + "\n";
  out += "spec:\n";
  size_t start = 0;
  while (start < spec_body.size()) {
    size_t end = spec_body.find('\n', start);
    if (end == std::string_view::npos) end = spec_body.size();
    const std::string_view line = spec_body.substr(start, end - start);
    if (!line.empty()) out += "  " + std::string(line) + "\n";
    start = end + 1;
  }
  return out;
}

// Template 3 of seed 000, with its indentation restored.
constexpr const char* kSeedTemplate3 = R"(
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata:
  name: my-service.my-namespace.svc.cluster.local
  namespace: my-namespace
spec:
  routes:
  - name: GET /api/users
    condition:
      method: GET
      pathRegex: /api/users
    responseClasses:
    - condition:
        status:
          min: 500
          max: 599
      isFailure: true
    isRetryable: true
  - name: POST /api/users
    condition:
      method: POST
      pathRegex: /api/users
    # POST not retryable by default
    isRetryable: false
  - name: GET /api/users/{id}
    condition:
      method: GET
      pathRegex: /api/users/[^/]+
    timeout: 5s
    isRetryable: true
  retryBudget:
    retryRatio: 0.2
    minRetriesPerSecond: 10
    ttl: 10s
)";

TEST(ServiceProfile, SeedTemplateDecodesToTheInternalForm) {
  auto r = decode_yaml(kSeedTemplate3);
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const ServiceProfile* sp = r.first<ServiceProfile>();
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->fqdn, "my-service.my-namespace.svc.cluster.local");
  EXPECT_EQ(sp->service, "my-service");
  EXPECT_EQ(sp->service_namespace, "my-namespace");
  EXPECT_EQ(sp->cluster_domain, "cluster.local");
  EXPECT_FALSE(sp->client_override);

  ASSERT_EQ(sp->routes.size(), 3u);
  const ProfileRoute& get_users = sp->routes[0];
  EXPECT_EQ(get_users.name, "GET /api/users");
  // method + pathRegex in one condition: the `all` of both, in Linkerd's order.
  ASSERT_EQ(get_users.condition.kind, ReqKind::kAll);
  ASSERT_EQ(get_users.condition.children.size(), 2u);
  EXPECT_EQ(get_users.condition.children[0].kind, ReqKind::kMethod);
  EXPECT_EQ(get_users.condition.children[0].method, "GET");
  EXPECT_EQ(get_users.condition.children[1].kind, ReqKind::kPathRegex);
  EXPECT_EQ(get_users.condition.children[1].path_regex, "/api/users");
  EXPECT_EQ(get_users.condition.children[1].anchored_path_regex, "^(?:/api/users)$");
  ASSERT_EQ(get_users.response_classes.size(), 1u);
  EXPECT_EQ(get_users.response_classes[0].condition.kind, RspKind::kStatus);
  EXPECT_EQ(get_users.response_classes[0].condition.status.min, 500);
  EXPECT_EQ(get_users.response_classes[0].condition.status.max, 599);
  EXPECT_TRUE(get_users.response_classes[0].is_failure);
  EXPECT_TRUE(get_users.is_retryable);
  EXPECT_FALSE(get_users.timeout.has_value());

  EXPECT_EQ(sp->routes[1].name, "POST /api/users");
  EXPECT_EQ(sp->routes[1].condition.children[0].method, "POST");
  EXPECT_FALSE(sp->routes[1].is_retryable);
  EXPECT_THAT(sp->routes[1].response_classes, IsEmpty());

  const ProfileRoute& get_user = sp->routes[2];
  EXPECT_EQ(get_user.name, "GET /api/users/{id}");
  EXPECT_EQ(get_user.condition.children[1].anchored_path_regex, "^(?:/api/users/[^/]+)$");
  ASSERT_TRUE(get_user.timeout.has_value());
  EXPECT_EQ(*get_user.timeout, seconds(5));
  EXPECT_TRUE(get_user.is_retryable);

  EXPECT_TRUE(sp->retry_budget_set);
  EXPECT_DOUBLE_EQ(sp->retry_budget.retry_ratio, 0.2);
  EXPECT_EQ(sp->retry_budget.min_retries_per_second, 10u);
  EXPECT_EQ(sp->retry_budget.ttl, seconds(10));
  EXPECT_THAT(sp->dst_overrides, IsEmpty());
  EXPECT_THAT(sp->opaque_ports, IsEmpty());
}

TEST(ServiceProfile, V1alpha1WithTreesOverridesAndPortsAndDefaultBudget) {
  auto r = decode_yaml(R"(
apiVersion: linkerd.io/v1alpha1
kind: ServiceProfile
metadata:
  name: books.library.svc.example.org
  namespace: library
spec:
  routes:
  - name: reads
    condition:
      any:
      - pathRegex: /books/\d+
      - all:
        - method: HEAD
        - not:
            pathRegex: /admin/.*
    responseClasses:
    - condition:
        any:
        - status: {min: 500}
        - status: {max: 199}
      isFailure: true
    - condition:
        not:
          status: {min: 200, max: 299}
    timeout: 250ms
  dstOverrides:
  - authority: books-v1.library.svc.example.org:8080
    weight: 500m
  - authority: "[fd00::7]:80"
    weight: 1
  - authority: 10.1.2.3:9000
    weight: 0
  opaquePorts: [8080, 3306]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const ServiceProfile* sp = r.first<ServiceProfile>();
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->service, "books");
  EXPECT_EQ(sp->service_namespace, "library");
  EXPECT_EQ(sp->cluster_domain, "example.org");

  ASSERT_EQ(sp->routes.size(), 1u);
  const ProfileRequestMatch& c = sp->routes[0].condition;
  ASSERT_EQ(c.kind, ReqKind::kAny);
  ASSERT_EQ(c.children.size(), 2u);
  EXPECT_EQ(c.children[0].kind, ReqKind::kPathRegex);
  EXPECT_EQ(c.children[0].anchored_path_regex, "^(?:/books/\\d+)$");
  const ProfileRequestMatch& all = c.children[1];
  ASSERT_EQ(all.kind, ReqKind::kAll);
  ASSERT_EQ(all.children.size(), 2u);
  EXPECT_EQ(all.children[0].kind, ReqKind::kMethod);
  EXPECT_EQ(all.children[0].method, "HEAD");
  ASSERT_EQ(all.children[1].kind, ReqKind::kNot);
  ASSERT_EQ(all.children[1].children.size(), 1u);
  EXPECT_EQ(all.children[1].children[0].path_regex, "/admin/.*");

  ASSERT_EQ(sp->routes[0].response_classes.size(), 2u);
  const ProfileResponseMatch& failures = sp->routes[0].response_classes[0].condition;
  ASSERT_EQ(failures.kind, RspKind::kAny);
  ASSERT_EQ(failures.children.size(), 2u);
  // A bound left out is the widest value.
  EXPECT_EQ(failures.children[0].status.min, 500);
  EXPECT_EQ(failures.children[0].status.max, 599);
  EXPECT_EQ(failures.children[1].status.min, 100);
  EXPECT_EQ(failures.children[1].status.max, 199);
  const ProfileResponseClass& not_2xx = sp->routes[0].response_classes[1];
  EXPECT_FALSE(not_2xx.is_failure);  // isFailure defaults to false
  ASSERT_EQ(not_2xx.condition.kind, RspKind::kNot);
  EXPECT_EQ(not_2xx.condition.children[0].status.min, 200);
  EXPECT_EQ(not_2xx.condition.children[0].status.max, 299);
  EXPECT_FALSE(sp->routes[0].is_retryable);
  EXPECT_EQ(sp->routes[0].timeout, milliseconds(250));

  // No retryBudget: Linkerd's hard-coded defaults.
  EXPECT_FALSE(sp->retry_budget_set);
  EXPECT_DOUBLE_EQ(sp->retry_budget.retry_ratio, 0.2);
  EXPECT_EQ(sp->retry_budget.min_retries_per_second, 10u);
  EXPECT_EQ(sp->retry_budget.ttl, seconds(10));

  ASSERT_EQ(sp->dst_overrides.size(), 3u);
  EXPECT_EQ(sp->dst_overrides[0].authority, "books-v1.library.svc.example.org:8080");
  EXPECT_EQ(sp->dst_overrides[0].host, "books-v1.library.svc.example.org");
  EXPECT_EQ(sp->dst_overrides[0].port, 8080);
  EXPECT_EQ(sp->dst_overrides[0].weight_milli, 500);
  EXPECT_EQ(sp->dst_overrides[1].host, "fd00::7");
  EXPECT_EQ(sp->dst_overrides[1].port, 80);
  EXPECT_EQ(sp->dst_overrides[1].weight_milli, 1000);
  EXPECT_EQ(sp->dst_overrides[2].host, "10.1.2.3");
  EXPECT_EQ(sp->dst_overrides[2].weight_milli, 0);
  EXPECT_THAT(sp->opaque_ports, ElementsAre(3306, 8080));
}

TEST(ServiceProfile, NotAsTheCrdListFormIsAcceptedWithAWarning) {
  auto r = decode_yaml(profile(R"(
routes:
- name: not-admin
  condition:
    not:
    - pathRegex: /admin
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.routes[0].condition.not: not takes a single match; write it as a "
                          "map rather than a one-item list"));
  const ServiceProfile* sp = r.first<ServiceProfile>();
  ASSERT_NE(sp, nullptr);
  const ProfileRequestMatch& c = sp->routes[0].condition;
  ASSERT_EQ(c.kind, ReqKind::kNot);
  ASSERT_EQ(c.children.size(), 1u);
  EXPECT_EQ(c.children[0].kind, ReqKind::kPathRegex);
  EXPECT_EQ(c.children[0].path_regex, "/admin");
}

TEST(ServiceProfile, ProfileInTheClientNamespaceIsAnOverrideWithAWarning) {
  auto r = decode_yaml(profile("routes: []\n", "web.emojivoto.svc.cluster.local", "vote-bot"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("metadata.name: this profile is for service \"web\" in namespace "
                          "\"emojivoto\" but lives in namespace \"vote-bot\": it applies only to "
                          "clients in namespace \"vote-bot\" (a client-side override); put it in "
                          "namespace \"emojivoto\" to apply it to every client"));
  const ServiceProfile* sp = r.first<ServiceProfile>();
  ASSERT_NE(sp, nullptr);
  EXPECT_TRUE(sp->client_override);
  EXPECT_EQ(sp->service_namespace, "emojivoto");
}

TEST(ServiceProfile, MissingNamespaceMeansDefault) {
  auto in_default = decode_yaml(profile("routes: []\n", "web.default.svc.cluster.local", ""));
  EXPECT_THAT(in_default.errors(), IsEmpty());
  EXPECT_THAT(in_default.warnings(), IsEmpty());
  ASSERT_NE(in_default.first<ServiceProfile>(), nullptr);
  EXPECT_FALSE(in_default.first<ServiceProfile>()->client_override);

  auto elsewhere = decode_yaml(profile("routes: []\n", "web.emojivoto.svc.cluster.local", ""));
  EXPECT_THAT(elsewhere.errors(), IsEmpty());
  EXPECT_THAT(elsewhere.warnings(),
              ElementsAre("metadata.name: metadata.namespace is not set, so this profile for "
                          "service \"web\" in namespace \"emojivoto\" goes to namespace "
                          "\"default\" (unless applied with a namespace), where it applies only "
                          "to clients in \"default\" (a client-side override); set namespace: "
                          "emojivoto to apply it to every client"));
  ASSERT_NE(elsewhere.first<ServiceProfile>(), nullptr);
  EXPECT_TRUE(elsewhere.first<ServiceProfile>()->client_override);
}

TEST(ServiceProfile, DiagnosticsCarryFileLineColumnAndObject) {
  auto r = decode_yaml(profile(R"(
routes:
- name: slow
  condition: {method: GET}
  timeout: 5x
)"));
  EXPECT_THAT(r.formatted(),
              ElementsAre("test.yaml:10:14: error: ServiceProfile/emojivoto/"
                          "web.emojivoto.svc.cluster.local: spec.routes[0].timeout: unknown unit "
                          "\"x\" in duration \"5x\" (use one of ns, us, ms, s, m, h)"));
}

// Input that works but is unusual or non-canonical: a warning each, and the value is kept.
struct WarningCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> warnings;
};

TEST(ServiceProfile, WarningsForUnusualInput) {
  const std::vector<WarningCase> cases = {
      {"lower-case method", profile("routes:\n- name: a\n  condition: {method: get}\n"),
       {"spec.routes[0].condition.method: HTTP methods are case-sensitive: \"get\" matches only "
        "requests whose method is exactly \"get\" (did you mean \"GET\"?)"}},
      {"the docs' OPTION", profile("routes:\n- name: a\n  condition: {method: OPTION}\n"),
       {"spec.routes[0].condition.method: unusual HTTP method \"OPTION\"; the route matches only "
        "requests with exactly this method (did you mean \"OPTIONS\"?)"}},
      {"extension method", profile("routes:\n- name: a\n  condition: {method: PURGE}\n"),
       {"spec.routes[0].condition.method: unusual HTTP method \"PURGE\"; the route matches only "
        "requests with exactly this method"}},
      {"path without slash", profile("routes:\n- name: a\n  condition: {pathRegex: api/.*}\n"),
       {"spec.routes[0].condition.pathRegex: the pattern must match the whole path, and request "
        "paths start with \"/\", so \"api/.*\" matches no request (did you mean \"/api/.*\"?)"}},
      {"empty path", profile("routes:\n- name: a\n  condition: {pathRegex: \"\"}\n"),
       {"spec.routes[0].condition.pathRegex: an empty pattern matches no request path (use "
        "\".*\" to match every path)"}},
      {"empty any", profile("routes:\n- name: a\n  condition: {any: []}\n"),
       {"spec.routes[0].condition.any: an empty any matches no request"}},
      {"empty all", profile("routes:\n- name: a\n  condition: {all: []}\n"),
       {"spec.routes[0].condition.all: an empty all matches every request"}},
      {"short ttl", profile("retryBudget: {retryRatio: 0.1, minRetriesPerSecond: 5, ttl: 500ms}\n"),
       {"spec.retryBudget.ttl: the retry budget window must be between 1s and 60s; 500ms is used "
        "as 1s"}},
      {"long ttl", profile("retryBudget: {retryRatio: 0.1, minRetriesPerSecond: 5, ttl: 2m}\n"),
       {"spec.retryBudget.ttl: the retry budget window must be between 1s and 60s; 2m0s is used "
        "as 1m0s"}},
      {"no retries", profile("retryBudget: {retryRatio: 0, minRetriesPerSecond: 0, ttl: 10s}\n"),
       {"spec.retryBudget: with retryRatio 0 and minRetriesPerSecond 0 no request is ever "
        "retried"}},
      {"duplicate opaque port", profile("opaquePorts: [3306, 3306]\n"),
       {"spec.opaquePorts[1]: duplicate port 3306"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = decode_yaml(c.yaml);
    EXPECT_THAT(r.errors(), IsEmpty());
    EXPECT_EQ(r.warnings(), c.warnings);
    EXPECT_NE(r.first<ServiceProfile>(), nullptr);
  }
}

TEST(ServiceProfile, WarnedValuesAreKeptOrClamped) {
  auto r = decode_yaml(profile(R"(
routes:
- name: a
  condition: {method: PURGE}
retryBudget: {retryRatio: 0.5, minRetriesPerSecond: 3, ttl: 2m}
)"));
  const ServiceProfile* sp = r.first<ServiceProfile>();
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->routes[0].condition.kind, ReqKind::kMethod);
  EXPECT_EQ(sp->routes[0].condition.method, "PURGE");
  EXPECT_DOUBLE_EQ(sp->retry_budget.retry_ratio, 0.5);
  EXPECT_EQ(sp->retry_budget.min_retries_per_second, 3u);
  EXPECT_EQ(sp->retry_budget.ttl, seconds(60));
}

struct BadInput {
  const char* name;
  std::string yaml;
  std::vector<std::string> errors;  // exactly these, in source order
};

TEST(ServiceProfile, BadInputsReportExactDiagnostics) {
  const std::string route_a = "routes:\n- name: a\n  condition: {method: GET}\n";
  const std::vector<BadInput> cases = {
      {"not an FQDN", profile("routes: []\n", "web"),
       {"metadata.name: must be the service's fully-qualified name "
        "\"web.emojivoto.svc.cluster.local\" (<service>.<namespace>.svc.<cluster domain>)"}},
      {"FQDN without svc", profile("routes: []\n", "web.emojivoto.cluster.local", ""),
       {"metadata.name: must be the service's fully-qualified name "
        "\"web.emojivoto.svc.cluster.local\" (<service>.<namespace>.svc.<cluster domain>)"}},
      {"FQDN without domain", profile("routes: []\n", "web.emojivoto.svc"),
       {"metadata.name: must be the service's fully-qualified name "
        "\"web.emojivoto.svc.cluster.local\" (<service>.<namespace>.svc.<cluster domain>)"}},
      {"service label too long", profile("routes: []\n", std::string(64, 'a') + ".e.svc.x"),
       {"metadata.name: invalid service name \"" + std::string(64, 'a') +
        "\" in the FQDN: must be no more than 63 characters"}},
      {"missing spec",
       "apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata:\n"
       "  name: web.emojivoto.svc.cluster.local\n  namespace: emojivoto\n",
       {"spec: missing required field"}},
      {"spec-level timeout", profile("timeout: 5s\n"),
       {"spec.timeout: unknown field \"timeout\"; timeouts are per route: "
        "spec.routes[].timeout"}},
      {"routes not a list", profile("routes: {name: a}\n"),
       {"spec.routes: expected a list, got a map"}},
      {"unknown route field", profile(route_a + "  isRetriable: true\n"),
       {"spec.routes[0].isRetriable: unknown field \"isRetriable\" (did you mean "
        "\"isRetryable\"?)"}},
      {"route-level retry budget", profile(route_a + "  retryBudget: {}\n"),
       {"spec.routes[0].retryBudget: unknown field \"retryBudget\"; the retry budget is set "
        "once per profile, at spec.retryBudget"}},
      {"isRetryable as a string", profile(route_a + "  isRetryable: \"yes\"\n"),
       {"spec.routes[0].isRetryable: expected a boolean (true or false), got the string "
        "\"yes\""}},
      {"missing name", profile("routes:\n- condition: {method: GET}\n"),
       {"spec.routes[0].name: missing required field"}},
      {"empty name", profile("routes:\n- name: \"\"\n  condition: {method: GET}\n"),
       {"spec.routes[0].name: must not be empty"}},
      {"duplicate name", profile(route_a + "- name: a\n  condition: {method: POST}\n"),
       {"spec.routes[1].name: duplicate route name \"a\" (first used by spec.routes[0])"}},
      {"missing condition", profile("routes:\n- name: a\n"),
       {"spec.routes[0].condition: missing required field"}},
      {"empty condition", profile("routes:\n- name: a\n  condition: {x: 1}\n"),
       {"spec.routes[0].condition: must set at least one of pathRegex, method, all, any or not",
        "spec.routes[0].condition.x: unknown field \"x\""}},
      {"path instead of pathRegex", profile("routes:\n- name: a\n  condition:\n    path: /x\n"),
       {"spec.routes[0].condition: must set at least one of pathRegex, method, all, any or not",
        "spec.routes[0].condition.path: unknown field \"path\" (did you mean \"pathRegex\"?)"}},
      {"unbalanced regex", profile("routes:\n- name: a\n  condition: {pathRegex: /api/(users}\n"),
       {"spec.routes[0].condition.pathRegex: invalid regular expression \"/api/(users\": missing "
        "): /api/(users (RE2 syntax; backreferences and lookaround are not supported)"}},
      {"lookahead regex",
       profile("routes:\n- name: a\n  condition: {pathRegex: \"/(?!admin).*\"}\n"),
       {"spec.routes[0].condition.pathRegex: invalid regular expression \"/(?!admin).*\": "
        "invalid perl operator: (?! (RE2 syntax; backreferences and lookaround are not "
        "supported)"}},
      {"method not a token", profile("routes:\n- name: a\n  condition: {method: \"GE T\"}\n"),
       {"spec.routes[0].condition.method: invalid HTTP method \"GE T\": must be a token of "
        "letters, digits and !#$%&'*+-.^_`|~"}},
      {"method as a number", profile("routes:\n- name: a\n  condition: {method: 1}\n"),
       {"spec.routes[0].condition.method: expected a string, got the integer 1 (quote it: "
        "\"1\")"}},
      {"nested empty match", profile("routes:\n- name: a\n  condition:\n    all:\n    - {}\n"),
       {"spec.routes[0].condition.all[0]: must set at least one of pathRegex, method, all, any "
        "or not"}},
      {"nested unknown key",
       profile("routes:\n- name: a\n  condition:\n    any:\n    - method: GET\n      methd: PUT\n"),
       {"spec.routes[0].condition.any[0].methd: unknown field \"methd\" (did you mean "
        "\"method\"?)"}},
      {"not with two matches",
       profile("routes:\n- name: a\n  condition:\n    not:\n    - method: GET\n"
               "    - method: PUT\n"),
       {"spec.routes[0].condition.not: must be a single match, got a list of 2; to exclude "
        "several conditions write not: {any: [...]}"}},
      {"not as a string", profile("routes:\n- name: a\n  condition: {not: GET}\n"),
       {"spec.routes[0].condition.not: expected a match (a map), got the string \"GET\""}},
      {"bad duration", profile(route_a + "  timeout: 5\n"),
       {"spec.routes[0].timeout: missing unit in duration \"5\" (use one of ns, us, ms, s, m, h, "
        "e.g. \"5s\")"}},
      {"zero timeout", profile(route_a + "  timeout: 0s\n"),
       {"spec.routes[0].timeout: must be greater than zero, e.g. \"5s\""}},
      {"negative timeout", profile(route_a + "  timeout: -1s\n"),
       {"spec.routes[0].timeout: must be greater than zero, e.g. \"5s\""}},
      {"response class without condition", profile(route_a + "  responseClasses:\n"
                                                             "  - isFailure: true\n"),
       {"spec.routes[0].responseClasses[0].condition: missing required field"}},
      {"isFailure as a number", profile(route_a + "  responseClasses:\n"
                                                  "  - condition: {status: {min: 500}}\n"
                                                  "    isFailure: 1\n"),
       {"spec.routes[0].responseClasses[0].isFailure: expected a boolean (true or false), got "
        "the integer 1"}},
      {"status out of range", profile(route_a + "  responseClasses:\n"
                                                "  - condition: {status: {min: 500, max: 600}}\n"),
       {"spec.routes[0].responseClasses[0].condition.status.max: value 600 is out of range "
        "[100, 599]"}},
      {"status min above max", profile(route_a + "  responseClasses:\n"
                                                 "  - condition: {status: {min: 503, max: 500}}\n"),
       {"spec.routes[0].responseClasses[0].condition.status: min (503) must not be greater than "
        "max (500)"}},
      {"status without bounds", profile(route_a + "  responseClasses:\n"
                                                  "  - condition: {status: {}}\n"),
       {"spec.routes[0].responseClasses[0].condition.status: must set min, max or both (e.g. "
        "min: 500, max: 599)"}},
      {"status as a number", profile(route_a + "  responseClasses:\n"
                                               "  - condition: {status: 500}\n"),
       {"spec.routes[0].responseClasses[0].condition.status: expected a map with min and/or "
        "max, got the integer 500"}},
      {"status typo", profile(route_a + "  responseClasses:\n"
                                        "  - condition: {status: {min: 500, mx: 599}}\n"),
       {"spec.routes[0].responseClasses[0].condition.status.mx: unknown field \"mx\" (did you "
        "mean \"max\"?)"}},
      {"empty response condition", profile(route_a + "  responseClasses:\n"
                                                     "  - condition: {not: {}}\n"),
       {"spec.routes[0].responseClasses[0].condition.not: must set at least one of status, all, "
        "any or not"}},
      {"budget without ttl", profile("retryBudget: {retryRatio: 0.2, minRetriesPerSecond: 10}\n"),
       {"spec.retryBudget.ttl: missing required field"}},
      {"negative ratio",
       profile("retryBudget: {retryRatio: -0.5, minRetriesPerSecond: 10, ttl: 10s}\n"),
       {"spec.retryBudget.retryRatio: must not be negative, got -0.5"}},
      {"huge ratio",
       profile("retryBudget: {retryRatio: 2000, minRetriesPerSecond: 10, ttl: 10s}\n"),
       {"spec.retryBudget.retryRatio: must be at most 1000 retries per request, got 2000 (0.2 "
        "allows 20% extra requests)"}},
      {"ratio as a percentage",
       profile("retryBudget: {retryRatio: 20%, minRetriesPerSecond: 10, ttl: 10s}\n"),
       {"spec.retryBudget.retryRatio: expected a number, got the string \"20%\""}},
      {"min retries above uint32",
       profile("retryBudget: {retryRatio: 0.2, minRetriesPerSecond: 4294967296, ttl: 10s}\n"),
       {"spec.retryBudget.minRetriesPerSecond: value 4294967296 is out of range [0, "
        "4294967295]"}},
      {"zero ttl", profile("retryBudget: {retryRatio: 0.2, minRetriesPerSecond: 10, ttl: 0}\n"),
       {"spec.retryBudget.ttl: must be greater than zero, e.g. \"10s\""}},
      {"authority without port",
       profile("dstOverrides:\n- authority: web-v2.emojivoto.svc.cluster.local\n  weight: 1\n"),
       {"spec.dstOverrides[0].authority: authority \"web-v2.emojivoto.svc.cluster.local\" has no "
        "port; write host:port, e.g. \"web-v2.emojivoto.svc.cluster.local:80\""}},
      {"authority with bad port", profile("dstOverrides:\n- authority: web-v2:http\n  weight: 1\n"),
       {"spec.dstOverrides[0].authority: invalid port \"http\" in authority \"web-v2:http\": "
        "must be a number from 1 to 65535"}},
      {"authority with bad host", profile("dstOverrides:\n- authority: Web_V2:80\n  weight: 1\n"),
       {"spec.dstOverrides[0].authority: invalid host \"Web_V2\" in authority: must consist of "
        "lower case alphanumeric characters, '-' or '.' (e.g. 'example.com')"}},
      {"unbracketed IPv6", profile("dstOverrides:\n- authority: \"fd00::1:80\"\n  weight: 1\n"),
       {"spec.dstOverrides[0].authority: invalid authority \"fd00::1:80\": write IPv6 addresses "
        "in brackets, e.g. \"[fd00::1]:80\""}},
      {"override without weight", profile("dstOverrides:\n- authority: web-v2:80\n"),
       {"spec.dstOverrides[0].weight: missing required field"}},
      {"bad quantity", profile("dstOverrides:\n- authority: web-v2:80\n  weight: 90%\n"),
       {"spec.dstOverrides[0].weight: invalid quantity \"90%\": unknown suffix \"%\" (use m for "
        "thousandths, e.g. \"900m\", or k, M, G, Ki, Mi, Gi)"}},
      {"negative weight", profile("dstOverrides:\n- authority: web-v2:80\n  weight: -100m\n"),
       {"spec.dstOverrides[0].weight: must not be negative, got -100m"}},
      {"all weights zero", profile("dstOverrides:\n- authority: web-v1:80\n  weight: 0\n"
                                   "- authority: web-v2:80\n  weight: 0m\n"),
       {"spec.dstOverrides: all weights are zero; no destination would receive traffic"}},
      {"duplicate authority", profile("dstOverrides:\n- authority: web-v1:80\n  weight: 1\n"
                                      "- authority: web-v1:80\n  weight: 2\n"),
       {"spec.dstOverrides[1].authority: duplicate authority \"web-v1:80\" (first listed at "
        "spec.dstOverrides[0])"}},
      {"opaque port out of range", profile("opaquePorts: [8080, 70000]\n"),
       {"spec.opaquePorts[1]: value 70000 is out of range [1, 65535]"}},
      {"opaque port by name", profile("opaquePorts: [mysql]\n"),
       {"spec.opaquePorts[0]: expected a port number (1-65535), got the string \"mysql\""}},
  };
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = decode_yaml(c.yaml);
    EXPECT_EQ(r.errors(), c.errors);
  }
}

TEST(ServiceProfile, AllProblemsAreReportedAtOnce) {
  auto r = decode_yaml(profile(R"(
routes:
- name: a
  condition: {pathRegex: "(", method: "G T"}
  timeout: soon
- name: a
  condition: {}
retryBudget: {retryRatio: -1}
)", "web"));
  EXPECT_THAT(r.errors(),
              ElementsAre("metadata.name: must be the service's fully-qualified name "
                          "\"web.emojivoto.svc.cluster.local\" "
                          "(<service>.<namespace>.svc.<cluster domain>)",
                          "spec.routes[0].condition.pathRegex: invalid regular expression "
                          "\"(\": missing ): ( (RE2 syntax; backreferences and lookaround are "
                          "not supported)",
                          "spec.routes[0].condition.method: invalid HTTP method \"G T\": must be "
                          "a token of letters, digits and !#$%&'*+-.^_`|~",
                          "spec.routes[0].timeout: invalid duration \"soon\"",
                          "spec.routes[1].name: duplicate route name \"a\" (first used by "
                          "spec.routes[0])",
                          "spec.routes[1].condition: must set at least one of pathRegex, method, "
                          "all, any or not",
                          "spec.retryBudget.minRetriesPerSecond: missing required field",
                          "spec.retryBudget.ttl: missing required field",
                          "spec.retryBudget.retryRatio: must not be negative, got -1"));
}

TEST(ServiceProfile, DeeplyNestedConditionsAreRejectedNotRecursedForever) {
  std::string condition = "{method: GET}";
  for (int i = 0; i < 40; ++i) condition = "{not: " + condition + "}";
  auto r = decode_yaml(profile("routes:\n- name: deep\n  condition: " + condition + "\n"));
  ASSERT_EQ(r.errors().size(), 1u);
  EXPECT_THAT(r.errors()[0], ::testing::EndsWith(": conditions are nested too deeply (at most 32 "
                                                 "levels)"));
}

}  // namespace
}  // namespace trellis::resources
