#include "resources/flagger.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <set>
#include <string_view>

#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

using namespace std::chrono_literals;

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
constexpr base::Duration kMinAnalysisInterval = 10s;

// Flagger's meshes and routers (`spec.provider`). Trellis routes canary traffic itself; the
// providers whose routing model it shares are the SMI/Linkerd ones (TrafficSplit weights), the
// Gateway API ones (HTTPRoute weights) and `kubernetes` (Blue/Green without a traffic switch).
const std::vector<std::string> kProviders = {
    "apisix",  "appmesh", "appmesh:v1beta2", "contour",      "gatewayapi:v1",
    "gatewayapi:v1beta1", "gloo", "istio", "knative", "kubernetes", "kuma", "linkerd",
    "nginx",   "osm",     "skipper",         "smi:v1alpha1", "smi:v1alpha2", "smi:v1alpha3",
    "traefik"};
const std::vector<std::string> kTrellisProviders = {
    "linkerd", "smi:v1alpha1", "smi:v1alpha2", "smi:v1alpha3",
    "gatewayapi:v1", "gatewayapi:v1beta1", "kubernetes"};

constexpr std::string_view kRequestSuccessRate = "request-success-rate";
constexpr std::string_view kRequestDuration = "request-duration";

struct WebhookTypeName {
  std::string_view name;
  CanaryWebhookType type;
};
constexpr WebhookTypeName kWebhookTypes[] = {
    {"confirm-rollout", CanaryWebhookType::kConfirmRollout},
    {"pre-rollout", CanaryWebhookType::kPreRollout},
    {"rollout", CanaryWebhookType::kRollout},
    {"confirm-traffic-increase", CanaryWebhookType::kConfirmTrafficIncrease},
    {"confirm-promotion", CanaryWebhookType::kConfirmPromotion},
    {"post-rollout", CanaryWebhookType::kPostRollout},
    {"rollback", CanaryWebhookType::kRollback},
    {"event", CanaryWebhookType::kEvent},
};

struct ProviderTypeName {
  std::string_view name;
  MetricProviderType type;
  bool url_address;  // `address` is an HTTP(S) endpoint (others use cloud SDKs or the k8s API)
};
constexpr ProviderTypeName kProviderTypes[] = {
    {"prometheus", MetricProviderType::kPrometheus, true},
    {"influxdb", MetricProviderType::kInfluxDb, true},
    {"datadog", MetricProviderType::kDatadog, true},
    {"externalmetrics", MetricProviderType::kExternalMetrics, false},
    {"stackdriver", MetricProviderType::kStackdriver, false},
    {"cloudwatch", MetricProviderType::kCloudWatch, false},
    {"newrelic", MetricProviderType::kNewRelic, true},
    {"graphite", MetricProviderType::kGraphite, true},
    {"dynatrace", MetricProviderType::kDynatrace, true},
    {"keptn", MetricProviderType::kKeptn, false},
    {"splunk", MetricProviderType::kSplunk, true},
};


// Numbers in messages as written by users: 99.9, 500, 0.5.
std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// Empty when `url` is an absolute http(s) URL with a host (and a valid port, if any), else what
// is wrong. Webhooks and metrics servers are called by the controller, so a relative or
// non-HTTP URL can only fail at run time.
std::string check_http_url(std::string_view url) {
  if (url.empty()) return "must not be empty";
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "must not contain spaces or control characters";
    }
  }
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return "must be an absolute URL starting with http:// or https://";
  }
  const std::string scheme = base::to_lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return "scheme " + quote(url.substr(0, sep)) + " is not supported; use http or https";
  }
  std::string_view authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return "has an unterminated IPv6 address";
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty()) {
      if (port.front() != ':') return "has unexpected characters after the IPv6 address";
      port.remove_prefix(1);
      if (port.empty()) return "has an empty port";
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty()) return "has an empty port";
  }
  if (host.empty()) return "has no host";
  if (!port.empty()) {
    int64_t value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return "has an invalid port " + quote(port);
      value = value * 10 + (c - '0');
      if (value > 65535) break;
    }
    if (value < 1 || value > 65535) return "has an invalid port " + quote(port) + " (1-65535)";
  }
  return {};
}

// RFC 6265 cookie names are RFC 9110 tokens.
std::string check_cookie_name(std::string_view s) {
  if (s.empty()) return "must not be empty";
  static constexpr std::string_view kTchar = "!#$%&'*+-.^_`|~";
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && kTchar.find(c) == std::string_view::npos) {
      return "must contain only token characters (letters, digits and !#$%&'*+-.^_`|~)";
    }
  }
  return {};
}

// A Flagger interval: the CRD pattern ^[0-9]+(m|s) (a prefix match, so "1m30s" and "500ms"
// pass as well) followed by Go duration parsing.
std::optional<base::Duration> decode_interval(Node& n) {
  if (!n.is_scalar() || n.scalar_type() != ScalarType::kString) {
    n.error("expected a duration such as \"30s\" or \"1m\", got " + n.describe());
    return std::nullopt;
  }
  const std::string& s = n.scalar();
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits >= s.size() || (s[digits] != 'm' && s[digits] != 's')) {
    n.error("invalid interval " + quote(s) +
            ": must match ^[0-9]+(m|s), a number of seconds or minutes such as \"30s\" or \"1m\"");
    return std::nullopt;
  }
  auto d = base::parse_go_duration(s);
  if (!d) {
    n.error(d.error());
    return std::nullopt;
  }
  return *d;
}

std::string decode_name(Node& parent, std::string_view key, Req req) {
  auto n = parent.get(key, req);
  if (!n) return {};
  auto s = n->as_string();
  if (!s) return {};
  if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
    n->error("invalid name " + quote(*s) + ": " + err);
  }
  return *s;
}

std::string decode_namespace(Node& parent, std::string_view key) {
  auto n = parent.get(key);
  if (!n) return {};
  auto s = n->as_string();
  if (!s) return {};
  if (std::string err = check_dns1123_label(*s); !err.empty()) {
    n->error("invalid namespace " + quote(*s) + ": " + err);
  }
  return *s;
}

