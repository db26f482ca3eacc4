// Tests of the flagger.app decoders: Canary and MetricTemplate, their internal forms, the seed
// Canary (tests/fixtures/seeds/001-canary.yaml) and a table of bad inputs.

#include "resources/flagger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "resources/load.h"
#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Optional;
using testing::decode_yaml;

constexpr const char* kCanaryHeader =
    "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\n"
    "spec:";
constexpr const char* kTemplateHeader =
    "apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\n"
    "metadata: {name: latency, namespace: test}\nspec:";

// A valid spec to which rows add or replace one part.
constexpr const char* kTarget =
    "\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}";
constexpr const char* kService = "\n  service: {port: 80}";
constexpr const char* kAnalysis = "\n  analysis: {interval: 1m, threshold: 5, stepWeight: 10}";

std::string canary_with_analysis(const std::string& analysis_body) {
  return std::string(kCanaryHeader) + kTarget + kService + "\n  analysis:" + analysis_body;
}

// ---------------------------------------------------------------------------------------------
// Valid manifests

TEST(FlaggerCanary, FullProgressiveCanaryDecodesWithoutDiagnostics) {
  auto r = decode_yaml(R"(
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: linkerd
  metricsServer: http://prometheus.linkerd-viz:9090
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  autoscalerRef:
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    name: podinfo
    primaryScalerReplicas:
      minReplicas: 2
      maxReplicas: 5
  progressDeadlineSeconds: 120
  revertOnDeletion: true
  service:
    port: 80
    targetPort: http
    portDiscovery: true
    appProtocol: http
    hosts: [podinfo.test.svc.cluster.local]
    apex:
      labels: {tier: web}
      annotations: {owner: team-a}
    canary:
      annotations: {kind: canary}
    unmanagedMetadata:
      labels: [team]
      annotations: [deployed-at]
  analysis:
    interval: 15s
    threshold: 5
    maxWeight: 50
    stepWeight: 20
    stepWeightPromotion: 50
    canaryReadyThreshold: 80
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
      interval: 1m
    - name: request-duration
      thresholdRange: {max: 500}
      interval: 30s
    - name: latency
      templateRef: {name: latency, namespace: linkerd}
      templateVariables: {direction: inbound}
      thresholdRange: {min: 0, max: 0.5}
      interval: 1m30s
    webhooks:
    - name: acceptance-test
      type: pre-rollout
      url: http://flagger-loadtester.test/
      timeout: 30s
      metadata:
        type: bash
        cmd: "curl -sd 'test' http://podinfo-canary.test:9898/token | grep token"
    - name: load-test
      url: http://flagger-loadtester.test/
      metadata: {cmd: "hey -z 2m -q 10 -c 2 http://podinfo-canary.test:9898/"}
    - name: gate
      type: confirm-promotion
      url: https://gate.example.com:8443/gate/check
      muteAlert: true
      retries: 3
      disableTLS: true
    alerts:
    - name: on-call
      severity: error
      providerRef: {name: on-call, namespace: flagger}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Canary* c = r.first<Canary>();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->provider, "linkerd");
  EXPECT_EQ(c->metrics_server, "http://prometheus.linkerd-viz:9090");
  EXPECT_EQ(c->target_ref.api_version, "apps/v1");
  EXPECT_EQ(c->target_ref.kind, "Deployment");
  EXPECT_EQ(c->target_ref.name, "podinfo");
  ASSERT_TRUE(c->autoscaler_ref.has_value());
  EXPECT_EQ(c->autoscaler_ref->kind, "HorizontalPodAutoscaler");
  EXPECT_EQ(c->autoscaler_ref->name, "podinfo");
  EXPECT_THAT(c->autoscaler_ref->primary_min_replicas, Optional(2));
  EXPECT_THAT(c->autoscaler_ref->primary_max_replicas, Optional(5));
  EXPECT_EQ(c->progress_deadline, 120s);
  EXPECT_TRUE(c->revert_on_deletion);
  EXPECT_FALSE(c->skip_analysis);
  EXPECT_FALSE(c->suspend);

  const CanaryService& s = c->service;
  EXPECT_EQ(s.name, "podinfo");  // defaulted to targetRef.name
  EXPECT_EQ(s.port, 80);
  EXPECT_EQ(s.port_name, "http");  // default
  ASSERT_FALSE(s.target_port.is_number());
  EXPECT_EQ(s.target_port.name(), "http");
  EXPECT_TRUE(s.port_discovery);
  EXPECT_EQ(s.app_protocol, "http");
  EXPECT_THAT(s.hosts, ElementsAre("podinfo.test.svc.cluster.local"));
  EXPECT_EQ(s.apex.labels.at("tier"), "web");
  EXPECT_EQ(s.apex.annotations.at("owner"), "team-a");
  EXPECT_EQ(s.canary.annotations.at("kind"), "canary");
  EXPECT_TRUE(s.primary.labels.empty());
  EXPECT_THAT(s.unmanaged_labels, ElementsAre("team"));
  EXPECT_THAT(s.unmanaged_annotations, ElementsAre("deployed-at"));
  EXPECT_THAT(s.ignored_router_fields, IsEmpty());

  const CanaryAnalysis& a = c->analysis;
  EXPECT_EQ(a.interval, 15s);
  EXPECT_EQ(a.threshold, 5);
  EXPECT_EQ(a.max_weight, 50);
  EXPECT_EQ(a.step_weight, 20);
  EXPECT_EQ(a.step_weight_promotion, 50);
  // Flagger adds a step while below maxWeight: 20, 40, then 60 overshoots 50.
  EXPECT_THAT(a.canary_weights, ElementsAre(20, 40, 60));
  EXPECT_EQ(a.strategy, CanaryStrategy::kCanary);
  EXPECT_EQ(a.iterations, 0);
  EXPECT_EQ(a.canary_ready_threshold, 80);
  EXPECT_EQ(a.primary_ready_threshold, 100);
  EXPECT_FALSE(a.mirror);
  EXPECT_FALSE(a.session_affinity.has_value());

  ASSERT_EQ(a.metrics.size(), 3u);
  EXPECT_EQ(a.metrics[0].builtin, CanaryBuiltinMetric::kRequestSuccessRate);
  EXPECT_THAT(a.metrics[0].min, Optional(99.0));
  EXPECT_FALSE(a.metrics[0].max.has_value());
  EXPECT_EQ(a.metrics[0].interval, 1min);
  EXPECT_EQ(a.metrics[1].builtin, CanaryBuiltinMetric::kRequestDuration);
  EXPECT_THAT(a.metrics[1].max, Optional(500.0));
  EXPECT_EQ(a.metrics[1].interval, 30s);
  EXPECT_EQ(a.metrics[1].interval_text, "30s");
  EXPECT_EQ(a.metrics[2].builtin, CanaryBuiltinMetric::kNone);
  EXPECT_EQ(a.metrics[2].interval, 90s);
  EXPECT_EQ(a.metrics[2].interval_text, "1m30s");
  ASSERT_TRUE(a.metrics[2].template_ref.has_value());
  EXPECT_EQ(a.metrics[2].template_ref->name, "latency");
  EXPECT_EQ(a.metrics[2].template_ref->ns, "linkerd");
  EXPECT_EQ(a.metrics[2].template_variables.at("direction"), "inbound");
  EXPECT_THAT(a.metrics[2].min, Optional(0.0));
  EXPECT_THAT(a.metrics[2].max, Optional(0.5));
  EXPECT_TRUE(a.metrics[2].query.empty());

  ASSERT_EQ(a.webhooks.size(), 3u);
  EXPECT_EQ(a.webhooks[0].name, "acceptance-test");
  EXPECT_EQ(a.webhooks[0].type, CanaryWebhookType::kPreRollout);
  EXPECT_EQ(a.webhooks[0].timeout, 30s);
  EXPECT_EQ(a.webhooks[0].metadata.at("type"), "bash");
  EXPECT_EQ(a.webhooks[0].metadata.at("cmd"),
            "curl -sd 'test' http://podinfo-canary.test:9898/token | grep token");
  EXPECT_EQ(a.webhooks[1].type, CanaryWebhookType::kRollout);  // no type means rollout
  EXPECT_EQ(a.webhooks[1].timeout, 10s);                       // default
  EXPECT_EQ(a.webhooks[1].retries, 0);
  EXPECT_EQ(a.webhooks[2].type, CanaryWebhookType::kConfirmPromotion);
  EXPECT_EQ(a.webhooks[2].url, "https://gate.example.com:8443/gate/check");
  EXPECT_TRUE(a.webhooks[2].mute_alert);
  EXPECT_EQ(a.webhooks[2].retries, 3);
  EXPECT_TRUE(a.webhooks[2].disable_tls);
  EXPECT_STREQ(canary_webhook_type_name(a.webhooks[2].type), "confirm-promotion");

  ASSERT_EQ(a.alerts.size(), 1u);
  EXPECT_EQ(a.alerts[0].name, "on-call");
  EXPECT_EQ(a.alerts[0].severity, CanaryAlertSeverity::kError);
  EXPECT_EQ(a.alerts[0].provider_name, "on-call");
  EXPECT_EQ(a.alerts[0].provider_ns, "flagger");
}

