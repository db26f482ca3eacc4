// Tests of traffic::check: the compiler's problems over whole manifest sets, as `trellis
// validate` (partial manifests) and the control plane's status (the whole store) report them.

#include "control/traffic/check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resources/load.h"

namespace trellis::control::traffic {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// `decode_errors`: the decoder itself finds errors (expected by the test).
std::vector<resources::Resource> load(const std::vector<std::string>& seeds,
                                      const std::string& yaml = "", bool decode_errors = false) {
  std::vector<resources::Resource> out;
  resources::Diagnostics diags;
  for (const auto& s : seeds) {
    const std::string path = std::string(TRELLIS_SOURCE_DIR) + "/tests/fixtures/seeds/" + s;
    EXPECT_TRUE(resources::load_file(path, out, diags).ok()) << path;
  }
  if (!yaml.empty()) resources::load_text(yaml, "test.yaml", out, diags);
  EXPECT_EQ(diags.has_errors(), decode_errors)
      << (diags.items().empty() ? "" : diags.items()[0].format());
  return out;
}

std::vector<std::string> lines(const resources::Diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& item : d.items()) {
    out.push_back(std::string(item.severity == resources::Severity::kError ? "error: "
                                                                           : "warning: ") +
                  item.object.display() + ": " + item.field + ": " + item.message);
  }
  return out;
}

CheckOptions partial() {
  CheckOptions o;
  o.partial = true;
  return o;
}

constexpr char kTemplate6Warning[] =
    "warning: HTTPRoute/my-namespace/my-route: spec.rules[0].matches[1]: the match on header "
    "x-api-version: v2 (no path, so PathPrefix / is implied) does not apply to requests under "
    "/api: spec.rules[1] matches their path (PathPrefix /api) more specifically and takes "
    "precedence under Gateway API rules, whatever the headers, so they go to my-service-v1, "
    "not my-service-v2. To send them to my-service-v2 too, add to this rule a match with "
    "`path: {type: PathPrefix, value: /api}` and the same headers";

TEST(TrafficCheckTest, SeedTemplate6AloneWarnsThatTheHeaderMatchLosesUnderApi) {
  // The Services are not in the manifests: validate compiles for the parentRef anyway and does
  // not complain about the backend Services (cross_check already says they must exist).
  const auto d = check(load({"000-template6-httproute.yaml"}), partial());
  EXPECT_THAT(lines(d), ElementsAre(kTemplate6Warning));
  EXPECT_EQ(d.items()[0].location.line, 1);
}

TEST(TrafficCheckTest, FixedTemplate6IsClean) {
  const auto d = check(load({}, R"(apiVersion: policy.linkerd.io/v1beta2
kind: HTTPRoute
metadata: {name: my-route, namespace: my-namespace}
spec:
  parentRefs: [{name: my-service, kind: Service, group: core, port: 8080}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /api/v2}
    - headers: [{name: x-api-version, value: v2}]
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-api-version, value: v2}]
    backendRefs: [{name: my-service-v2, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /api}
    backendRefs: [{name: my-service-v1, port: 8080}]
)"),
                       partial());
  EXPECT_THAT(lines(d), IsEmpty());
}

TEST(TrafficCheckTest, ShadowingBySameBackendsOrByHeaderRulesIsNotReported) {
  const auto d = check(load({}, R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: web, kind: Service, group: "", port: 80}]
  rules:
  - matches:
    - headers: [{name: x-canary, value: "1"}]
    - path: {type: PathPrefix, value: /static}
    backendRefs: [{name: web-canary, port: 80}]
  - matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-other, value: "1"}]
    - path: {type: Exact, value: /health}
    backendRefs: [{name: web, port: 80}]
)"),
                       partial());
  // /static has the header rule's own backends; /api needs a header; /health is exact.
  EXPECT_THAT(lines(d), ElementsAre(HasSubstr("does not apply to requests for /health: "
                                              "spec.rules[1] matches their path (Exact /health)")));
}

TEST(TrafficCheckTest, AllZeroSplitIsAnError) {
  const auto d = check(load({}, R"(apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: s, namespace: ns}
spec:
  service: web
  backends: [{service: web-v1, weight: 0m}, {service: web-v2, weight: 0}]
)",
                            /*decode_errors=*/true),
                       partial());
  EXPECT_THAT(lines(d), ElementsAre("error: TrafficSplit/ns/s: spec.backends: every backend "
                                    "weight is zero: nothing can receive traffic; requests go to "
                                    "the apex service \"web\" instead"));
}

TEST(TrafficCheckTest, SeedSplitsAndProfileAreCleanAsManifests) {
  EXPECT_THAT(lines(check(load({"000-template3-service-profile.yaml"}), partial())), IsEmpty());
  EXPECT_THAT(lines(check(load({"000-template4-traffic-split.yaml"}), partial())), IsEmpty());
  EXPECT_THAT(lines(check(load({"002-my-app-v2.yaml", "002-traffic-split-90-10.yaml"}),
                          partial())),
              IsEmpty());
}

TEST(TrafficCheckTest, TheWholeStoreReportsMissingBackendsOncePerProblem) {
  // Not partial (the control plane's store): missing backends are real problems. The Service
  // has two ports; each problem is reported once.
  const auto d = check(load({"000-template4-traffic-split.yaml"}, R"(apiVersion: v1
kind: Service
metadata: {name: my-service, namespace: my-namespace}
spec:
  selector: {app: my-service}
  ports: [{name: http, port: 80}, {name: admin, port: 9090}]
)"));
  EXPECT_THAT(lines(d),
              ElementsAre(HasSubstr("spec.backends[0].service: Service \"my-service-stable\" does "
                                    "not exist in namespace my-namespace"),
                          HasSubstr("spec.backends[1].service: Service \"my-service-canary\" does "
                                    "not exist in namespace my-namespace")));
  // Without Services nothing is compiled.
  EXPECT_THAT(lines(check(load({"000-template4-traffic-split.yaml"}))), IsEmpty());
}

TEST(TrafficCheckTest, ProfileOverRoutesIsReportedForTheRoute) {
  const auto d = check(load({"000-template3-service-profile.yaml"},
                            R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: my-namespace}
spec:
  parentRefs: [{name: my-service, kind: Service, group: ""}]
  rules: [{backendRefs: [{name: my-service, port: 80}]}]
)"),
                       partial());
  EXPECT_THAT(lines(d), ElementsAre(HasSubstr("HTTPRoute/my-namespace/r: spec.parentRefs: ignored "
                                              "for Service \"my-service\" port 80: "
                                              "ServiceProfile/my-namespace/my-service.my-namespace"
                                              ".svc.cluster.local takes precedence over routes")));
}

}  // namespace
}  // namespace trellis::control::traffic