int32_t to_i32(int64_t v) { return static_cast<int32_t>(v); }

// ---- spec.targetRef, autoscalerRef, ingressRef, routeRef, upstreamRef ----

// The apiVersion each kind is served as; another one is read as this with a warning, since
// Flagger picks the controller by kind alone.
void check_ref_api_version(Node& ref, const CanaryObjectRef& out) {
  std::vector<std::string> expected;
  if (out.kind == "Deployment" || out.kind == "DaemonSet") expected = {"apps/v1"};
  if (out.kind == "Service") expected = {"v1", "serving.knative.dev/v1"};
  if (out.kind == "HorizontalPodAutoscaler") expected = {"autoscaling/v2"};
  if (out.kind == "ScaledObject") expected = {"keda.sh/v1alpha1"};
  if (out.kind == "Ingress") expected = {"networking.k8s.io/v1"};
  if (expected.empty() || out.api_version.empty()) return;
  if (std::find(expected.begin(), expected.end(), out.api_version) != expected.end()) return;
  if (out.kind == "HorizontalPodAutoscaler") {
    ref.warning_at("apiVersion", "the canary controller manages HorizontalPodAutoscalers as "
                                 "autoscaling/v2 (and clones this one as autoscaling/v2); write "
                                 "\"autoscaling/v2\"");
    return;
  }
  ref.warning_at("apiVersion", out.kind + " is not served as " + quote(out.api_version) +
                                   "; read as " + quote(expected.front()));
}

void decode_object_ref(Node& ref, const std::vector<std::string>& kinds, CanaryObjectRef& out) {
  if (auto s = ref.str("apiVersion", kRequired)) out.api_version = *s;
  if (auto s = ref.one_of("kind", kinds, kRequired)) out.kind = *s;
  out.name = decode_name(ref, "name", kRequired);
  check_ref_api_version(ref, out);
}

void decode_autoscaler_ref(Node& ref, CanaryAutoscalerRef& out) {
  CanaryObjectRef base_ref;
  decode_object_ref(ref, {"HorizontalPodAutoscaler", "ScaledObject"}, base_ref);
  out.api_version = base_ref.api_version;
  out.kind = base_ref.kind;
  out.name = base_ref.name;
  out.primary_scaler_queries = ref.string_map("primaryScalerQueries");
  if (!out.primary_scaler_queries.empty() && out.kind == "HorizontalPodAutoscaler") {
    ref.warning_at("primaryScalerQueries", "only used with a KEDA ScaledObject; a "
                                           "HorizontalPodAutoscaler ignores it");
  }
  ref.object("primaryScalerReplicas", kOptional, [&](Node& r) {
    if (auto v = r.integer("minReplicas", kOptional, 1, kMaxInt32)) {
      out.primary_min_replicas = to_i32(*v);
    }
    if (auto v = r.integer("maxReplicas", kOptional, 1, kMaxInt32)) {
      out.primary_max_replicas = to_i32(*v);
    }
    if (out.primary_min_replicas && out.primary_max_replicas &&
        *out.primary_min_replicas > *out.primary_max_replicas) {
      r.error("minReplicas " + std::to_string(*out.primary_min_replicas) +
              " is greater than maxReplicas " + std::to_string(*out.primary_max_replicas));
    }
  });
}

// ---- spec.service ----

struct IgnoredRouterField {
  std::string_view key;
  std::string_view what;
};
// Router settings of other providers. Trellis' TrafficSplit-based routing carries only
// weights, so these are accepted (the manifests are valid Flagger) and reported as ignored.
constexpr IgnoredRouterField kIgnoredRouterFields[] = {
    {"gatewayRefs", "Gateway API parentRefs"},
    {"match", "Istio/Gateway API request matches"},
    {"rewrite", "Istio/Gateway API URI rewrites"},
    {"retries", "Istio/Gateway API retries (use a ServiceProfile route or HTTPRoute for retries)"},
    {"timeout", "Istio/Gateway API timeouts (use a ServiceProfile route or HTTPRoute timeout)"},
    {"backendTimeout", "Gateway API backend timeouts"},
    {"headers", "Istio/Gateway API header manipulation"},
    {"corsPolicy", "Istio/Gateway API CORS policies"},
    {"trafficPolicy", "Istio DestinationRule traffic policies"},
    {"delegation", "Istio VirtualService delegation"},
    {"mirror", "Gateway API request mirroring"},
    {"meshName", "App Mesh mesh names"},
    {"backends", "App Mesh backends"},
};

void decode_service_metadata(Node& parent, std::string_view key, CanaryServiceMetadata& out) {
  parent.object(key, kOptional, [&](Node& m) {
    out.labels = decode_labels(m, "labels");
    out.annotations = m.string_map("annotations");
  });
}