TEST(FlaggerCanary, MinimalCanaryGetsDefaults) {
  auto r = decode_yaml(std::string(kCanaryHeader) + kTarget + kService + kAnalysis);
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Canary* c = r.first<Canary>();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->provider, "");
  EXPECT_EQ(c->progress_deadline, 600s);
  EXPECT_FALSE(c->autoscaler_ref.has_value());
  EXPECT_EQ(c->service.name, "podinfo");
  EXPECT_EQ(c->service.port_name, "http");
  ASSERT_TRUE(c->service.target_port.is_number());
  EXPECT_EQ(c->service.target_port.number(), 80);  // defaulted to port
  const CanaryAnalysis& a = c->analysis;
  EXPECT_EQ(a.interval, 1min);
  EXPECT_EQ(a.threshold, 5);
  EXPECT_EQ(a.max_weight, 100);
  EXPECT_THAT(a.canary_weights, ElementsAre(10, 20, 30, 40, 50, 60, 70, 80, 90, 100));
  EXPECT_EQ(a.step_weight_promotion, 0);
  EXPECT_EQ(a.primary_ready_threshold, 100);
  EXPECT_EQ(a.canary_ready_threshold, 100);
  EXPECT_EQ(a.mirror_weight, 100);
  EXPECT_THAT(a.metrics, IsEmpty());
  EXPECT_THAT(a.webhooks, IsEmpty());
}

