// Tests of the SMI TrafficSplit decoder: every served version converts to one internal form
// (weights in milli-units), the seed variants are read with warnings, and bad inputs produce
// exact diagnostics.

#include "resources/traffic_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::decode_yaml;

// A split named web-split in emojivoto, with `spec_body` (written at column 0) as its spec.
std::string split(std::string_view version, std::string_view spec_body) {
  std::string out = "apiVersion: split.smi-spec.io/" + std::string(version) +
                    "\nkind: TrafficSplit\nmetadata:\n  name: web-split\n"
                    "  namespace: emojivoto\nspec:\n";
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

struct Weighted {
  std::string service;
  int64_t weight_milli;
  friend bool operator==(const Weighted&, const Weighted&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Weighted& w) {
    return os << w.service << "=" << w.weight_milli;
  }
};

std::vector<Weighted> backends_of(const TrafficSplit& ts) {
  std::vector<Weighted> out;
  for (const auto& b : ts.backends) out.push_back({b.service, b.weight_milli});
  return out;
}

TEST(TrafficSplit, SeedTemplate4V1alpha1QuantityWeights) {
  auto r = decode_yaml(R"(
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata:
  name: my-service-canary
  namespace: my-namespace
spec:
  service: my-service
  backends:
  - service: my-service-stable
    weight: 900m # 90%
  - service: my-service-canary
    weight: 100m # 10%
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const TrafficSplit* ts = r.first<TrafficSplit>();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(ts->service, "my-service");
  EXPECT_THAT(backends_of(*ts), ElementsAre(Weighted{"my-service-stable", 900},
                                            Weighted{"my-service-canary", 100}));
  EXPECT_EQ(ts->total_weight_milli(), 1000);
  EXPECT_THAT(ts->matches, IsEmpty());
}

TEST(TrafficSplit, V1alpha1PlainNumbersAreQuantities) {
  auto r = decode_yaml(split("v1alpha1", R"(
service: web
backends:
- service: web-v1
  weight: 1
- service: web-v2
  weight: 0.5
- service: web-v3
  weight: 0
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const TrafficSplit* ts = r.first<TrafficSplit>();
  ASSERT_NE(ts, nullptr);
  EXPECT_THAT(backends_of(*ts), ElementsAre(Weighted{"web-v1", 1000}, Weighted{"web-v2", 500},
                                            Weighted{"web-v3", 0}));
}

TEST(TrafficSplit, V1alpha2IntegerWeights) {
  auto r = decode_yaml(split("v1alpha2", R"(
service: web
backends:
- service: web-v1
  weight: 100
- service: web-v2
  weight: 0
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const TrafficSplit* ts = r.first<TrafficSplit>();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(ts->service, "web");
  EXPECT_THAT(backends_of(*ts), ElementsAre(Weighted{"web-v1", 100000}, Weighted{"web-v2", 0}));
  EXPECT_EQ(ts->total_weight_milli(), 100000);
}

TEST(TrafficSplit, V1alpha3AndV1alpha4Matches) {
  for (const char* version : {"v1alpha3", "v1alpha4"}) {
    SCOPED_TRACE(version);
    auto r = decode_yaml(split(version, R"(
service: web
matches:
- kind: HTTPRouteGroup
  name: ab-test
- kind: HTTPRouteGroup
  name: firefox-users
  apiGroup: specs.smi-spec.io
backends:
- service: web-v1
  weight: 75
- service: web-v2
  weight: 25
)"));
    EXPECT_THAT(r.errors(), IsEmpty());
    EXPECT_THAT(r.warnings(), IsEmpty());
    const TrafficSplit* ts = r.first<TrafficSplit>();
    ASSERT_NE(ts, nullptr);
    ASSERT_EQ(ts->matches.size(), 2u);
    EXPECT_EQ(ts->matches[0].kind, "HTTPRouteGroup");
    EXPECT_EQ(ts->matches[0].name, "ab-test");
    EXPECT_EQ(ts->matches[1].name, "firefox-users");
    EXPECT_THAT(backends_of(*ts),
                ElementsAre(Weighted{"web-v1", 75000}, Weighted{"web-v2", 25000}));
  }
}

// Seed 001: TrafficSplit under linkerd.io/v1alpha1, weights 100/0.
TEST(TrafficSplit, Seed001LinkerdGroupIsReadAsSmiV1alpha1) {
  auto r = decode_yaml(R"(
apiVersion: "linkerd.io/v1alpha1"
kind: TrafficSplit
metadata:
  name: frontend
  namespace: demo
spec:
  service: frontend
  backends:
  - service: frontend-v1
    weight: 100
  - service: frontend-v2
    weight: 0
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), ElementsAre("apiVersion: TrafficSplit is not a linkerd.io kind; read "
                                        "as split.smi-spec.io/v1alpha1 (write apiVersion: "
                                        "split.smi-spec.io/v1alpha1)"));
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].type.api_version(), "split.smi-spec.io/v1alpha1");
  const TrafficSplit* ts = r.first<TrafficSplit>();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(ts->service, "frontend");
  // v1alpha1 weights are quantities: 100 is 100 units.
  EXPECT_THAT(backends_of(*ts),
              ElementsAre(Weighted{"frontend-v1", 100000}, Weighted{"frontend-v2", 0}));
}

// Seed 002: v1alpha2 with trafficRouting[].backend.serviceName and quantity weights.
TEST(TrafficSplit, Seed002TrafficRoutingFormIsReadWithWarnings) {
  auto r = decode_yaml(R"(
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: my-app-split
  namespace: default
spec:
  service: my-app # The service name that traffic will be split for
  trafficRouting:
  - backend:
      serviceName: my-app-v1 # The existing, stable version
    weight: 900m # 90% of traffic
  - backend:
      serviceName: my-app-v2 # The new, canary version
    weight: 100m # 10% of traffic
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(
      r.warnings(),
      ElementsAre("spec.trafficRouting: non-standard form: write spec.backends[].service and "
                  "spec.backends[].weight instead of spec.trafficRouting[].backend.serviceName",
                  "spec.trafficRouting[0].weight: split.smi-spec.io/v1alpha2 weights are "
                  "integers; the quantity \"900m\" is read as 900 thousandths (write 900, with "
                  "the other weights in thousandths too, or use split.smi-spec.io/v1alpha1, "
                  "where quantities are canonical)",
                  "spec.trafficRouting[1].weight: split.smi-spec.io/v1alpha2 weights are "
                  "integers; the quantity \"100m\" is read as 100 thousandths (write 100, with "
                  "the other weights in thousandths too, or use split.smi-spec.io/v1alpha1, "
                  "where quantities are canonical)"));
  const TrafficSplit* ts = r.first<TrafficSplit>();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(ts->service, "my-app");
  EXPECT_THAT(backends_of(*ts),
              ElementsAre(Weighted{"my-app-v1", 900}, Weighted{"my-app-v2", 100}));
}

// Seed 002's full rollout, with the weight read inside `backend` (the flattened seed allows
// either reading).
TEST(TrafficSplit, Seed002FullRolloutWithWeightInsideBackend) {
  auto r = decode_yaml(split("v1alpha2", R"(
service: my-app
trafficRouting:
- backend:
    serviceName: my-app-v1
    weight: 0m # No traffic to v1
- backend:
    serviceName: my-app-v2
    weight: 1000m # All traffic to v2
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_EQ(r.warnings().size(), 3u);  // the form, and one per quantity weight
  const TrafficSplit* ts = r.first<TrafficSplit>();
  ASSERT_NE(ts, nullptr);
  EXPECT_THAT(backends_of(*ts), ElementsAre(Weighted{"my-app-v1", 0}, Weighted{"my-app-v2", 1000}));
}

TEST(TrafficSplit, WarningsForUnusualInput) {
  auto quoted = decode_yaml(split("v1alpha4", R"(
service: web
backends:
- service: web-v1
  weight: "100"
)"));
  EXPECT_THAT(quoted.errors(), IsEmpty());
  EXPECT_THAT(quoted.warnings(),
              ElementsAre("spec.backends[0].weight: expected an integer, got the string \"100\"; "
                          "read as 100 (write it without quotes)"));
  ASSERT_NE(quoted.first<TrafficSplit>(), nullptr);
  EXPECT_EQ(quoted.first<TrafficSplit>()->backends[0].weight_milli, 100000);

  auto fraction = decode_yaml(split("v1alpha2", R"(
service: web
backends:
- service: web-v1
  weight: 0.5
)"));
  EXPECT_THAT(fraction.errors(), IsEmpty());
  EXPECT_THAT(fraction.warnings(),
              ElementsAre("spec.backends[0].weight: split.smi-spec.io/v1alpha2 weights are "
                          "integers; the quantity \"0.5\" is read as 500 thousandths (write 500, "
                          "with the other weights in thousandths too, or use "
                          "split.smi-spec.io/v1alpha1, where quantities are canonical)"));

  auto apex = decode_yaml(split("v1alpha2", R"(
service: web
backends:
- service: web
  weight: 90
- service: web-v2
  weight: 10
)"));
  EXPECT_THAT(apex.errors(), IsEmpty());
  EXPECT_THAT(apex.warnings(),
              ElementsAre("spec.backends[0].service: backend \"web\" is the apex service itself, "
                          "whose traffic this split redirects (a loop); give each version its "
                          "own Service, e.g. \"web-stable\""));
  ASSERT_NE(apex.first<TrafficSplit>(), nullptr);
  EXPECT_EQ(apex.first<TrafficSplit>()->backends.size(), 2u);
}

struct BadInput {
  const char* name;
  std::string yaml;
  std::vector<std::string> errors;  // exactly these, in source order
};

TEST(TrafficSplit, BadInputsReportExactDiagnostics) {
  const std::string two = "- service: web-v1\n  weight: 90\n- service: web-v2\n  weight: 10\n";
  const std::vector<BadInput> cases = {
      {"missing spec",
       "apiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata:\n  name: s\n",
       {"spec: missing required field"}},
      {"missing apex", split("v1alpha2", "backends:\n" + two),
       {"spec.service: missing required field"}},
      {"apex not a DNS label", split("v1alpha2", "service: Web_App\nbackends:\n" + two),
       {"spec.service: invalid service name \"Web_App\": must consist of lower case alphanumeric "
        "characters or '-' (e.g. 'my-name')"}},
      {"apex as an FQDN",
       split("v1alpha2", "service: web.emojivoto.svc.cluster.local\nbackends:\n" + two),
       {"spec.service: must be the name of a Service in this namespace, not a DNS name (write "
        "\"web\")"}},
      {"apex as a number", split("v1alpha2", "service: 42\nbackends:\n" + two),
       {"spec.service: expected a string, got the integer 42 (quote it: \"42\")"}},
      {"missing backends", split("v1alpha2", "service: web\n"),
       {"spec.backends: missing required field"}},
      {"empty backends", split("v1alpha2", "service: web\nbackends: []\n"),
       {"spec.backends: must list at least one backend"}},
      {"backends not a list", split("v1alpha2", "service: web\nbackends: {service: web-v1}\n"),
       {"spec.backends: expected a list, got a map"}},
      {"backend without weight", split("v1alpha2", "service: web\nbackends:\n- service: web-v1\n"),
       {"spec.backends[0].weight: missing required field"}},
      {"backend without service", split("v1alpha2", "service: web\nbackends:\n- weight: 10\n"),
       {"spec.backends[0].service: missing required field"}},
      {"backend serviceName", split("v1alpha2", "service: web\nbackends:\n"
                                                "- serviceName: web-v1\n  weight: 10\n"),
       {"spec.backends[0].service: missing required field",
        "spec.backends[0].serviceName: unknown field \"serviceName\" (did you mean "
        "\"service\"?)"}},
      {"backend not a DNS label", split("v1alpha2", "service: web\nbackends:\n"
                                                    "- service: -web-v1\n  weight: 10\n"),
       {"spec.backends[0].service: invalid service name \"-web-v1\": must start and end with an "
        "alphanumeric character (e.g. 'my-name')"}},
      {"duplicate backend", split("v1alpha2", "service: web\nbackends:\n"
                                              "- service: web-v1\n  weight: 10\n"
                                              "- service: web-v1\n  weight: 20\n"),
       {"spec.backends[1].service: duplicate backend service \"web-v1\" (also at "
        "spec.backends[0])"}},
      {"negative integer weight", split("v1alpha2", "service: web\nbackends:\n"
                                                    "- service: web-v1\n  weight: -10\n"),
       {"spec.backends[0].weight: must not be negative, got -10"}},
      {"negative quantity weight", split("v1alpha1", "service: web\nbackends:\n"
                                                     "- service: web-v1\n  weight: -100m\n"),
       {"spec.backends[0].weight: must not be negative, got -100m"}},
      {"weight above uint32", split("v1alpha3", "service: web\nbackends:\n"
                                                "- service: web-v1\n  weight: 4294967296\n"),
       {"spec.backends[0].weight: must be at most 4294967295, got 4294967296"}},
      {"boolean weight", split("v1alpha2", "service: web\nbackends:\n"
                                           "- service: web-v1\n  weight: true\n"),
       {"spec.backends[0].weight: expected an integer weight, got the boolean true"}},
      {"map weight", split("v1alpha4", "service: web\nbackends:\n"
                                       "- service: web-v1\n  weight: {percent: 10}\n"),
       {"spec.backends[0].weight: expected an integer weight, got a map"}},
      {"bad quantity in v1alpha1", split("v1alpha1", "service: web\nbackends:\n"
                                                     "- service: web-v1\n  weight: 90%\n"),
       {"spec.backends[0].weight: invalid quantity \"90%\": unknown suffix \"%\" (use m for "
        "thousandths, e.g. \"900m\", or k, M, G, Ki, Mi, Gi)"}},
      {"bad quantity in v1alpha2", split("v1alpha2", "service: web\nbackends:\n"
                                                     "- service: web-v1\n  weight: ten\n"),
       {"spec.backends[0].weight: invalid quantity \"ten\": expected a number, e.g. \"900m\" or "
        "\"1\""}},
      {"all weights zero", split("v1alpha2", "service: web\nbackends:\n"
                                             "- service: web-v1\n  weight: 0\n"
                                             "- service: web-v2\n  weight: 0\n"),
       {"spec.backends: all backend weights are zero; no backend would receive traffic"}},
      {"all quantity weights zero", split("v1alpha1", "service: web\nbackends:\n"
                                                      "- service: web-v1\n  weight: 0m\n"),
       {"spec.backends: all backend weights are zero; no backend would receive traffic"}},
      {"matches before v1alpha3",
       split("v1alpha2", "service: web\nmatches:\n- kind: HTTPRouteGroup\n  name: ab\n"
                         "backends:\n" + two),
       {"spec.matches: matches is not available in split.smi-spec.io/v1alpha2; use "
        "split.smi-spec.io/v1alpha4 to split only the requests that match an HTTPRouteGroup"}},
      {"match of another kind",
       split("v1alpha4", "service: web\nmatches:\n- kind: TCPRoute\n  name: ab\n"
                         "backends:\n" + two),
       {"spec.matches[0].kind: unsupported value \"TCPRoute\"; expected one of: HTTPRouteGroup"}},
      {"match without name",
       split("v1alpha4", "service: web\nmatches:\n- kind: HTTPRouteGroup\nbackends:\n" + two),
       {"spec.matches[0].name: missing required field"}},
      {"match with a foreign group",
       split("v1alpha3", "service: web\nmatches:\n- kind: HTTPRouteGroup\n  name: ab\n"
                         "  apiGroup: gateway.networking.k8s.io\nbackends:\n" + two),
       {"spec.matches[0].apiGroup: must be \"specs.smi-spec.io\" (the SMI traffic specs group), "
        "got \"gateway.networking.k8s.io\""}},
      {"unknown spec field", split("v1alpha2", "service: web\nbackend:\n" + two),
       {"spec.backends: missing required field",
        "spec.backend: unknown field \"backend\" (did you mean \"backends\"?)"}},
      {"both forms", split("v1alpha2", "service: web\ntrafficRouting:\n"
                                       "- backend: {serviceName: web-v1}\n  weight: 1\n"
                                       "backends:\n" + two),
       {"spec.trafficRouting: both \"trafficRouting\" and \"backends\" are set; remove "
        "\"trafficRouting\""}},
      {"variant without serviceName", split("v1alpha2", "service: web\ntrafficRouting:\n"
                                                        "- backend: {name: web-v1}\n"
                                                        "  weight: 1\n"),
       {"spec.trafficRouting[0].backend.serviceName: missing required field",
        "spec.trafficRouting[0].backend.name: unknown field \"name\" (did you mean "
        "\"serviceName\"?)"}},
      {"variant weight twice", split("v1alpha2", "service: web\ntrafficRouting:\n"
                                                 "- backend: {serviceName: web-v1, weight: 1}\n"
                                                 "  weight: 1\n"),
       {"spec.trafficRouting[0].weight: weight is set both here and in backend.weight; keep one"}},
      {"variant without weight", split("v1alpha2", "service: web\ntrafficRouting:\n"
                                                   "- backend: {serviceName: web-v1}\n"),
       {"spec.trafficRouting[0].weight: missing required field"}},
      {"variant all zero", split("v1alpha2", "service: web\ntrafficRouting:\n"
                                             "- backend: {serviceName: web-v1}\n  weight: 0m\n"),
       {"spec.trafficRouting: all backend weights are zero; no backend would receive traffic"}},
  };
  ASSERT_GE(cases.size(), 15u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = decode_yaml(c.yaml);
    EXPECT_EQ(r.errors(), c.errors);
  }
}

TEST(TrafficSplit, DiagnosticsCarryFileLineColumnAndObject) {
  auto r = decode_yaml(split("v1alpha2", "service: web\nbackends:\n- service: web-v1\n"
                                         "  weight: -5\n"));
  EXPECT_THAT(r.formatted(),
              ElementsAre("test.yaml:10:13: error: TrafficSplit/emojivoto/web-split: "
                          "spec.backends[0].weight: must not be negative, got -5"));
}

}  // namespace
}  // namespace trellis::resources
