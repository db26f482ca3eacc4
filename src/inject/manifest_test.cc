#include "inject/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "inject/pod_template.h"
#include "inject/sidecar.h"
#include "resources/load.h"

namespace trellis::inject {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kDeployment = R"(# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: emojivoto
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: web
      containers:
        - name: app
          image: web:1
          command: ["web", "--port", "8080"]
          env:
            - name: PORT
              value: "8080"
            - name: DEBUG
              value: "true"
          ports:
            - name: http
              containerPort: 8080
)";

const char* kService = R"(# a comment that must survive
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: emojivoto
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: http
)";

TransformOptions inject_options(Action action = Action::kInject) {
  TransformOptions o;
  o.action = action;
  return o;
}

// Decodes `text` as `trellis validate` does; returns the error messages.
std::vector<std::string> validation_errors(const std::string& text) {
  std::vector<resources::Resource> out;
  resources::Diagnostics diags;
  resources::load_text(text, "test.yaml", out, diags);
  std::vector<std::string> errors;
  for (const auto& d : diags.items()) {
    if (d.severity == resources::Severity::kError) errors.push_back(d.format());
  }
  return errors;
}

TEST(ManifestTest, InjectAddsAnnotationAndKeepsOtherDocumentsVerbatim) {
  const std::string input = std::string(kService) + "---\n" + kDeployment;
  auto r = transform(input, "in.yaml", inject_options());
  EXPECT_TRUE(r.errors.empty());
  EXPECT_THAT(r.report, ElementsAre("service \"web\" skipped", "deployment \"web\" injected"));
  EXPECT_EQ(r.changed, 1);
  // The Service document is printed exactly as written, comment included, and first.
  EXPECT_EQ(r.output.substr(0, std::string(kService).size()), kService);
  YAML::Node docs = YAML::Load(r.output.substr(r.output.find("---\n") + 4));
  EXPECT_EQ(docs["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"].Scalar(),
            "enabled");
  // Strings that look like other types stay strings.
  EXPECT_THAT(r.output, HasSubstr("value: \"8080\""));
  EXPECT_THAT(r.output, HasSubstr("value: \"true\""));
  EXPECT_THAT(r.output, HasSubstr("containerPort: 8080\n"));
  EXPECT_THAT(r.output, HasSubstr("command: [web, --port, \"8080\"]"));
  EXPECT_TRUE(validation_errors(r.output).empty());
}

TEST(ManifestTest, InjectIsIdempotentAndUninjectRestores) {
  auto once = transform(kDeployment, "in.yaml", inject_options());
  auto twice = transform(once.output, "in.yaml", inject_options());
  EXPECT_EQ(twice.output, once.output);
  EXPECT_EQ(twice.changed, 0);
  auto un = transform(once.output, "in.yaml", inject_options(Action::kUninject));
  EXPECT_THAT(un.report, ElementsAre("deployment \"web\" uninjected"));
  EXPECT_EQ(emit_yaml(YAML::Load(un.output)), emit_yaml(YAML::Load(kDeployment)));
}

TEST(ManifestTest, IngressAndDisabledAndHostNetwork) {
  TransformOptions o = inject_options();
  o.ingress = true;
  auto r = transform(kDeployment, "in.yaml", o);
  EXPECT_THAT(r.output, HasSubstr("linkerd.io/inject: ingress"));

  const std::string disabled = R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    linkerd.io/inject: disabled
spec:
  containers: [{name: a, image: a}]
)";
  auto d = transform(disabled, "in.yaml", inject_options());
  EXPECT_EQ(d.output, disabled);
  EXPECT_THAT(d.report, ElementsAre("pod \"p\" skipped: linkerd.io/inject: disabled on the pod "
                                    "template"));

  const std::string host = R"(apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: a, image: a}]
)";
  auto h = transform(host, "in.yaml", inject_options());
  EXPECT_EQ(h.output, host);
  ASSERT_EQ(h.report.size(), 1u);
  EXPECT_THAT(h.report[0], HasSubstr("daemonset \"agent\" skipped: hostNetwork"));
}