void decode_service(Node& s, CanaryService& out) {
  if (auto n = s.get("name")) {
    if (auto v = n->as_string()) {
      out.name = *v;
      if (std::string err = check_dns1123_label(*v); !err.empty()) {
        n->error("invalid Service name " + quote(*v) + ": " + err);
      }
    }
  }
  if (auto n = s.get("port", kRequired)) {
    if (auto p = decode_port(*n, false)) out.port = p->number();
  }
  if (auto n = s.get("portName")) {
    if (auto v = n->as_string()) {
      out.port_name = *v;
      if (std::string err = check_port_name(*v); !err.empty()) {
        n->error("invalid port name " + quote(*v) + ": " + err);
      }
    }
  }
  out.target_port = PortRef{out.port};
  if (auto n = s.get("targetPort")) {
    if (auto p = decode_port(*n, true)) out.target_port = *p;
  }
  if (auto v = s.boolean("portDiscovery")) out.port_discovery = *v;
  if (auto v = s.str("appProtocol")) out.app_protocol = *v;
  if (auto v = s.one_of("trafficDistribution",
                        {"PreferClose", "PreferSameZone", "PreferSameNode"})) {
    out.traffic_distribution = *v;
  }
  if (auto v = s.boolean("headless")) out.headless = *v;
  out.hosts = s.strings("hosts");
  if (out.hosts.size() > 1) {
    s.warning_at("hosts", "only hosts[0] is used (as the TrafficSplit's service); TrafficSplit-"
                          "based routing ignores the other hosts");
  }
  decode_service_metadata(s, "apex", out.apex);
  decode_service_metadata(s, "primary", out.primary);
  decode_service_metadata(s, "canary", out.canary);
  s.object("unmanagedMetadata", kOptional, [&](Node& m) {
    out.unmanaged_labels = m.strings("labels");
    out.unmanaged_annotations = m.strings("annotations");
  });

  s.ignore({"gateways"});
  if (s.has("gateways")) {
    out.ignored_router_fields.emplace_back("gateways");
    s.warning_at("gateways", "Istio-only (VirtualService gateways): ignored by the Linkerd/SMI "
                             "provider and by Trellis' TrafficSplit-based routing");
  }
  for (const auto& f : kIgnoredRouterFields) {
    s.ignore({f.key});
    if (!s.has(f.key)) continue;
    out.ignored_router_fields.emplace_back(f.key);
    s.warning_at(f.key, std::string(f.what) + ": ignored by Trellis' TrafficSplit-based routing");
  }
}

// ---- spec.analysis.match ----

std::optional<CanaryStringMatch> decode_string_match(Node& m) {
  using Kind = CanaryStringMatch::Kind;
  static constexpr std::pair<std::string_view, Kind> kKinds[] = {
      {"exact", Kind::kExact}, {"prefix", Kind::kPrefix}, {"suffix", Kind::kSuffix},
      {"regex", Kind::kRegex}};
  std::optional<CanaryStringMatch> out;
  std::vector<std::string> given;
  for (const auto& [key, kind] : kKinds) {
    auto n = m.get(key);
    if (!n) continue;
    given.emplace_back(key);
    auto s = n->as_string();
    if (!s) continue;
    if (kind == Kind::kRegex) check_regex(*n, *s);
    out = CanaryStringMatch{kind, *s};
  }
  if (given.size() > 1) {
    m.error("set exactly one of exact, prefix, suffix or regex; got " + base::join(given, " and "));
    return std::nullopt;
  }
  if (given.empty()) m.error("set one of exact, prefix, suffix or regex");
  return out;
}

std::map<std::string, CanaryStringMatch> decode_string_match_map(Node& parent,
                                                                 std::string_view key) {
  std::map<std::string, CanaryStringMatch> out;
  parent.object(key, kOptional, [&](Node& m) {
    std::vector<std::string> keys;
    for (auto it = m.raw().begin(); it != m.raw().end(); ++it) {
      if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
    }
    for (const auto& k : keys) {
      m.object(k, kOptional, [&](Node& sm) {
        if (auto v = decode_string_match(sm)) out[k] = *v;
      });
    }
  });
  return out;
}

CanaryMatch decode_match(Node& m) {
  CanaryMatch out;
  out.headers = decode_string_match_map(m, "headers");
  out.query_params = decode_string_match_map(m, "queryParams");
  m.object("uri", kOptional, [&](Node& n) { out.uri = decode_string_match(n); });
  m.object("method", kOptional, [&](Node& n) { out.method = decode_string_match(n); });
  out.source_labels = decode_labels(m, "sourceLabels");
  // Istio HTTPMatchRequest parts no router Trellis talks to can express.
  m.ignore({"scheme", "authority", "port", "gateways", "ignoreUriCase", "withoutHeaders",
            "sourceNamespace", "name", "statPrefix"});
  return out;
}

// ---- spec.analysis.sessionAffinity ----

CanarySessionAffinity decode_session_affinity(Node& a) {
  CanarySessionAffinity out;
  if (auto n = a.get("cookieName", kRequired)) {
    if (auto s = n->as_string()) {
      out.cookie_name = *s;
      if (std::string err = check_cookie_name(*s); !err.empty()) {
        n->error("invalid cookie name " + quote(*s) + ": " + err);
      }
    }
  }
  if (auto n = a.get("primaryCookieName")) {
    if (auto s = n->as_string()) {
      out.primary_cookie_name = *s;
      if (std::string err = check_cookie_name(*s); !err.empty()) {
        n->error("invalid cookie name " + quote(*s) + ": " + err);
      } else if (*s == out.cookie_name) {
        n->error("must differ from cookieName " + quote(out.cookie_name) +
                 ": the cookie tells primary and canary sessions apart");
      }
    }
  }
  if (auto s = a.str("domain")) out.domain = *s;
  if (auto s = a.str("path")) out.path = *s;
  if (auto s = a.one_of("sameSite", {"Strict", "Lax", "None"})) out.same_site = *s;
  if (auto v = a.boolean("httpOnly")) out.http_only = *v;
  if (auto v = a.boolean("partitioned")) out.partitioned = *v;
  if (auto v = a.boolean("secure")) out.secure = *v;
  if (auto v = a.integer("maxAge", kOptional, 1, kMaxInt32)) out.max_age_seconds = to_i32(*v);
  if (out.same_site == "None" && !out.secure) {
    a.warning_at("sameSite", "browsers drop SameSite=None cookies that are not secure; set "
                             "secure: true");
  }
  if (out.partitioned && !out.secure) {
    a.warning_at("partitioned", "browsers drop partitioned cookies that are not secure; set "
                                "secure: true");
  }
  return out;
}

// ---- spec.analysis.metrics[] ----