TEST(FlaggerCanary, StepWeightsSetTheMaximumAndTheWeights) {
  auto r = decode_yaml(canary_with_analysis(
      " {interval: 30s, threshold: 3, stepWeights: [1, 2, 10, 80]}"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Canary* c = r.first<Canary>();
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->analysis.step_weights, ElementsAre(1, 2, 10, 80));
  EXPECT_THAT(c->analysis.canary_weights, ElementsAre(1, 2, 10, 80));
  EXPECT_EQ(c->analysis.max_weight, 80);  // the last step, not the default 100
  EXPECT_EQ(c->analysis.strategy, CanaryStrategy::kCanary);
}

TEST(FlaggerCanary, StepWeightsIgnoreMaxWeightWithAWarning) {
  auto r = decode_yaml(canary_with_analysis(
      " {interval: 30s, threshold: 3, maxWeight: 50, stepWeights: [10, 20, 30, 40, 50, 60]}"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.analysis.maxWeight: is ignored when stepWeights is set; the last "
                          "step (60) is the maximum weight"));
  EXPECT_EQ(r.first<Canary>()->analysis.max_weight, 60);
}

TEST(FlaggerCanary, BlueGreenWithIterations) {
  auto r = decode_yaml(std::string(kCanaryHeader) + R"(
  provider: kubernetes
  targetRef: {apiVersion: apps/v1, kind: DaemonSet, name: agent}
  service: {name: agent-svc, port: 8080, portName: grpc, targetPort: 9090}
  skipAnalysis: false
  suspend: true
  analysis:
    interval: 1m
    threshold: 2
    iterations: 10
    alerts:
    - name: slack
      providerRef: {name: slack}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Canary* c = r.first<Canary>();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->provider, "kubernetes");
  EXPECT_EQ(c->target_ref.kind, "DaemonSet");
  EXPECT_TRUE(c->suspend);
  EXPECT_EQ(c->service.name, "agent-svc");
  EXPECT_EQ(c->service.port, 8080);
  EXPECT_EQ(c->service.port_name, "grpc");
  EXPECT_EQ(c->service.target_port.number(), 9090);
  EXPECT_EQ(c->analysis.strategy, CanaryStrategy::kBlueGreen);
  EXPECT_EQ(c->analysis.iterations, 10);
  EXPECT_THAT(c->analysis.canary_weights, IsEmpty());
  ASSERT_EQ(c->analysis.alerts.size(), 1u);
  EXPECT_EQ(c->analysis.alerts[0].severity, CanaryAlertSeverity::kInfo);  // default
  EXPECT_EQ(c->analysis.alerts[0].provider_ns, "");  // the Canary's namespace
}

TEST(FlaggerCanary, AbTestingIsDecodedAndWarnedAbout) {
  auto r = decode_yaml(canary_with_analysis(R"(
    interval: 1m
    threshold: 10
    iterations: 10
    match:
    - headers:
        x-canary: {exact: insider}
    - headers:
        cookie: {regex: "^(.*?;)?(canary=always)(;.*)?$"}
      sourceLabels: {app: frontend}
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.analysis.match: A/B request matches are ignored by Trellis' "
                          "TrafficSplit-based routing (as by Flagger's Linkerd/SMI router): "
                          "during an A/B run all traffic would go to the canary"));
  const CanaryAnalysis& a = r.first<Canary>()->analysis;
  EXPECT_EQ(a.strategy, CanaryStrategy::kABTesting);
  ASSERT_EQ(a.match.size(), 2u);
  EXPECT_EQ(a.match[0].headers.at("x-canary").kind, CanaryStringMatch::Kind::kExact);
  EXPECT_EQ(a.match[0].headers.at("x-canary").value, "insider");
  EXPECT_EQ(a.match[1].headers.at("cookie").kind, CanaryStringMatch::Kind::kRegex);
  EXPECT_EQ(a.match[1].source_labels.at("app"), "frontend");
}

TEST(FlaggerCanary, DeprecatedSpellingsAreConvertedWithWarnings) {
  auto r = decode_yaml(std::string(kCanaryHeader) + kTarget + kService + R"(
  canaryAnalysis:
    interval: 5s
    threshold: 1
    stepWeight: 50
    metrics:
    - name: request-success-rate
      threshold: 99.5
    - name: request-duration
      threshold: 250
    - name: errors
      query: sum(rate(errors_total[1m]))
      threshold: 3
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(
      r.warnings(),
      ElementsAre(
          "spec.canaryAnalysis: \"canaryAnalysis\" is deprecated; rename it to \"analysis\"",
          "spec.canaryAnalysis.interval: interval 5s is below the 10s minimum; the analysis runs "
          "every 10s",
          "spec.canaryAnalysis.metrics[0].threshold: deprecated; write thresholdRange: {min: "
          "99.5} (request-success-rate fails below the threshold)",
          "spec.canaryAnalysis.metrics[1].threshold: deprecated; write thresholdRange: {max: "
          "250} (the metric fails above the threshold)",
          "spec.canaryAnalysis.metrics[2].query: inline queries are deprecated; move the query "
          "to a MetricTemplate and reference it with templateRef",
          "spec.canaryAnalysis.metrics[2].threshold: deprecated; write thresholdRange: {max: 3} "
          "(the metric fails above the threshold)"));
  const CanaryAnalysis& a = r.first<Canary>()->analysis;
  EXPECT_EQ(a.interval, 10s);  // clamped
  EXPECT_THAT(a.canary_weights, ElementsAre(50, 100));
  ASSERT_EQ(a.metrics.size(), 3u);
  EXPECT_THAT(a.metrics[0].min, Optional(99.5));
  EXPECT_FALSE(a.metrics[0].max.has_value());
  EXPECT_THAT(a.metrics[1].max, Optional(250.0));
  EXPECT_FALSE(a.metrics[1].min.has_value());
  EXPECT_EQ(a.metrics[2].query, "sum(rate(errors_total[1m]))");
  EXPECT_THAT(a.metrics[2].max, Optional(3.0));
  EXPECT_EQ(a.metrics[2].interval, 1min);  // default
  EXPECT_EQ(a.metrics[2].interval_text, "1m");
}

TEST(FlaggerCanary, OtherRoutersSettingsAreAcceptedAndReportedAsIgnored) {
  auto r = decode_yaml(std::string(kCanaryHeader) + kTarget + kAnalysis + R"(
  provider: istio
  service:
    port: 9898
    hosts: [app.example.com, app.internal]
    gateways: [public-gateway.istio-system.svc.cluster.local]
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "gateway-error"}
    timeout: 5s
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(
      r.warnings(),
      ElementsAre(
          "spec.provider: Trellis routes canary traffic itself, with a TrafficSplit as the "
          "linkerd provider does; the \"istio\" router is not used",
          "spec.service.hosts: only hosts[0] is used (as the TrafficSplit's service); "
          "TrafficSplit-based routing ignores the other hosts",
          "spec.service.gateways: Istio-only (VirtualService gateways): ignored by the "
          "Linkerd/SMI provider and by Trellis' TrafficSplit-based routing",
          "spec.service.retries: Istio/Gateway API retries (use a ServiceProfile route or "
          "HTTPRoute for retries): ignored by Trellis' TrafficSplit-based routing",
          "spec.service.timeout: Istio/Gateway API timeouts (use a ServiceProfile route or "
          "HTTPRoute timeout): ignored by Trellis' TrafficSplit-based routing"));
  EXPECT_THAT(r.first<Canary>()->service.ignored_router_fields,
              ElementsAre("gateways", "retries", "timeout"));
}

TEST(FlaggerCanary, SessionAffinityAndMirroring) {
  auto r = decode_yaml(canary_with_analysis(R"(
    interval: 1m
    threshold: 5
    stepWeight: 10
    mirror: true
    mirrorWeight: 50
    sessionAffinity:
      cookieName: flagger-cookie
      primaryCookieName: primary-cookie
      maxAge: 3600
      sameSite: Lax
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.analysis.mirror: traffic mirroring is not supported by "
                          "TrafficSplit-based routing (only Istio and Gateway API mirror); the "
                          "canary gets no mirrored traffic",
                          "spec.analysis.sessionAffinity: cookie-based session affinity is "
                          "implemented only by the Istio and Gateway API routers; "
                          "TrafficSplit-based routing ignores it"));
  const CanaryAnalysis& a = r.first<Canary>()->analysis;
  EXPECT_TRUE(a.mirror);
  EXPECT_EQ(a.mirror_weight, 50);
  ASSERT_TRUE(a.session_affinity.has_value());
  EXPECT_EQ(a.session_affinity->cookie_name, "flagger-cookie");
  EXPECT_EQ(a.session_affinity->primary_cookie_name, "primary-cookie");
  EXPECT_EQ(a.session_affinity->max_age_seconds, 3600);
  EXPECT_EQ(a.session_affinity->same_site, "Lax");
}

// The seed document (flattened YAML restored in tests/fixtures/seeds/001-canary.yaml): every
// mistake it makes is reported, each with the right field.
TEST(FlaggerCanary, SeedCanaryReportsEveryMistake) {
  std::vector<Resource> resources;
  Diagnostics diags;
  auto loaded = load_file(std::string(TRELLIS_SOURCE_DIR) + "/tests/fixtures/seeds/001-canary.yaml",
                          resources, diags);
  ASSERT_TRUE(loaded.ok());
  diags.sort();
  std::vector<std::string> errors, warnings;
  for (const auto& d : diags.items()) {
    (d.severity == Severity::kError ? errors : warnings).push_back(d.field + ": " + d.message);
  }
  EXPECT_THAT(
      errors,
      ElementsAre(
          "spec.analysis.interval: missing required field",
          "spec.analysis.threshold: missing required field",
          "spec.analysis.schedule: unknown field \"schedule\"; use \"interval\" for the analysis "
          "period (e.g. interval: 1m)",
          "spec.analysis.metrics[1].name: \"request-latency\" is not a builtin metric "
          "(request-success-rate or request-duration) and the metric has neither templateRef "
          "nor query (did you mean \"request-duration\"?)",
          "spec.analysis.webhooks[0].type: unsupported webhook type \"post\"; expected one of: "
          "confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, "
          "post-rollout, rollback, event (did you mean \"post-rollout\"?)",
          "spec.analysis.webhooks[1].type: unsupported webhook type \"post\"; expected one of: "
          "confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, "
          "post-rollout, rollback, event (did you mean \"post-rollout\"?)"));
  EXPECT_THAT(
      warnings,
      ElementsAre(
          "spec.autoscalingRef: \"autoscalingRef\" is not a Flagger field; read as "
          "\"autoscalerRef\" (rename it)",
          "spec.autoscalingRef.apiVersion: the canary controller manages "
          "HorizontalPodAutoscalers as autoscaling/v2 (and clones this one as autoscaling/v2); "
          "write \"autoscaling/v2\"",
          "spec.service.gateways: Istio-only (VirtualService gateways): ignored by the "
          "Linkerd/SMI provider and by Trellis' TrafficSplit-based routing",
          "spec.analysis.metrics[0].threshold: deprecated; write thresholdRange: {min: 99.9} "
          "(request-success-rate fails below the threshold)",
          "spec.analysis.metrics[1].threshold: deprecated; write thresholdRange: {max: 500} "
          "(the metric fails above the threshold)"));
  // The variant is still read as autoscalerRef, so the controller gets the HPA.
  ASSERT_EQ(resources.size(), 1u);
  const Canary* c = resources[0].as<Canary>();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->autoscaler_ref.has_value());
  EXPECT_EQ(c->autoscaler_ref->name, "frontend");
  EXPECT_EQ(c->analysis.max_weight, 50);
  EXPECT_THAT(c->analysis.canary_weights, ElementsAre(10, 20, 30, 40, 50));
}

TEST(FlaggerCanary, DiagnosticsCarryFileLineAndObject) {
  auto r = decode_yaml(canary_with_analysis(" {interval: 1m, threshold: 5, stepWeight: 10}") +
                       "\n  suspend: maybe\n");
  ASSERT_THAT(r.formatted(),
              ElementsAre("test.yaml:8:12: error: Canary/test/podinfo: spec.suspend: expected a "
                          "boolean (true or false), got the string \"maybe\""));
}

// ---------------------------------------------------------------------------------------------
// MetricTemplate

TEST(FlaggerMetricTemplate, PrometheusTemplateDecodes) {
  auto r = decode_yaml(R"(
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: latency
  namespace: linkerd
spec:
  provider:
    type: prometheus
    address: http://prometheus.linkerd-viz:9090
    secretRef: {name: prom-auth}
    headers:
      X-Scope-OrgID: [tenant-a]
    insecureSkipVerify: true
  query: |
    histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{
      namespace="{{ namespace }}", deployment=~"{{ target }}",
      direction="{{ variables.direction }}"}[{{ interval }}])) by (le))
    {{- /* same for the primary: {{ target }}-primary */ -}}
    {{ if eq (variables.mode) "strict" }} * 1 {{ end }}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const MetricTemplate* t = r.first<MetricTemplate>();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->provider_type, MetricProviderType::kPrometheus);
  EXPECT_STREQ(metric_provider_type_name(t->provider_type), "prometheus");
  EXPECT_EQ(t->address, "http://prometheus.linkerd-viz:9090");
  EXPECT_EQ(t->secret_name, "prom-auth");
  EXPECT_THAT(t->headers.at("X-Scope-OrgID"), ElementsAre("tenant-a"));
  EXPECT_TRUE(t->insecure_skip_verify);
  EXPECT_THAT(t->variables, ElementsAre("direction", "mode"));
  EXPECT_NE(t->query.find("response_latency_ms_bucket"), std::string::npos);
}