TEST(ManifestTest, EveryPodTemplateKindIsFound) {
  const std::string input = R"(apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: a, image: a}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers: [{name: a, image: a}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: once}
    spec:
      template:
        spec:
          containers: [{name: a, image: a}]
)";
  auto r = transform(input, "in.yaml", inject_options());
  EXPECT_THAT(r.report, ElementsAre("cronjob \"nightly\" injected", "statefulset \"db\" injected",
                                    "job \"once\" injected"));
  EXPECT_EQ(r.changed, 3);
  // The quoted schedule stays a string.
  EXPECT_THAT(r.output, HasSubstr("schedule: 0 0 * * *"));
  YAML::Node cron = YAML::Load(r.output.substr(0, r.output.find("---\n")));
  EXPECT_EQ(cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]
                ["linkerd.io/inject"]
                    .Scalar(),
            "enabled");
}

TEST(ManifestTest, BadAnnotationIsAnErrorAndTheDocumentIsUnchanged) {
  const std::string input = R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: shop
  annotations:
    config.linkerd.io/skip-outbound-ports: "abc"
spec:
  containers: [{name: a, image: a}]
)";
  auto r = transform(input, "in.yaml", inject_options());
  EXPECT_EQ(r.output, input);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0],
              HasSubstr("Pod/shop/p: annotation config.linkerd.io/skip-outbound-ports"));
}

TEST(ManifestTest, NamespaceConfigInTheSameStreamApplies) {
  const std::string input = R"(apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations:
    config.linkerd.io/proxy-log-level: bogus
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers: [{name: a, image: a}]
)";
  auto r = transform(input, "in.yaml", inject_options());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("(on namespace shop)"));
}

TEST(ManifestTest, InvalidYamlIsReportedAndPassedThrough) {
  const std::string input = std::string(kService) + "---\nkind: [unclosed\n";
  auto r = transform(input, "bad.yaml", inject_options());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("bad.yaml:"));
  EXPECT_THAT(r.output, HasSubstr("kind: [unclosed\n"));
}

TEST(ManifestTest, JsonInJsonOut) {
  const std::string input =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},)"
      R"("spec":{"containers":[{"name":"a","image":"a","ports":[{"containerPort":80}],)"
      R"("env":[{"name":"X","value":"1"}]}]}})";
  auto r = transform(input, "in.json", inject_options());
  ASSERT_EQ(r.changed, 1);
  EXPECT_THAT(r.output, HasSubstr("\"linkerd.io/inject\": \"enabled\""));
  EXPECT_THAT(r.output, HasSubstr("\"containerPort\": 80"));
  EXPECT_THAT(r.output, HasSubstr("\"value\": \"1\""));
  EXPECT_EQ(r.output.front(), '{');
}