// A builtin the name was probably meant to be: close in spelling, or naming the same thing
// ("request-latency" -> request-duration).
std::string builtin_metric_hint(const std::string& name) {
  const std::string lower = base::to_lower(name);
  for (std::string_view word : {"latency", "duration", "response-time", "p99", "p95"}) {
    if (lower.find(word) != std::string::npos) return std::string(kRequestDuration);
  }
  for (std::string_view word : {"success", "error-rate", "errors"}) {
    if (lower.find(word) != std::string::npos) return std::string(kRequestSuccessRate);
  }
  return base::closest_match(
      name, {std::string(kRequestSuccessRate), std::string(kRequestDuration)});
}

CanaryMetric decode_metric(Node& m) {
  CanaryMetric out;
  std::optional<Node> name_node = m.get("name", kRequired);
  if (name_node) {
    if (auto s = name_node->as_string()) out.name = *s;
  }
  if (out.name == kRequestSuccessRate) out.builtin = CanaryBuiltinMetric::kRequestSuccessRate;
  if (out.name == kRequestDuration) out.builtin = CanaryBuiltinMetric::kRequestDuration;

  if (auto n = m.get("interval")) {
    if (auto d = decode_interval(*n)) {
      out.interval = *d;
      out.interval_text = n->scalar();
    }
  }
  bool has_range = false;
  m.object("thresholdRange", kOptional, [&](Node& r) {
    has_range = true;
    out.min = r.number("min");
    out.max = r.number("max");
    if (out.min && out.max && *out.min > *out.max) {
      r.error("min " + format_number(*out.min) + " is greater than max " +
              format_number(*out.max) + ": no value can pass");
    }
    if (!r.has("min") && !r.has("max")) {
      r.warning("neither min nor max is set: the metric can never fail the analysis");
    }
  });
  if (auto t = m.get("threshold")) {
    if (auto v = t->as_number()) {
      if (has_range) {
        t->warning("deprecated, and ignored because thresholdRange is set; remove it");
      } else if (out.builtin == CanaryBuiltinMetric::kRequestSuccessRate) {
        out.min = *v;
        t->warning("deprecated; write thresholdRange: {min: " + format_number(*v) +
                   "} (request-success-rate fails below the threshold)");
      } else {
        out.max = *v;
        t->warning("deprecated; write thresholdRange: {max: " + format_number(*v) +
                   "} (the metric fails above the threshold)");
      }
    }
  }
  if (out.builtin == CanaryBuiltinMetric::kRequestSuccessRate && out.min && *out.min > 100) {
    m.warning_at(has_range ? "thresholdRange" : "threshold",
                 "request-success-rate is a percentage (0-100); a minimum of " +
                     format_number(*out.min) + " can never pass");
  }
  if (auto n = m.get("query")) {
    if (auto s = n->as_string()) {
      out.query = *s;
      n->warning("inline queries are deprecated; move the query to a MetricTemplate and "
                 "reference it with templateRef");
    }
  }
  m.object("templateRef", kOptional, [&](Node& r) {
    CanaryMetricTemplateRef ref;
    ref.name = decode_name(r, "name", kRequired);
    ref.ns = decode_namespace(r, "namespace");
    out.template_ref = ref;
  });
  out.template_variables = m.string_map("templateVariables");

  if (!out.template_variables.empty() && !out.template_ref) {
    m.warning_at("templateVariables", "has no effect without templateRef");
  }
  if (out.template_ref && !out.query.empty()) {
    m.warning_at("query", "both templateRef and query are set: both are evaluated and both must "
                          "pass; keep one");
  }
  if (out.builtin != CanaryBuiltinMetric::kNone && out.template_ref) {
    m.warning_at("templateRef", quote(out.name) + " is a builtin metric name: the builtin check "
                                "runs as well as the template; rename the metric to run only "
                                "the template");
  }
  if (name_node && !out.name.empty() && out.builtin == CanaryBuiltinMetric::kNone &&
      !out.template_ref && out.query.empty()) {
    std::string msg = quote(out.name) +
                      " is not a builtin metric (request-success-rate or request-duration) and "
                      "the metric has neither templateRef nor query";
    if (std::string hint = builtin_metric_hint(out.name); !hint.empty()) {
      msg += " (did you mean " + quote(hint) + "?)";
    }
    name_node->error(msg);
  }
  if (!out.min && !out.max && !m.has("thresholdRange")) {
    m.warning("no thresholdRange: the metric is queried but can never fail the analysis");
  }
  return out;
}

// ---- spec.analysis.webhooks[] ----

CanaryWebhook decode_webhook(Node& w) {
  CanaryWebhook out;
  if (auto s = w.str("name", kRequired)) out.name = *s;
  if (auto n = w.get("url", kRequired)) {
    if (auto s = n->as_string()) {
      out.url = *s;
      if (std::string err = check_http_url(*s); !err.empty()) {
        n->error("invalid URL " + quote(*s) + ": " + err);
      }
    }
  }
  if (auto n = w.get("type")) {
    if (auto s = n->as_string()) {
      std::vector<std::string> names;
      bool found = s->empty();  // "" means rollout
      for (const auto& t : kWebhookTypes) {
        names.emplace_back(t.name);
        if (t.name == *s) {
          out.type = t.type;
          found = true;
        }
      }
      if (!found) {
        std::string msg = "unsupported webhook type " + quote(*s) +
                          "; expected one of: " + base::join(names, ", ");
        if (std::string near = base::closest_match(*s, names); !near.empty()) {
          msg += " (did you mean " + quote(near) + "?)";
        }
        n->error(msg);
      }
    }
  }
  if (auto n = w.get("timeout")) {
    if (auto d = decode_interval(*n)) out.timeout = *d;
  }
  out.metadata = w.string_map("metadata");
  if (auto v = w.boolean("muteAlert")) out.mute_alert = *v;
  if (auto v = w.integer("retries", kOptional, 0, 100)) out.retries = to_i32(*v);
  if (auto v = w.boolean("disableTLS")) out.disable_tls = *v;

  const bool gate = out.type == CanaryWebhookType::kConfirmRollout ||
                    out.type == CanaryWebhookType::kConfirmTrafficIncrease ||
                    out.type == CanaryWebhookType::kConfirmPromotion;
  if (out.mute_alert && !gate) {
    w.warning_at("muteAlert", "only mutes the \"waiting for approval\" alerts of "
                              "confirm-rollout, confirm-traffic-increase and confirm-promotion "
                              "gates; it has no effect here");
  }
  if (out.disable_tls && base::starts_with(base::to_lower(out.url), "http://")) {
    w.warning_at("disableTLS", "has no effect on an http:// URL");
  }
  return out;
}