TEST(FlaggerMetricTemplate, CloudWatchWithRegion) {
  auto r = decode_yaml(std::string(kTemplateHeader) + R"(
  provider: {type: cloudwatch, region: eu-west-1}
  query: '[{"Id": "e1", "Expression": "m1 / 100"}]'
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const MetricTemplate* t = r.first<MetricTemplate>();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->provider_type, MetricProviderType::kCloudWatch);
  EXPECT_EQ(t->region, "eu-west-1");
  EXPECT_THAT(t->variables, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: each row is a manifest and every error it must produce, in source order.

struct BadInput {
  const char* what;
  std::string yaml;
  std::vector<std::string> errors;
};

std::string canary(const std::string& body) { return std::string(kCanaryHeader) + body; }
std::string metric_template(const std::string& body) { return std::string(kTemplateHeader) + body; }
std::string canary_analysis(const std::string& analysis_flow) {
  return canary(std::string(kTarget) + kService + "\n  analysis: " + analysis_flow);
}
std::string canary_service(const std::string& service_flow) {
  return canary(std::string(kTarget) + kAnalysis + "\n  service: " + service_flow);
}
std::string canary_metric(const std::string& metric_flow) {
  return canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, metrics: [" + metric_flow +
                         "]}");
}
std::string canary_webhook(const std::string& webhook_flow) {
  return canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, webhooks: [" +
                         webhook_flow + "]}");
}
std::string template_query(const std::string& query) {
  return metric_template("\n  provider: {type: prometheus, address: http://prometheus:9090}"
                         "\n  query: '" + query + "'");
}

const std::string kKnown =
    "known: name, namespace, target, service, ingress, route, interval, variables.<key>";

std::vector<BadInput> bad_inputs() {
  return {
      // ---- Canary: structure, required fields, types ----
      {"unknown spec field with suggestion",
       canary(std::string(kTarget) + kService + kAnalysis + "\n  skipAnalyses: true"),
       {"spec.skipAnalyses: unknown field \"skipAnalyses\" (did you mean \"skipAnalysis\"?)"}},
      {"missing targetRef", canary(std::string(kService) + kAnalysis),
       {"spec.targetRef: missing required field"}},
      {"missing service", canary(std::string(kTarget) + kAnalysis),
       {"spec.service: missing required field"}},
      {"missing analysis", canary(std::string(kTarget) + kService),
       {"spec.analysis: missing required field"}},
      {"misspelt analysis",
       canary(std::string(kTarget) + kService +
              "\n  analyis: {interval: 1m, threshold: 5, stepWeight: 10}"),
       {"spec.analysis: missing required field",
        "spec.analyis: unknown field \"analyis\" (did you mean \"analysis\"?)"}},
      {"targetRef kind not a workload",
       canary("\n  targetRef: {apiVersion: apps/v1, kind: StatefulSet, name: db}" +
              std::string(kService) + kAnalysis),
       {"spec.targetRef.kind: unsupported value \"StatefulSet\"; expected one of: Deployment, "
        "DaemonSet, Service"}},
      {"targetRef without name",
       canary("\n  targetRef: {apiVersion: apps/v1, kind: Deployment}" + std::string(kService) +
              kAnalysis),
       {"spec.targetRef.name: missing required field"}},
      {"targetRef name not a DNS name",
       canary("\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: PodInfo}" +
              std::string(kService) + kAnalysis),
       {"spec.targetRef.name: invalid name \"PodInfo\": must consist of lower case alphanumeric "
        "characters, '-' or '.' (e.g. 'example.com')"}},
      {"defaulted service name not a DNS label",
       canary("\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: pod.info}" +
              std::string(kService) + kAnalysis),
       {"spec.targetRef.name: is used as the Service name, which must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name'); set service.name"}},
      {"provider typo",
       canary("\n  provider: linkred" + std::string(kTarget) + kService + kAnalysis),
       {"spec.provider: unknown provider \"linkred\"; expected one of: apisix, appmesh, "
        "appmesh:v1beta2, contour, gatewayapi:v1, gatewayapi:v1beta1, gloo, istio, knative, "
        "kubernetes, kuma, linkerd, nginx, osm, skipper, smi:v1alpha1, smi:v1alpha2, "
        "smi:v1alpha3, traefik (did you mean \"linkerd\"?)"}},
      {"metricsServer not a URL",
       canary("\n  metricsServer: prometheus:9090" + std::string(kTarget) + kService + kAnalysis),
       {"spec.metricsServer: invalid URL \"prometheus:9090\": must be an absolute URL starting "
        "with http:// or https://"}},
      {"progressDeadlineSeconds as a duration",
       canary(std::string(kTarget) + kService + kAnalysis + "\n  progressDeadlineSeconds: 10m"),
       {"spec.progressDeadlineSeconds: expected an integer, got the string \"10m\""}},
      {"skipAnalysis not a boolean",
       canary(std::string(kTarget) + kService + kAnalysis + "\n  skipAnalysis: \"true\""),
       {"spec.skipAnalysis: expected a boolean (true or false), got the string \"true\""}},
      {"autoscalerRef kind",
       canary(std::string(kTarget) + kService + kAnalysis +
              "\n  autoscalerRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}"),
       {"spec.autoscalerRef.kind: unsupported value \"Deployment\"; expected one of: "
        "HorizontalPodAutoscaler, ScaledObject"}},
      {"primaryScalerReplicas out of range and inverted",
       canary(std::string(kTarget) + kService + kAnalysis +
              "\n  autoscalerRef: {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, "
              "name: podinfo, primaryScalerReplicas: {minReplicas: 0, maxReplicas: 2}}"
              "\n  ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: web}"
              "\n  upstreamRef: {apiVersion: gloo.solo.io/v1, kind: Upstream, name: up}"),
       {"spec.autoscalerRef.primaryScalerReplicas.minReplicas: value 0 is out of range [1, "
        "2147483647]"}},
      {"primaryScalerReplicas min above max",
       canary(std::string(kTarget) + kService + kAnalysis +
              "\n  autoscalerRef: {apiVersion: keda.sh/v1alpha1, kind: ScaledObject, "
              "name: podinfo, primaryScalerReplicas: {minReplicas: 5, maxReplicas: 2}}"),
       {"spec.autoscalerRef.primaryScalerReplicas: minReplicas 5 is greater than maxReplicas 2"}},
      {"autoscalingRef and autoscalerRef both set",
       canary(std::string(kTarget) + kService + kAnalysis +
              "\n  autoscalerRef: {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, "
              "name: a}"
              "\n  autoscalingRef: {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, "
              "name: b}"),
       {"spec.autoscalingRef: both \"autoscalingRef\" and \"autoscalerRef\" are set; remove "
        "\"autoscalingRef\""}},
      {"ingressRef kind",
       canary(std::string(kTarget) + kService + kAnalysis +
              "\n  ingressRef: {apiVersion: v1, kind: Service, name: web}"),
       {"spec.ingressRef.kind: unsupported value \"Service\"; expected one of: Ingress"}},

      // ---- Canary: service ----
      {"service port missing", canary_service("{portName: http}"),
       {"spec.service.port: missing required field"}},
      {"service port out of range", canary_service("{port: 70000}"),
       {"spec.service.port: value 70000 is out of range [1, 65535]"}},
      {"service port given by name", canary_service("{port: http}"),
       {"spec.service.port: expected a port number (1-65535), got the string \"http\""}},
      {"service targetPort bad name", canary_service("{port: 80, targetPort: http_alt}"),
       {"spec.service.targetPort: invalid port name \"http_alt\": must contain only lower case "
        "alphanumeric characters and '-'"}},
      {"service portName too long", canary_service("{port: 80, portName: http-metrics-extra}"),
       {"spec.service.portName: invalid port name \"http-metrics-extra\": must be no more than "
        "15 characters"}},
      {"service name invalid", canary_service("{name: Web_App, port: 80}"),
       {"spec.service.name: invalid Service name \"Web_App\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"service name too long for the generated names",
       canary_service("{name: " + std::string(56, 'a') + ", port: 80}"),
       {"spec.service.name: the generated Service \"" + std::string(56, 'a') +
        "-primary\" would be longer than 63 characters; use a name of at most 55"}},
      {"service apex label key invalid",
       canary_service("{port: 80, apex: {labels: {\"-bad\": x}}}"),
       {"spec.service.apex.labels.-bad: invalid label key: name part must start and end with an "
        "alphanumeric character"}},
      {"service trafficDistribution", canary_service("{port: 80, trafficDistribution: Closest}"),
       {"spec.service.trafficDistribution: unsupported value \"Closest\"; expected one of: "
        "PreferClose, PreferSameZone, PreferSameNode"}},

      // ---- Canary: analysis ----
      {"schedule instead of interval",
       canary_analysis("{schedule: 1m, threshold: 5, stepWeight: 10}"),
       {"spec.analysis.interval: missing required field",
        "spec.analysis.schedule: unknown field \"schedule\"; use \"interval\" for the analysis "
        "period (e.g. interval: 1m)"}},
      {"unknown analysis field with suggestion",
       canary_analysis("{interval: 1m, threshold: 5, stepWieght: 10}"),
       {"spec.analysis: set exactly one of stepWeight, stepWeights (progressive canary) or "
        "iterations (Blue/Green, A/B testing); none is set",
        "spec.analysis.stepWieght: unknown field \"stepWieght\" (did you mean \"stepWeight\"?)"}},
      {"interval in hours", canary_analysis("{interval: 1h, threshold: 5, stepWeight: 10}"),
       {"spec.analysis.interval: invalid interval \"1h\": must match ^[0-9]+(m|s), a number of "
        "seconds or minutes such as \"30s\" or \"1m\""}},
      {"interval without unit", canary_analysis("{interval: 60, threshold: 5, stepWeight: 10}"),
       {"spec.analysis.interval: expected a duration such as \"30s\" or \"1m\", got the integer "
        "60"}},
      {"interval matching the pattern but not a duration",
       canary_analysis("{interval: 10sx, threshold: 5, stepWeight: 10}"),
       {"spec.analysis.interval: unknown unit \"sx\" in duration \"10sx\" (use one of ns, us, ms, "
        "s, m, h)"}},
      {"threshold missing", canary_analysis("{interval: 1m, stepWeight: 10}"),
       {"spec.analysis.threshold: missing required field"}},
      {"threshold zero", canary_analysis("{interval: 1m, threshold: 0, stepWeight: 10}"),
       {"spec.analysis.threshold: value 0 is out of range [1, 2147483647]"}},
      {"maxWeight above 100",
       canary_analysis("{interval: 1m, threshold: 5, maxWeight: 150, stepWeight: 10}"),
       {"spec.analysis.maxWeight: value 150 is out of range [0, 100]"}},
      {"stepWeight as a word", canary_analysis("{interval: 1m, threshold: 5, stepWeight: ten}"),
       {"spec.analysis.stepWeight: expected an integer, got the string \"ten\""}},
      {"stepWeights out of range",
       canary_analysis("{interval: 1m, threshold: 5, stepWeights: [10, 0, 150]}"),
       {"spec.analysis.stepWeights[1]: value 0 is out of range [1, 100]",
        "spec.analysis.stepWeights[2]: value 150 is out of range [1, 100]"}},
      {"stepWeights empty", canary_analysis("{interval: 1m, threshold: 5, stepWeights: []}"),
       {"spec.analysis.stepWeights: must list at least one weight"}},
      {"stepWeights not a list", canary_analysis("{interval: 1m, threshold: 5, stepWeights: 10}"),
       {"spec.analysis.stepWeights: expected a list, got the integer 10"}},
      {"stepWeight and iterations",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, iterations: 5}"),
       {"spec.analysis: set exactly one of stepWeight, stepWeights or iterations; stepWeight and "
        "iterations are set"}},
      {"all three ways of advancing",
       canary_analysis(
           "{interval: 1m, threshold: 5, stepWeight: 10, stepWeights: [5], iterations: 5}"),
       {"spec.analysis: set exactly one of stepWeight, stepWeights or iterations; stepWeight and "
        "stepWeights and iterations are set"}},
      {"no way of advancing", canary_analysis("{interval: 1m, threshold: 5, maxWeight: 50}"),
       {"spec.analysis: set exactly one of stepWeight, stepWeights (progressive canary) or "
        "iterations (Blue/Green, A/B testing); none is set"}},
      {"iterations zero", canary_analysis("{interval: 1m, threshold: 5, iterations: 0}"),
       {"spec.analysis.iterations: value 0 is out of range [1, 2147483647]"}},
      {"ready threshold negative",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, canaryReadyThreshold: -5}"),
       {"spec.analysis.canaryReadyThreshold: value -5 is out of range [0, 100]"}},
      {"mirrorWeight above 100",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, mirror: true, "
                       "mirrorWeight: 101}"),
       {"spec.analysis.mirrorWeight: value 101 is out of range [0, 100]"}},
      {"sessionAffinity without cookieName",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, sessionAffinity: "
                       "{maxAge: 60}}"),
       {"spec.analysis.sessionAffinity.cookieName: missing required field"}},
      {"sessionAffinity same cookie names",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, sessionAffinity: "
                       "{cookieName: c, primaryCookieName: c}}"),
       {"spec.analysis.sessionAffinity.primaryCookieName: must differ from cookieName \"c\": "
        "the cookie tells primary and canary sessions apart"}},
      {"sessionAffinity sameSite case",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, sessionAffinity: "
                       "{cookieName: c, sameSite: lax}}"),
       {"spec.analysis.sessionAffinity.sameSite: unsupported value \"lax\"; expected one of: "
        "Strict, Lax, None (did you mean \"Lax\"?)"}},
      {"sessionAffinity cookie name with a space",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, sessionAffinity: "
                       "{cookieName: \"my cookie\"}}"),
       {"spec.analysis.sessionAffinity.cookieName: invalid cookie name \"my cookie\": must "
        "contain only token characters (letters, digits and !#$%&'*+-.^_`|~)"}},
      {"match regex not RE2",
       canary_analysis("{interval: 1m, threshold: 5, iterations: 5, match: "
                       "[{headers: {user-agent: {regex: \"(?<=Firefox).*\"}}}]}"),
       {"spec.analysis.match[0].headers.user-agent.regex: invalid regular expression "
        "\"(?<=Firefox).*\": invalid perl operator: (?< (RE2 syntax; backreferences and "
        "lookaround are not supported)"}},
      {"match with two kinds",
       canary_analysis("{interval: 1m, threshold: 5, iterations: 5, match: "
                       "[{headers: {x-canary: {exact: a, prefix: b}}}]}"),
       {"spec.analysis.match[0].headers.x-canary: set exactly one of exact, prefix, suffix or "
        "regex; got exact and prefix"}},
      {"match sourceLabels value",
       canary_analysis("{interval: 1m, threshold: 5, iterations: 5, match: "
                       "[{sourceLabels: {app: \"front end\"}}]}"),
       {"spec.analysis.match[0].sourceLabels.app: invalid label value \"front end\": must "
        "consist of alphanumeric characters, '-', '_' or '.'"}},

      // ---- Canary: metrics ----
      {"metric without name", canary_metric("{thresholdRange: {min: 99}}"),
       {"spec.analysis.metrics[0].name: missing required field"}},
      {"metric neither builtin nor template, near a builtin",
       canary_metric("{name: request-latency, thresholdRange: {max: 500}}"),
       {"spec.analysis.metrics[0].name: \"request-latency\" is not a builtin metric "
        "(request-success-rate or request-duration) and the metric has neither templateRef nor "
        "query (did you mean \"request-duration\"?)"}},
      {"metric misspelt builtin",
       canary_metric("{name: request-sucess-rate, thresholdRange: {min: 99}}"),
       {"spec.analysis.metrics[0].name: \"request-sucess-rate\" is not a builtin metric "
        "(request-success-rate or request-duration) and the metric has neither templateRef nor "
        "query (did you mean \"request-success-rate\"?)"}},
      {"metric neither builtin nor template, nothing close",
       canary_metric("{name: cpu, thresholdRange: {max: 80}}"),
       {"spec.analysis.metrics[0].name: \"cpu\" is not a builtin metric (request-success-rate or "
        "request-duration) and the metric has neither templateRef nor query"}},
      {"thresholdRange inverted",
       canary_metric("{name: request-duration, thresholdRange: {min: 500, max: 100}}"),
       {"spec.analysis.metrics[0].thresholdRange: min 500 is greater than max 100: no value can "
        "pass"}},
      {"thresholdRange not a number",
       canary_metric("{name: request-duration, thresholdRange: {max: fast}}"),
       {"spec.analysis.metrics[0].thresholdRange.max: expected a number, got the string "
        "\"fast\""}},
      {"metric interval in hours",
       canary_metric("{name: request-duration, interval: 1h, thresholdRange: {max: 500}}"),
       {"spec.analysis.metrics[0].interval: invalid interval \"1h\": must match ^[0-9]+(m|s), a "
        "number of seconds or minutes such as \"30s\" or \"1m\""}},
      {"templateRef without name",
       canary_metric("{name: latency, templateRef: {namespace: linkerd}, thresholdRange: "
                     "{max: 1}}"),
       {"spec.analysis.metrics[0].templateRef.name: missing required field"}},
      {"templateRef bad namespace",
       canary_metric("{name: latency, templateRef: {name: latency, namespace: Linkerd_NS}, "
                     "thresholdRange: {max: 1}}"),
       {"spec.analysis.metrics[0].templateRef.namespace: invalid namespace \"Linkerd_NS\": must "
        "consist of lower case alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"templateVariables not strings",
       canary_metric("{name: latency, templateRef: {name: latency}, templateVariables: "
                     "{quantile: 0.99}, thresholdRange: {max: 1}}"),
       {"spec.analysis.metrics[0].templateVariables.quantile: expected a string, got the number "
        "0.99 (quote it: \"0.99\")"}},

      // ---- Canary: webhooks and alerts ----
      {"webhook type post", canary_webhook("{name: hook, type: post, url: http://hook/}"),
       {"spec.analysis.webhooks[0].type: unsupported webhook type \"post\"; expected one of: "
        "confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, "
        "post-rollout, rollback, event (did you mean \"post-rollout\"?)"}},
      {"webhook without url", canary_webhook("{name: hook}"),
       {"spec.analysis.webhooks[0].url: missing required field"}},
      {"webhook without name", canary_webhook("{url: http://hook/}"),
       {"spec.analysis.webhooks[0].name: missing required field"}},
      {"webhook relative url", canary_webhook("{name: hook, url: flagger-loadtester/}"),
       {"spec.analysis.webhooks[0].url: invalid URL \"flagger-loadtester/\": must be an "
        "absolute URL starting with http:// or https://"}},
      {"webhook ftp url", canary_webhook("{name: hook, url: \"ftp://files/upload\"}"),
       {"spec.analysis.webhooks[0].url: invalid URL \"ftp://files/upload\": scheme \"ftp\" is "
        "not supported; use http or https"}},
      {"webhook url bad port", canary_webhook("{name: hook, url: \"http://hook:99999/\"}"),
       {"spec.analysis.webhooks[0].url: invalid URL \"http://hook:99999/\": has an invalid port "
        "\"99999\" (1-65535)"}},
      {"webhook timeout without unit", canary_webhook("{name: hook, url: http://hook/, "
                                                      "timeout: \"30\"}"),
       {"spec.analysis.webhooks[0].timeout: invalid interval \"30\": must match ^[0-9]+(m|s), a "
        "number of seconds or minutes such as \"30s\" or \"1m\""}},
      {"webhook retries negative", canary_webhook("{name: hook, url: http://hook/, retries: -1}"),
       {"spec.analysis.webhooks[0].retries: value -1 is out of range [0, 100]"}},
      {"webhook metadata not strings",
       canary_webhook("{name: hook, url: http://hook/, metadata: {cmd: [a, b]}}"),
       {"spec.analysis.webhooks[0].metadata.cmd: expected a string, got a list"}},
      {"alert severity",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, alerts: "
                       "[{name: a, severity: critical, providerRef: {name: slack}}]}"),
       {"spec.analysis.alerts[0].severity: unsupported value \"critical\"; expected one of: "
        "info, warn, error"}},
      {"alert without providerRef",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, alerts: [{name: a}]}"),
       {"spec.analysis.alerts[0].providerRef: missing required field"}},

      // ---- MetricTemplate ----
      {"template without provider", metric_template("\n  query: vector(1)"),
       {"spec.provider: missing required field"}},
      {"template without query", metric_template("\n  provider: {type: prometheus}"),
       {"spec.query: missing required field"}},
      {"template provider type typo",
       metric_template("\n  provider: {type: prometeus}\n  query: vector(1)"),
       {"spec.provider.type: unsupported value \"prometeus\"; expected one of: prometheus, "
        "influxdb, datadog, externalmetrics, stackdriver, cloudwatch, newrelic, graphite, "
        "dynatrace, keptn, splunk (did you mean \"prometheus\"?)"}},
      {"template provider without type",
       metric_template("\n  provider: {address: http://prometheus:9090}\n  query: vector(1)"),
       {"spec.provider.type: missing required field"}},
      {"template address not a URL",
       metric_template("\n  provider: {type: prometheus, address: prometheus:9090}"
                       "\n  query: vector(1)"),
       {"spec.provider.address: invalid URL \"prometheus:9090\": must be an absolute URL "
        "starting with http:// or https://"}},
      {"cloudwatch without region",
       metric_template("\n  provider: {type: cloudwatch}\n  query: x"),
       {"spec.provider.region: missing required field: the cloudwatch provider needs a region "
        "(e.g. us-east-1)"}},
      {"template header name",
       metric_template("\n  provider: {type: prometheus, headers: {\"bad header\": [x]}}"
                       "\n  query: vector(1)"),
       {"spec.provider.headers[\"bad header\"]: invalid header name \"bad header\": must be a "
        "valid HTTP header name (RFC 9110 token characters only)"}},
      {"template header values not a list",
       metric_template("\n  provider: {type: prometheus, headers: {X-Org: tenant}}"
                       "\n  query: vector(1)"),
       {"spec.provider.headers.X-Org: expected a list, got the string \"tenant\""}},
      {"template secretRef without name",
       metric_template("\n  provider: {type: prometheus, secretRef: {}}\n  query: vector(1)"),
       {"spec.provider.secretRef.name: missing required field"}},
      {"template unknown placeholder", template_query("sum(rate(x{app=\"{{ app }}\"}[1m]))"),
       {"spec.query: unknown template variable \"app\" in {{ app }}; " + kKnown}},
      {"template placeholder typo", template_query("x{namespace=\"{{ namesapce }}\"}"),
       {"spec.query: unknown template variable \"namesapce\" in {{ namesapce }}; " + kKnown +
        " (did you mean \"namespace\"?)"}},
      {"template placeholder written as data", template_query("x{ns=\"{{ .namespace }}\"}"),
       {"spec.query: \".namespace\" in {{ .namespace }} refers to template data, which Flagger "
        "does not pass; write namespace without the dot"}},
      {"template variables without key", template_query("x{d=\"{{ variables }}\"}"),
       {"spec.query: {{ variables }} renders the whole variables map; write "
        "{{ variables.<key> }}"}},
      {"template field of a string", template_query("x{d=\"{{ target.name }}\"}"),
       {"spec.query: \"target.name\" in {{ target.name }}: target is a string and has no "
        "fields"}},
      {"template unterminated action", template_query("x[{{ interval ]"),
       {"spec.query: unterminated template action \"{{ interval ]\" (missing \"}}\")"}},
      {"template unexpected character", template_query("x{a=\"{{ target ; }}\"}"),
       {"spec.query: unexpected character \";\" in template action \"{{ target ; }}\""}},
      {"template if without end", template_query("{{ if variables.x }}a"),
       {"spec.query: a {{ if }}, {{ range }} or {{ with }} block is not closed with {{ end }}"}},
      {"template several problems",
       template_query("{{ app }} {{ end }} {{ interval }} {{ Target }}"),
       {"spec.query: unknown template variable \"app\" in {{ app }}; " + kKnown,
        "spec.query: {{ end }} has no matching {{ if }}, {{ range }} or {{ with }}",
        "spec.query: unknown template variable \"Target\" in {{ Target }}; " + kKnown +
            " (did you mean \"target\"?)"}},
  };
}

