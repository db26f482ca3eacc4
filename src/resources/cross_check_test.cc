#include "resources/cross_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> check(const std::string& yaml) {
  auto d = testing::decode_yaml(yaml);
  EXPECT_THAT(d.errors(), IsEmpty());
  Diagnostics extra;
  cross_check(d.resources, extra);
  std::vector<std::string> out;
  for (const auto& x : extra.items()) out.push_back(x.format());
  return out;
}

constexpr const char* kService = R"(
apiVersion: v1
kind: Service
metadata: {name: my-app, namespace: default}
spec:
  selector: {app: my-app, version: v2}
  ports: [{port: 80, targetPort: 8080}]
)";

TEST(CrossCheck, TrafficSplitBackendsMustExistWhenServicesAreGiven) {
  // Seed 002: the document names the v2 Service "my-app" (the apex) instead of "my-app-v2".
  const std::string split = R"(
---
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: my-app-split, namespace: default}
spec:
  service: my-app
  backends:
    - {service: my-app-v1, weight: 900m}
    - {service: my-app-v2, weight: 100m}
)";
  EXPECT_THAT(check(kService + split),
              ElementsAre("test.yaml:10:1: warning: TrafficSplit/default/my-app-split: "
                          "spec.backends[0].service: Service \"my-app-v1\" is not defined in "
                          "namespace default by these manifests (it must already exist in the "
                          "cluster)",
                          "test.yaml:10:1: warning: TrafficSplit/default/my-app-split: "
                          "spec.backends[1].service: Service \"my-app-v2\" is not defined in "
                          "namespace default by these manifests (it must already exist in the "
                          "cluster)"));
  // Alone, the split refers to the cluster: no noise.
  EXPECT_THAT(check(split), IsEmpty());
}

TEST(CrossCheck, DuplicateObjects) {
  EXPECT_THAT(check(std::string(kService) + "---" + kService),
              ElementsAre("test.yaml:9:1: warning: Service/default/my-app: defined again (first "
                          "at test.yaml:2); applying both keeps only the later one"));
}

TEST(CrossCheck, PolicyReferences) {
  const std::string yaml = R"(
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  port: http
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: allow, namespace: demo}
spec:
  server: {name: web-htp}
  client: {unauthenticated: true}
)";
  EXPECT_THAT(check(yaml),
              ElementsAre("test.yaml:9:1: warning: ServerAuthorization/demo/allow: "
                          "spec.server.name: Server \"web-htp\" is not defined in namespace demo "
                          "by these manifests (it must already exist in the cluster)"));
}

}  // namespace
}  // namespace trellis::resources