// ---- spec.analysis.alerts[] ----

CanaryAlert decode_alert(Node& a) {
  CanaryAlert out;
  if (auto s = a.str("name", kRequired)) out.name = *s;
  if (auto s = a.one_of("severity", {"info", "warn", "error"})) {
    out.severity = *s == "error"  ? CanaryAlertSeverity::kError
                   : *s == "warn" ? CanaryAlertSeverity::kWarn
                                  : CanaryAlertSeverity::kInfo;
  }
  a.object("providerRef", kRequired, [&](Node& r) {
    out.provider_name = decode_name(r, "name", kRequired);
    out.provider_ns = decode_namespace(r, "namespace");
  });
  return out;
}

// ---- spec.analysis ----

void decode_analysis(Node& a, CanaryAnalysis& out) {
  a.suggest("schedule", "use \"interval\" for the analysis period (e.g. interval: 1m)");

  if (auto n = a.get("interval", kRequired)) {
    if (auto d = decode_interval(*n)) {
      out.interval = *d;
      if (*d < kMinAnalysisInterval) {
        n->warning("interval " + base::format_go_duration(*d) +
                   " is below the 10s minimum; the analysis runs every 10s");
        out.interval = kMinAnalysisInterval;
      }
    }
  }
  if (auto v = a.integer("threshold", kRequired, 1, kMaxInt32)) out.threshold = to_i32(*v);
  std::optional<int32_t> max_weight;
  if (auto v = a.integer("maxWeight", kOptional, 0, 100)) max_weight = to_i32(*v);
  if (auto n = a.get("stepWeight")) {
    if (auto v = n->as_integer(0, 100)) {
      out.step_weight = to_i32(*v);
      if (*v == 0) n->warning("a stepWeight of 0 never shifts traffic to the canary");
    }
  }
  if (auto n = a.get("stepWeights")) {
    if (!n->is_sequence()) {
      n->error("expected a list, got " + n->describe());
    } else if (n->raw().size() == 0) {
      n->error("must list at least one weight");
    } else {
      a.each("stepWeights", kOptional, [&](Node& item) {
        if (auto v = item.as_integer(1, 100)) out.step_weights.push_back(to_i32(*v));
      });
    }
    for (size_t i = 1; i < out.step_weights.size(); ++i) {
      if (out.step_weights[i] <= out.step_weights[i - 1]) {
        n->warning("weights should be ascending: " + std::to_string(out.step_weights[i]) +
                   " at index " + std::to_string(i) + " does not exceed " +
                   std::to_string(out.step_weights[i - 1]) + " before it");
        break;
      }
    }
  }
  if (auto v = a.integer("stepWeightPromotion", kOptional, 0, 100)) {
    out.step_weight_promotion = to_i32(*v);
  }
  if (auto v = a.integer("iterations", kOptional, 1, kMaxInt32)) out.iterations = to_i32(*v);

  // The CRD's oneOf: {interval, threshold} plus exactly one way of advancing.
  std::vector<std::string> advance;
  for (const char* key : {"stepWeight", "stepWeights", "iterations"}) {
    if (a.has(key)) advance.emplace_back(key);
  }
  if (advance.empty()) {
    a.error("set exactly one of stepWeight, stepWeights (progressive canary) or iterations "
            "(Blue/Green, A/B testing); none is set");
  } else if (advance.size() > 1) {
    a.error("set exactly one of stepWeight, stepWeights or iterations; " +
            base::join(advance, " and ") + " are set");
  }

  a.each_object("match", kOptional, [&](Node& m) { out.match.push_back(decode_match(m)); });
  if (a.has("match")) {
    a.warning_at("match", "A/B request matches are ignored by Trellis' TrafficSplit-based "
                          "routing (as by Flagger's Linkerd/SMI router): during an A/B run all "
                          "traffic would go to the canary");
  }
  if (auto v = a.boolean("mirror")) out.mirror = *v;
  if (out.mirror) {
    a.warning_at("mirror", "traffic mirroring is not supported by TrafficSplit-based routing "
                           "(only Istio and Gateway API mirror); the canary gets no mirrored "
                           "traffic");
  }
  if (auto v = a.integer("mirrorWeight", kOptional, 0, 100)) {
    out.mirror_weight = to_i32(*v);
    if (!out.mirror) a.warning_at("mirrorWeight", "has no effect unless mirror is true");
  }
  if (auto v = a.integer("primaryReadyThreshold", kOptional, 0, 100)) {
    out.primary_ready_threshold = to_i32(*v);
  }
  if (auto v = a.integer("canaryReadyThreshold", kOptional, 0, 100)) {
    out.canary_ready_threshold = to_i32(*v);
  }
  a.object("sessionAffinity", kOptional, [&](Node& s) {
    out.session_affinity = decode_session_affinity(s);
    s.warning("cookie-based session affinity is implemented only by the Istio and Gateway API "
              "routers; TrafficSplit-based routing ignores it");
  });
  a.each_object("metrics", kOptional, [&](Node& m) { out.metrics.push_back(decode_metric(m)); });
  a.each_object("webhooks", kOptional,
                [&](Node& w) { out.webhooks.push_back(decode_webhook(w)); });
  a.each_object("alerts", kOptional, [&](Node& al) { out.alerts.push_back(decode_alert(al)); });

  // Strategy and the weights the controller walks through.
  if (out.iterations > 0) {
    out.strategy = out.match.empty() ? CanaryStrategy::kBlueGreen : CanaryStrategy::kABTesting;
    if (max_weight) {
      a.warning_at("maxWeight", "has no effect with iterations (Blue/Green and A/B testing "
                                "switch all traffic at promotion)");
    }
  } else {
    out.strategy = CanaryStrategy::kCanary;
  }
  out.max_weight = max_weight.value_or(100);
  if (!out.step_weights.empty()) {
    // Flagger ignores maxWeight here: the last step is the maximum.
    if (max_weight && *max_weight != std::min(100, out.step_weights.back())) {
      a.warning_at("maxWeight", "is ignored when stepWeights is set; the last step (" +
                                    std::to_string(out.step_weights.back()) +
                                    ") is the maximum weight");
    }
    out.max_weight = std::min(100, out.step_weights.back());
    for (int32_t w : out.step_weights) out.canary_weights.push_back(std::min(100, w));
  } else if (out.step_weight > 0 && out.iterations == 0) {
    // Flagger adds a step while below maxWeight, so the last step may overshoot it.
    for (int32_t w = 0; w < out.max_weight;) {
      w = std::min(100, w + out.step_weight);
      out.canary_weights.push_back(w);
    }
  }
}

