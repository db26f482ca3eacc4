#pragma once
// flagger.app Canary and MetricTemplate.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.
//
// The Canary's internal form is what the canary controller runs from: defaults are filled in
// (interval clamped to 10s, maxWeight, ready thresholds, metric and webhook intervals), the
// deprecated spellings are converted (`canaryAnalysis`, metric `threshold` -> a pass band,
// `autoscalingRef`), and the weight steps of a progressive canary are expanded into the list
// of canary weights the analysis walks through. Facts: reference/flagger.md §1, §2, §4, §5.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

// ---------------------------------------------------------------------------------------------
// Canary (flagger.app/v1beta1)

// A reference to an object in the Canary's own namespace.
struct CanaryObjectRef {
  std::string api_version;
  std::string kind;
  std::string name;
};

struct CanaryAutoscalerRef {
  std::string api_version;
  std::string kind;  // HorizontalPodAutoscaler or ScaledObject (KEDA)
  std::string name;
  // KEDA: trigger name -> query for the cloned "<name>-primary" ScaledObject.
  std::map<std::string, std::string> primary_scaler_queries;
  // Overrides of min/max replicas on the "<name>-primary" clone; nullopt keeps the original's.
  std::optional<int32_t> primary_min_replicas;
  std::optional<int32_t> primary_max_replicas;
};