TEST(FlaggerBadInput, EachRowReportsExactlyItsErrors) {
  const auto rows = bad_inputs();
  ASSERT_GE(rows.size(), 30u);
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(row.what) + "\n" + row.yaml);
    auto r = decode_yaml(row.yaml);
    EXPECT_THAT(r.errors(), ElementsAreArray(row.errors));
  }
}

// Things that work but are non-canonical or have no effect: warnings, never errors.
struct WarningInput {
  const char* what;
  std::string yaml;
  std::string warning;
};

std::vector<WarningInput> warning_inputs() {
  return {
      {"interval below the minimum",
       canary_analysis("{interval: 5s, threshold: 5, stepWeight: 10}"),
       "spec.analysis.interval: interval 5s is below the 10s minimum; the analysis runs every "
       "10s"},
      {"stepWeights not ascending",
       canary_analysis("{interval: 1m, threshold: 5, stepWeights: [10, 30, 20]}"),
       "spec.analysis.stepWeights: weights should be ascending: 20 at index 2 does not exceed 30 "
       "before it"},
      {"stepWeight zero", canary_analysis("{interval: 1m, threshold: 5, stepWeight: 0}"),
       "spec.analysis.stepWeight: a stepWeight of 0 never shifts traffic to the canary"},
      {"maxWeight with iterations",
       canary_analysis("{interval: 1m, threshold: 5, maxWeight: 50, iterations: 3}"),
       "spec.analysis.maxWeight: has no effect with iterations (Blue/Green and A/B testing switch "
       "all traffic at promotion)"},
      {"mirrorWeight without mirror",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, mirrorWeight: 20}"),
       "spec.analysis.mirrorWeight: has no effect unless mirror is true"},
      {"metric without threshold", canary_metric("{name: request-success-rate}"),
       "spec.analysis.metrics[0]: no thresholdRange: the metric is queried but can never fail "
       "the analysis"},
      {"builtin name with a template",
       canary_metric("{name: request-duration, templateRef: {name: latency}, "
                     "thresholdRange: {max: 1}}"),
       "spec.analysis.metrics[0].templateRef: \"request-duration\" is a builtin metric name: the "
       "builtin check runs as well as the template; rename the metric to run only the template"},
      {"threshold next to thresholdRange",
       canary_metric("{name: request-duration, threshold: 5, thresholdRange: {max: 1}}"),
       "spec.analysis.metrics[0].threshold: deprecated, and ignored because thresholdRange is "
       "set; remove it"},
      {"success rate above 100",
       canary_metric("{name: request-success-rate, thresholdRange: {min: 999}}"),
       "spec.analysis.metrics[0].thresholdRange: request-success-rate is a percentage (0-100); a "
       "minimum of 999 can never pass"},
      {"muteAlert on a non-gate",
       canary_webhook("{name: hook, type: rollout, url: http://hook/, muteAlert: true}"),
       "spec.analysis.webhooks[0].muteAlert: only mutes the \"waiting for approval\" alerts of "
       "confirm-rollout, confirm-traffic-increase and confirm-promotion gates; it has no effect "
       "here"},
      {"sameSite None without secure",
       canary_analysis("{interval: 1m, threshold: 5, stepWeight: 10, sessionAffinity: "
                       "{cookieName: c, sameSite: None}}"),
       "spec.analysis.sessionAffinity.sameSite: browsers drop SameSite=None cookies that are not "
       "secure; set secure: true"},
      {"targetRef apiVersion",
       canary("\n  targetRef: {apiVersion: extensions/v1beta1, kind: Deployment, name: podinfo}" +
              std::string(kService) + kAnalysis),
       "spec.targetRef.apiVersion: Deployment is not served as \"extensions/v1beta1\"; read as "
       "\"apps/v1\""},
  };
}