// ---- spec ----

void decode_canary_spec(Node& spec, Canary& out) {
  if (auto n = spec.get("provider")) {
    if (auto s = n->as_string()) {
      out.provider = *s;
      const bool known = std::find(kProviders.begin(), kProviders.end(), *s) != kProviders.end();
      if (!known) {
        std::string msg = "unknown provider " + quote(*s) + "; expected one of: " +
                          base::join(kProviders, ", ");
        if (std::string near = base::closest_match(*s, kProviders); !near.empty()) {
          msg += " (did you mean " + quote(near) + "?)";
        }
        n->error(msg);
      } else if (std::find(kTrellisProviders.begin(), kTrellisProviders.end(), *s) ==
                 kTrellisProviders.end()) {
        n->warning("Trellis routes canary traffic itself, with a TrafficSplit as the linkerd "
                   "provider does; the " + quote(*s) + " router is not used");
      }
    }
  }
  if (auto n = spec.get("metricsServer")) {
    if (auto s = n->as_string()) {
      out.metrics_server = *s;
      if (std::string err = check_http_url(*s); !err.empty()) {
        n->error("invalid URL " + quote(*s) + ": " + err);
      }
    }
  }

  std::optional<Node> target_name;
  spec.object("targetRef", kRequired, [&](Node& ref) {
    decode_object_ref(ref, {"Deployment", "DaemonSet", "Service"}, out.target_ref);
    target_name = ref.get("name");
  });

  // Seed variant: `autoscalingRef` is a frequent misspelling of the real field.
  if (auto v = spec.accept_variant("autoscalingRef", "autoscalerRef",
                                   "\"autoscalingRef\" is not a Flagger field; read as "
                                   "\"autoscalerRef\" (rename it)")) {
    if (v->is_map()) {
      out.autoscaler_ref.emplace();
      decode_autoscaler_ref(*v, *out.autoscaler_ref);
      v->finish();
    } else {
      v->error("expected a map, got " + v->describe());
    }
  }
  spec.object("autoscalerRef", kOptional, [&](Node& ref) {
    out.autoscaler_ref.emplace();
    decode_autoscaler_ref(ref, *out.autoscaler_ref);
  });
  spec.object("ingressRef", kOptional, [&](Node& ref) {
    decode_object_ref(ref, {"Ingress"}, out.ingress_ref.emplace());
  });
  spec.object("routeRef", kOptional, [&](Node& ref) {
    CanaryObjectRef r;
    if (auto s = ref.str("apiVersion", kRequired)) r.api_version = *s;
    if (auto s = ref.str("kind", kRequired)) r.kind = *s;
    r.name = decode_name(ref, "name", kRequired);
    out.route_ref = r;
  });
  spec.object("upstreamRef", kOptional, [&](Node& ref) {
    CanaryObjectRef r;
    if (auto s = ref.str("apiVersion", kRequired)) r.api_version = *s;
    if (auto s = ref.str("kind", kRequired)) r.kind = *s;
    r.name = decode_name(ref, "name", kRequired);
    out.upstream_ref = r;
  });

  std::optional<Node> service_name;
  spec.object("service", kRequired, [&](Node& s) {
    decode_service(s, out.service);
    service_name = s.get("name");
  });
  if (out.service.name.empty()) out.service.name = out.target_ref.name;
  // The controller creates "<name>-primary" and "<name>-canary" Services next to the apex.
  const std::string& svc = out.service.name;
  if (!svc.empty() && svc.size() + std::string_view("-primary").size() > 63) {
    const std::string msg = "the generated Service " + quote(svc + "-primary") +
                            " would be longer than 63 characters; use a name of at most 55";
    if (service_name) {
      service_name->error(msg);
    } else if (target_name) {
      target_name->error(msg + " (or set service.name)");
    }
  } else if (!service_name && target_name && !svc.empty() &&
             check_dns1123_subdomain(svc).empty() && !check_dns1123_label(svc).empty()) {
    target_name->error("is used as the Service name, which " + check_dns1123_label(svc) +
                       "; set service.name");
  }

  bool via_variant = false;
  if (auto v = spec.accept_variant("canaryAnalysis", "analysis",
                                   "\"canaryAnalysis\" is deprecated; rename it to "
                                   "\"analysis\"")) {
    via_variant = true;
    if (v->is_map()) {
      decode_analysis(*v, out.analysis);
      v->finish();
    } else {
      v->error("expected a map, got " + v->describe());
    }
  }
  if (!via_variant) {
    spec.object("analysis", kRequired, [&](Node& a) { decode_analysis(a, out.analysis); });
  }

  if (auto v = spec.integer("progressDeadlineSeconds", kOptional, 1, kMaxInt32)) {
    out.progress_deadline = std::chrono::seconds(*v);
  }
  if (auto v = spec.boolean("skipAnalysis")) out.skip_analysis = *v;
  if (auto v = spec.boolean("revertOnDeletion")) out.revert_on_deletion = *v;
  if (auto v = spec.boolean("suspend")) out.suspend = *v;
}