// Labels and annotations applied to one of the generated Services.
struct CanaryServiceMetadata {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct CanaryService {
  // Name of the apex Service (and of the TrafficSplit); "<name>-primary" and "<name>-canary"
  // are generated next to it. Defaulted to targetRef.name.
  std::string name;
  int32_t port = 0;  // the ClusterIP port
  std::string port_name = "http";
  PortRef target_port{0};  // defaulted to `port`
  bool port_discovery = false;  // also expose the workload's other container ports
  std::string app_protocol;
  std::string traffic_distribution;  // PreferClose / PreferSameZone / PreferSameNode, or empty
  bool headless = false;
  // hosts[0], when set, becomes the TrafficSplit's spec.service; the rest are not used.
  std::vector<std::string> hosts;
  CanaryServiceMetadata apex;
  CanaryServiceMetadata primary;
  CanaryServiceMetadata canary;
  // Label / annotation keys on the generated Services that the controller must leave alone.
  std::vector<std::string> unmanaged_labels;
  std::vector<std::string> unmanaged_annotations;
  // Settings of other routers (Istio, Gateway API, App Mesh) that were present and that
  // TrafficSplit-based routing ignores, e.g. "gateways", "retries". Kept for `trellis check`.
  std::vector<std::string> ignored_router_fields;
};

enum class CanaryStrategy {
  kCanary,     // progressive weight shifting (stepWeight / stepWeights)
  kBlueGreen,  // iterations without match: no weight change until the switch
  kABTesting,  // iterations with match
};

// An Istio-style string match of an A/B `match` condition.
struct CanaryStringMatch {
  enum class Kind { kExact, kPrefix, kSuffix, kRegex };
  Kind kind = Kind::kExact;
  std::string value;  // regexes are RE2-validated
};

// One A/B condition (Istio HTTPMatchRequest subset); all parts must hold.
struct CanaryMatch {
  std::map<std::string, CanaryStringMatch> headers;  // header names as written (lower-case)
  std::map<std::string, CanaryStringMatch> query_params;
  std::optional<CanaryStringMatch> uri;
  std::optional<CanaryStringMatch> method;
  std::map<std::string, std::string> source_labels;
};

struct CanarySessionAffinity {
  std::string cookie_name;
  std::string primary_cookie_name;  // empty: not set
  std::string domain;
  std::string path;
  std::string same_site;  // Strict, Lax, None or empty
  bool http_only = false;
  bool partitioned = false;
  bool secure = false;
  int32_t max_age_seconds = 86400;
};

enum class CanaryBuiltinMetric { kNone, kRequestSuccessRate, kRequestDuration };

struct CanaryMetricTemplateRef {
  std::string name;
  std::string ns;  // empty: the Canary's namespace
};

struct CanaryMetric {
  std::string name;
  // Set when `name` is a builtin; the builtin check runs even when a template is also set.
  CanaryBuiltinMetric builtin = CanaryBuiltinMetric::kNone;
  base::Duration interval = std::chrono::minutes(1);
  // The interval as written; Flagger renders this text (not a normalised form) into
  // {{ interval }}, so PromQL sees exactly what the user wrote.
  std::string interval_text = "1m";
  // Inclusive pass band; either end may be open. The deprecated `threshold` is converted here:
  // a minimum for request-success-rate, a maximum for everything else. request-duration is in
  // milliseconds, request-success-rate in percent.
  std::optional<double> min;
  std::optional<double> max;
  std::string query;  // deprecated inline PromQL; empty when not set
  std::optional<CanaryMetricTemplateRef> template_ref;
  std::map<std::string, std::string> template_variables;  // {{ variables.<key> }}
};

enum class CanaryWebhookType {
  kConfirmRollout,
  kPreRollout,
  kRollout,  // also the empty type
  kConfirmTrafficIncrease,
  kConfirmPromotion,
  kPostRollout,
  kRollback,
  kEvent,
};

struct CanaryWebhook {
  std::string name;
  std::string url;  // an absolute http:// or https:// URL
  CanaryWebhookType type = CanaryWebhookType::kRollout;
  base::Duration timeout = std::chrono::seconds(10);
  std::map<std::string, std::string> metadata;
  bool mute_alert = false;  // no "waiting for approval" alerts from this gate
  int32_t retries = 0;      // retries on connection errors, 5xx and 429
  bool disable_tls = false;  // skip certificate verification
};

enum class CanaryAlertSeverity { kInfo, kWarn, kError };

struct CanaryAlert {
  std::string name;
  // An `info` subscription receives everything, `warn` warn and error, `error` error only.
  CanaryAlertSeverity severity = CanaryAlertSeverity::kInfo;
  std::string provider_name;  // an AlertProvider
  std::string provider_ns;    // empty: the Canary's namespace
};

struct CanaryAnalysis {
  // Tick period of the analysis; at least 10s (shorter intervals are raised to 10s).
  base::Duration interval = std::chrono::seconds(60);
  // Roll back once this many checks have failed in the run (cumulative, not consecutive).
  int32_t threshold = 1;
  // Promotion starts once the canary weight reaches this. With stepWeights it is
  // min(100, last step) and the written maxWeight is ignored.
  int32_t max_weight = 100;
  int32_t step_weight = 0;
  std::vector<int32_t> step_weights;  // as written
  // The canary weights a progressive canary goes through, one per successful tick, the last
  // one >= max_weight (it may overshoot: step 20, max 50 -> 20, 40, 60). Empty for Blue/Green
  // and A/B testing.
  std::vector<int32_t> canary_weights;
  int32_t step_weight_promotion = 0;  // 0: all traffic back to the primary in one tick
  int32_t iterations = 0;
  CanaryStrategy strategy = CanaryStrategy::kCanary;
  std::vector<CanaryMatch> match;
  bool mirror = false;
  int32_t mirror_weight = 100;
  // Ready when availableReplicas >= floor(updatedReplicas * pct / 100).
  int32_t primary_ready_threshold = 100;
  int32_t canary_ready_threshold = 100;
  std::optional<CanarySessionAffinity> session_affinity;
  std::vector<CanaryMetric> metrics;
  std::vector<CanaryWebhook> webhooks;
  std::vector<CanaryAlert> alerts;
};

struct Canary {
  std::string provider;        // empty: the control plane's default (linkerd)
  std::string metrics_server;  // empty: the control plane's default
  CanaryObjectRef target_ref;  // kind Deployment, DaemonSet or Service
  std::optional<CanaryAutoscalerRef> autoscaler_ref;
  std::optional<CanaryObjectRef> ingress_ref;  // also {{ ingress }} in metric templates
  std::optional<CanaryObjectRef> route_ref;    // also {{ route }}
  std::optional<CanaryObjectRef> upstream_ref;
  CanaryService service;
  CanaryAnalysis analysis;
  // How long a rollout may make no progress before the run fails.
  base::Duration progress_deadline = std::chrono::seconds(600);
  bool skip_analysis = false;
  bool revert_on_deletion = false;
  bool suspend = false;
};

// ---------------------------------------------------------------------------------------------
// MetricTemplate (flagger.app/v1beta1)

enum class MetricProviderType {
  kPrometheus,
  kInfluxDb,
  kDatadog,
  kExternalMetrics,
  kStackdriver,
  kCloudWatch,
  kNewRelic,
  kGraphite,
  kDynatrace,
  kKeptn,
  kSplunk,
};

struct MetricTemplate {
  MetricProviderType provider_type = MetricProviderType::kPrometheus;
  std::string address;      // empty: the provider's default
  std::string secret_name;  // credentials (e.g. Prometheus token or username/password)
  std::map<std::string, std::vector<std::string>> headers;
  std::string region;
  bool insecure_skip_verify = false;
  // A Go text/template; placeholders were checked against the known variables.
  std::string query;
  // Keys used as {{ variables.<key> }}, sorted and unique: a Canary metric that references
  // this template must supply each in templateVariables.
  std::vector<std::string> variables;
};

const char* canary_webhook_type_name(CanaryWebhookType type);
const char* metric_provider_type_name(MetricProviderType type);

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Canary& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, MetricTemplate& out);

}  // namespace trellis::resources