TEST(FlaggerWarnings, EachRowWarnsWithoutErrors) {
  for (const auto& row : warning_inputs()) {
    SCOPED_TRACE(std::string(row.what) + "\n" + row.yaml);
    auto r = decode_yaml(row.yaml);
    EXPECT_THAT(r.errors(), IsEmpty());
    EXPECT_THAT(r.warnings(), ::testing::Contains(row.warning));
  }
}

// Mangled Canary and MetricTemplate documents (deterministic byte mutations of valid and seed
// manifests) must only ever produce diagnostics: no crash, no exception, no sanitizer report.
TEST(FlaggerRobustness, MutatedManifestsNeverCrash) {
  const std::vector<std::string> bases = {
      canary_metric("{name: latency, templateRef: {name: l}, thresholdRange: {min: 1, max: 2}}"),
      canary_analysis("{interval: 1m, threshold: 5, iterations: 5, match: [{headers: {x: "
                      "{regex: \"a.*\"}}}], sessionAffinity: {cookieName: c}}"),
      canary_webhook("{name: hook, type: confirm-rollout, url: \"http://[::1]:80/x\"}"),
      template_query("{{ if eq (variables.a) \"b\" }}{{ name }}{{ else }}{{ target }}{{ end }}"),
  };
  const std::string alphabet = "{}[]:,-?\n \"'!&*#|>%@`$./()abz019";
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 8;
  };
  size_t decoded = 0;
  for (const auto& base : bases) {
    for (int i = 0; i < 150; ++i) {
      std::string text = base;
      const int edits = 1 + static_cast<int>(next() % 6);
      for (int e = 0; e < edits; ++e) {
        text[next() % text.size()] = alphabet[next() % alphabet.size()];
      }
      auto r = decode_yaml(text);
      decoded += r.resources.size();
    }
  }
  EXPECT_GT(decoded, 0u);  // some mutations still decode, so the decoders did run
}

}  // namespace
}  // namespace trellis::resources