// ---- MetricTemplate query: Go text/template placeholders ----

// The functions Flagger defines for metric templates; `variables` is a map used as
// {{ variables.<key> }}.
const std::vector<std::string> kTemplateFunctions = {"name",    "namespace", "target", "service",
                                                     "ingress", "route",     "interval"};
constexpr std::string_view kKnownPlaceholders =
    "name, namespace, target, service, ingress, route, interval, variables.<key>";

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool contains(std::initializer_list<std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

struct TemplateToken {
  enum class Kind { kIdent, kField, kVariable, kString, kNumber, kPunct };
  Kind kind;
  std::string head;                 // identifier or field name ("" for a bare ".")
  std::vector<std::string> fields;  // .a.b after the head
  bool after_paren = false;         // directly follows ")": a field of a parenthesised value
  std::string text;                 // as written
};

// Reads the identifier chain at q[i] (".a.b"); returns the field names.
std::vector<std::string> read_fields(std::string_view q, size_t& i) {
  std::vector<std::string> fields;
  while (i < q.size() && q[i] == '.' && i + 1 < q.size() && is_ident_start(q[i + 1])) {
    size_t j = i + 1;
    while (j < q.size() && is_ident_char(q[j])) ++j;
    fields.emplace_back(q.substr(i + 1, j - i - 1));
    i = j;
  }
  return fields;
}

struct TemplateCheck {
  std::vector<std::string> problems;
  std::set<std::string> variables;
};

std::string shorten(std::string_view s) {
  if (s.size() <= 80) return std::string(s);
  return std::string(s.substr(0, 77)) + "...";
}

void check_action(const std::vector<TemplateToken>& tokens, std::string_view action, int& depth,
                  TemplateCheck& out) {
  const std::string shown = shorten(action);
  if (tokens.empty()) {
    out.problems.push_back("empty template action " + shown);
    return;
  }
  const auto& first = tokens.front();
  if (first.kind == TemplateToken::Kind::kIdent) {
    if (contains({"if", "range", "with", "define", "block"}, first.head)) ++depth;
    if (first.head == "end" && --depth < 0) {
      out.problems.push_back(shown + " has no matching {{ if }}, {{ range }} or {{ with }}");
      depth = 0;
    }
  }
  for (const auto& t : tokens) {
    if (t.kind == TemplateToken::Kind::kField) {
      if (t.after_paren) continue;
      std::string hint = "use " + std::string(kKnownPlaceholders);
      if (std::find(kTemplateFunctions.begin(), kTemplateFunctions.end(), t.head) !=
              kTemplateFunctions.end() ||
          t.head == "variables") {
        hint = "write " + t.head + " without the dot";
      }
      out.problems.push_back(quote(t.text) + " in " + shown +
                             " refers to template data, which Flagger does not pass; " + hint);
      continue;
    }
    if (t.kind != TemplateToken::Kind::kIdent) continue;
    if (contains({"if", "else", "end", "range", "with", "define", "template", "block", "break",
                  "continue", "nil", "true", "false"},
                 t.head) ||
        contains({"and", "or", "not", "len", "index", "slice", "print", "printf", "println",
                  "html", "js", "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "call"},
                 t.head)) {
      continue;
    }
    if (t.head == "variables") {
      if (t.fields.size() == 1) {
        out.variables.insert(t.fields.front());
      } else if (t.fields.size() > 1) {
        out.problems.push_back(quote(t.text) + " in " + shown +
                               ": template variables are strings and have no fields; write "
                               "variables." + t.fields.front());
      } else if (tokens.size() == 1) {
        out.problems.push_back(shown + " renders the whole variables map; write "
                               "{{ variables.<key> }}");
      }
      continue;
    }
    if (std::find(kTemplateFunctions.begin(), kTemplateFunctions.end(), t.head) !=
        kTemplateFunctions.end()) {
      if (!t.fields.empty()) {
        out.problems.push_back(quote(t.text) + " in " + shown + ": " + t.head +
                               " is a string and has no fields");
      }
      continue;
    }
    std::vector<std::string> candidates = kTemplateFunctions;
    candidates.emplace_back("variables");
    std::string msg = "unknown template variable " + quote(t.head) + " in " + shown +
                      "; known: " + std::string(kKnownPlaceholders);
    if (std::string near = base::closest_match(t.head, candidates); !near.empty()) {
      msg += " (did you mean " + quote(near) + "?)";
    }
    out.problems.push_back(msg);
  }
}

// Checks the {{ ... }} actions of a Go text/template as Flagger renders metric queries: with
// the functions above and no data, and missingkey=error. Collects every problem.
TemplateCheck check_query_template(std::string_view q) {
  TemplateCheck out;
  int depth = 0;
  size_t i = 0;
  while ((i = q.find("{{", i)) != std::string_view::npos) {
    const size_t start = i;
    i += 2;
    if (i + 1 < q.size() && q[i] == '-' && std::isspace(static_cast<unsigned char>(q[i + 1]))) {
      ++i;  // "{{- " trims the text before
    }
    size_t k = i;
    while (k < q.size() && std::isspace(static_cast<unsigned char>(q[k]))) ++k;
    if (q.compare(k, 2, "/*") == 0) {
      const size_t end = q.find("*/", k + 2);
      const size_t close = end == std::string_view::npos ? end : q.find("}}", end + 2);
      if (close == std::string_view::npos) {
        out.problems.push_back("unterminated template comment " +
                               quote(shorten(q.substr(start))));
        return out;
      }
      i = close + 2;
      continue;
    }
    std::vector<TemplateToken> tokens;
    bool closed = false;
    std::string bad_char;  // the first unexpected character, reported if the action is closed
    while (i < q.size()) {
      const char c = q[i];
      if (q.compare(i, 2, "}}") == 0) {
        closed = true;
        i += 2;
        break;
      }
      if (c == '-' && q.compare(i + 1, 2, "}}") == 0) {  // " -}}" trims the text after
        ++i;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      const size_t tok_start = i;
      TemplateToken t{TemplateToken::Kind::kPunct, "", {}, false, ""};
      t.after_paren = i > 0 && q[i - 1] == ')';
      if (c == '"' || c == '`' || c == '\'') {
        t.kind = TemplateToken::Kind::kString;
        ++i;
        while (i < q.size() && q[i] != c) {
          if (c != '`' && (q[i] == '\n')) break;
          if (c != '`' && q[i] == '\\') ++i;
          ++i;
        }
        if (i >= q.size() || q[i] != c) break;  // unterminated: reported as unclosed action
        ++i;
      } else if (c == '$') {
        t.kind = TemplateToken::Kind::kVariable;
        ++i;
        while (i < q.size() && is_ident_char(q[i])) ++i;
        t.fields = read_fields(q, i);
      } else if (c == '.') {
        t.kind = TemplateToken::Kind::kField;
        ++i;
        size_t j = i;
        while (j < q.size() && is_ident_char(q[j])) ++j;
        t.head = std::string(q.substr(i, j - i));
        i = j;
        t.fields = read_fields(q, i);
      } else if (is_ident_start(c)) {
        t.kind = TemplateToken::Kind::kIdent;
        size_t j = i;
        while (j < q.size() && is_ident_char(q[j])) ++j;
        t.head = std::string(q.substr(i, j - i));
        i = j;
        t.fields = read_fields(q, i);
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '+') && i + 1 < q.size() &&
                  std::isdigit(static_cast<unsigned char>(q[i + 1])))) {
        t.kind = TemplateToken::Kind::kNumber;
        ++i;
        while (i < q.size() && (std::isalnum(static_cast<unsigned char>(q[i])) || q[i] == '.' ||
                                q[i] == '_')) {
          ++i;
        }
      } else if (c == ':' && q.compare(i, 2, ":=") == 0) {
        i += 2;
      } else if (c == '(' || c == ')' || c == '|' || c == ',' || c == '=') {
        ++i;
      } else {
        if (bad_char.empty()) bad_char = std::string(1, c);
        ++i;
        continue;
      }
      t.text = std::string(q.substr(tok_start, i - tok_start));
      tokens.push_back(std::move(t));
    }
    if (!closed) {
      out.problems.push_back("unterminated template action " + quote(shorten(q.substr(start))) +
                             " (missing \"}}\")");
      return out;
    }
    const std::string_view action = q.substr(start, i - start);
    if (!bad_char.empty()) {
      out.problems.push_back("unexpected character " + quote(bad_char) + " in template action " +
                             quote(shorten(action)));
      continue;
    }
    check_action(tokens, action, depth, out);
  }
  if (depth > 0) {
    out.problems.push_back("a {{ if }}, {{ range }} or {{ with }} block is not closed with "
                           "{{ end }}");
  }
  return out;
}

void decode_template_provider(Node& p, MetricTemplate& out) {
  std::vector<std::string> names;
  for (const auto& t : kProviderTypes) names.emplace_back(t.name);
  bool url_address = false;
  if (auto s = p.one_of("type", names, kRequired)) {
    for (const auto& t : kProviderTypes) {
      if (t.name == *s) {
        out.provider_type = t.type;
        url_address = t.url_address;
      }
    }
  }
  if (auto n = p.get("address")) {
    if (auto s = n->as_string()) {
      out.address = *s;
      if (url_address) {
        if (std::string err = check_http_url(*s); !err.empty()) {
          n->error("invalid URL " + quote(*s) + ": " + err);
        }
      }
    }
  }
  p.object("secretRef", kOptional,
           [&](Node& r) { out.secret_name = decode_name(r, "name", kRequired); });
  p.object("headers", kOptional, [&](Node& h) {
    std::vector<std::string> keys;
    for (auto it = h.raw().begin(); it != h.raw().end(); ++it) {
      if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
    }
    for (const auto& k : keys) {
      if (std::string err = check_http_header_name(k); !err.empty()) {
        h.error_at(k, "invalid header name " + quote(k) + ": " + err);
      }
      out.headers[k] = h.strings(k);
    }
  });
  if (auto s = p.str("region")) out.region = *s;
  if (auto v = p.boolean("insecureSkipVerify")) out.insecure_skip_verify = *v;
  if (out.provider_type == MetricProviderType::kCloudWatch && out.region.empty() &&
      p.has("type")) {
    p.error_at("region", "missing required field: the cloudwatch provider needs a region "
                         "(e.g. us-east-1)");
  }
}

}  // namespace

const char* canary_webhook_type_name(CanaryWebhookType type) {
  for (const auto& t : kWebhookTypes) {
    if (t.type == type) return t.name.data();
  }
  return "rollout";
}

const char* metric_provider_type_name(MetricProviderType type) {
  for (const auto& t : kProviderTypes) {
    if (t.type == type) return t.name.data();
  }
  return "prometheus";
}

void decode(Node& root, const TypeMeta&, const ObjectMeta&, Canary& out) {
  root.object("spec", kRequired, [&](Node& spec) { decode_canary_spec(spec, out); });
}

void decode(Node& root, const TypeMeta&, const ObjectMeta&, MetricTemplate& out) {
  root.object("spec", kRequired, [&](Node& spec) {
    spec.object("provider", kRequired, [&](Node& p) { decode_template_provider(p, out); });
    if (auto n = spec.get("query", kRequired)) {
      if (auto s = n->as_string()) {
        out.query = *s;
        if (base::trim(*s).empty()) n->error("must not be empty");
        TemplateCheck check = check_query_template(*s);
        for (const auto& problem : check.problems) n->error(problem);
        out.variables.assign(check.variables.begin(), check.variables.end());
      }
    }
  });
}

}  // namespace trellis::resources