TEST(ManifestTest, ManualInjectionAddsAValidSidecarAndUninjectRemovesIt) {
  TransformOptions o = inject_options(Action::kManual);
  o.inject.control_addr = "trellis-control.linkerd.svc.cluster.local:8086";
  auto r = transform(kDeployment, "in.yaml", o);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_THAT(validation_errors(r.output), ElementsAre());
  YAML::Node doc = YAML::Load(r.output);
  YAML::Node spec = doc["spec"]["template"]["spec"];
  ASSERT_EQ(spec["initContainers"].size(), 2u);
  EXPECT_EQ(spec["initContainers"][0]["name"].Scalar(), "trellis-init");
  EXPECT_EQ(spec["initContainers"][0]["command"][1].Scalar(), "init");
  EXPECT_EQ(spec["initContainers"][0]["args"][5].Scalar(), "2102");
  YAML::Node proxy = spec["initContainers"][1];
  EXPECT_EQ(proxy["name"].Scalar(), "trellis-proxy");
  EXPECT_EQ(proxy["restartPolicy"].Scalar(), "Always");
  EXPECT_EQ(proxy["securityContext"]["runAsUser"].as<int>(), 2102);
  EXPECT_EQ(proxy["startupProbe"]["httpGet"]["path"].Scalar(), "/ready");
  bool identity = false;
  for (const auto& e : proxy["env"]) {
    if (e["name"].Scalar() == "TRELLIS_PROXY_IDENTITY_NAME") {
      identity = true;
      EXPECT_EQ(e["value"].Scalar(), "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
    }
  }
  EXPECT_TRUE(identity);
  EXPECT_EQ(spec["volumes"].size(), 3u);
  EXPECT_EQ(doc["spec"]["template"]["metadata"]["labels"]["linkerd.io/proxy-deployment"].Scalar(),
            "web");
  EXPECT_THAT(r.output, Not(HasSubstr("linkerd.io/inject:")));
  // Booleans and numbers created for the sidecar are emitted as such, strings as strings.
  EXPECT_THAT(r.output, HasSubstr("readOnlyRootFilesystem: true\n"));
  EXPECT_THAT(r.output, HasSubstr("containerPort: 4143\n"));
  EXPECT_THAT(r.output, HasSubstr("- \"4143\"\n"));  // an init argument: a string

  // Manual injection twice gives one sidecar.
  auto again = transform(r.output, "in.yaml", o);
  EXPECT_EQ(again.output, r.output);

  auto un = transform(r.output, "in.yaml", inject_options(Action::kUninject));
  EXPECT_EQ(emit_yaml(YAML::Load(un.output)), emit_yaml(YAML::Load(kDeployment)));
}

TEST(ManifestTest, UninjectRemovesLinkerdSidecars) {
  const std::string input = R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    linkerd.io/created-by: linkerd/proxy-injector stable-2.14.0
    linkerd.io/proxy-version: stable-2.14.0
    config.linkerd.io/skip-outbound-ports: "3306"
  labels:
    app: p
    linkerd.io/control-plane-ns: linkerd
    linkerd.io/workload-ns: default
spec:
  initContainers:
    - name: linkerd-init
      image: cr.l5d.io/linkerd/proxy-init:v2.2.1
  containers:
    - name: linkerd-proxy
      image: cr.l5d.io/linkerd/proxy:stable-2.14.0
    - name: app
      image: app
  volumes:
    - name: linkerd-identity-end-entity
      emptyDir: {medium: Memory}
    - name: data
      emptyDir: {}
)";
  auto r = transform(input, "in.yaml", inject_options(Action::kUninject));
  const std::string expected = R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    config.linkerd.io/skip-outbound-ports: "3306"
  labels:
    app: p
spec:
  containers:
    - name: app
      image: app
  volumes:
    - name: data
      emptyDir: {}
)";
  EXPECT_EQ(r.output, expected);
}

TEST(PodTemplateTest, ReadsWhatThePlanNeeds) {
  YAML::Node pod = YAML::Load(R"(metadata:
  labels: {app: web}
  annotations: {linkerd.io/inject: enabled, n: null}
spec:
  serviceAccount: old-name
  hostNetwork: true
  containers:
    - name: app
      ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]
)");
  PodTemplateInput in = read_pod_template(pod);
  EXPECT_EQ(in.labels.at("app"), "web");
  EXPECT_EQ(in.annotations.at("linkerd.io/inject"), "enabled");
  EXPECT_EQ(in.annotations.at("n"), "");
  EXPECT_EQ(in.spec.service_account_name, "old-name");
  EXPECT_TRUE(in.spec.host_network);
  ASSERT_EQ(in.spec.containers.size(), 1u);
  ASSERT_EQ(in.spec.containers[0].ports.size(), 2u);
  EXPECT_EQ(in.spec.containers[0].ports[0].name, "http");
  EXPECT_EQ(in.spec.containers[0].ports[1].container_port, 9090);
}

}  // namespace
}  // namespace trellis::inject
