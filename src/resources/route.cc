#include "resources/route.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>

#include "base/address.h"
#include "base/strings.h"

namespace trellis::resources {
namespace {

constexpr char kPolicyGroup[] = "policy.linkerd.io";
constexpr char kGatewayGroup[] = "gateway.networking.k8s.io";

// Limits from the Gateway API CRDs (Linkerd's policy.linkerd.io CRDs use the same ones).
constexpr size_t kMaxParentRefs = 32;
constexpr size_t kMaxHostnames = 16;
constexpr size_t kMaxRules = 16;
constexpr size_t kMaxMatches = 8;
constexpr size_t kMaxHeaderMatches = 16;
constexpr size_t kMaxQueryParamMatches = 16;
constexpr size_t kMaxFilters = 16;
constexpr size_t kMaxBackendRefs = 16;
constexpr size_t kMaxHeaderModifications = 16;
constexpr size_t kMaxPathLength = 1024;
constexpr size_t kMaxHeaderValueLength = 4096;
constexpr size_t kMaxQueryValueLength = 1024;
constexpr size_t kMaxGrpcNameLength = 1024;
constexpr int64_t kMaxWeight = 1000000;

const std::vector<std::string> kMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- what each served version supports ----

struct RouteVersion {
  RouteGroup group = RouteGroup::kGateway;
  std::string api_version;           // as canonical "group/version"
  bool weights = true;               // backendRefs[].weight is part of the schema
  bool timeouts = true;              // rules[].timeouts is part of the schema
  std::string timeouts_api_version;  // the version to use for timeouts
  bool service_backend_port_required = true;
};

RouteVersion route_version(const TypeMeta& type) {
  RouteVersion v;
  v.api_version = type.api_version();
  if (type.group == kPolicyGroup) {
    v.group = RouteGroup::kPolicy;
    // v1beta2 added backend weights; v1beta3 added timeouts (linkerd.md §4.8).
    v.weights = type.version != "v1alpha1" && type.version != "v1beta1";
    v.timeouts = type.version == "v1beta3";
    v.timeouts_api_version = std::string(kPolicyGroup) + "/v1beta3";
    // Linkerd's CRD does not require backend ports; an unset port means the parent's port.
    v.service_backend_port_required = false;
  } else {
    v.group = RouteGroup::kGateway;
    v.timeouts = type.version == "v1";
    v.timeouts_api_version = std::string(kGatewayGroup) + "/v1";
  }
  return v;
}

// ---- small grammar checks (empty string: valid) ----

bool is_control(char c) { return c == '\r' || c == '\n' || c == '\0'; }

// Header values travel verbatim to the peer: CR/LF would allow header injection.
std::string check_header_value(std::string_view s, size_t max_length) {
  if (s.empty()) return "must not be empty";
  if (s.size() > max_length)
    return "must be no more than " + std::to_string(max_length) + " characters";
  if (std::any_of(s.begin(), s.end(), is_control))
    return "must not contain CR, LF or NUL characters";
  return {};
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// RFC 3986 path characters (pchar and "/"), percent-escapes included.
std::string check_path_characters(std::string_view s) {
  static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isalnum(static_cast<unsigned char>(c)) || kAllowed.find(c) != std::string_view::npos) {
      continue;
    }
    if (c == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      i += 2;
      continue;
    }
    return "must contain only URL path characters (letters, digits, -._~!$&'()*+,;=:@/ and %XX "
           "escapes)";
  }
  return {};
}

// The Exact/PathPrefix path rules of Gateway API: an absolute, normalized path, so that a
// match cannot be bypassed by an equivalent spelling of the same path.
std::string check_match_path(std::string_view s) {
  if (s.empty() || s.front() != '/') return "must be an absolute path starting with \"/\"";
  if (s.size() > kMaxPathLength) {
    return "must be no more than " + std::to_string(kMaxPathLength) + " characters";
  }
  if (std::string err = check_path_characters(s); !err.empty()) return err;
  if (s.find("//") != std::string_view::npos) return "must not contain \"//\"";
  if (s.find("/./") != std::string_view::npos || s.find("/../") != std::string_view::npos ||
      base::ends_with(s, "/.") || base::ends_with(s, "/..")) {
    return "must not contain \".\" or \"..\" segments";
  }
  if (s.find("%2f") != std::string_view::npos || s.find("%2F") != std::string_view::npos) {
    return "must not contain an encoded \"/\" (%2F)";
  }
  return {};
}

std::string check_replacement_path(std::string_view s, bool allow_empty) {
  if (s.empty() && allow_empty) return {};
  if (s.empty() || s.front() != '/') return "must be an absolute path starting with \"/\"";
  if (s.size() > kMaxPathLength) {
    return "must be no more than " + std::to_string(kMaxPathLength) + " characters";
  }
  return check_path_characters(s);
}

// Gateway API Group: empty (core) or a DNS subdomain.
std::string check_group(std::string_view s) {
  if (s.empty()) return {};
  return check_dns1123_subdomain(s);
}

// Gateway API Kind: ^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$, at most 63 characters.
std::string check_kind(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 63) return "must be no more than 63 characters";
  const auto alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alpha(s.front()) || !alnum(s.back()) ||
      !std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; })) {
    return "must start with a letter and contain only letters, digits and '-' (e.g. 'Service')";
  }
  return {};
}

// A fully-qualified protobuf service name, e.g. "helloworld.Greeter" (GRPCRoute Exact match).
std::string check_grpc_service(std::string_view s) {
  std::string_view rest = s;
  if (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
  for (auto part : base::split(rest, '.')) {
    const bool ok =
        !part.empty() &&
        (std::isalpha(static_cast<unsigned char>(part.front())) || part.front() == '_') &&
        std::all_of(part.begin(), part.end(),
                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!ok) {
      return "expected a fully-qualified protobuf service name such as \"helloworld.Greeter\"";
    }
  }
  return {};
}

std::string check_grpc_method(std::string_view s) {
  const bool ok =
      !s.empty() && (std::isalpha(static_cast<unsigned char>(s.front())) || s.front() == '_') &&
      std::all_of(s.begin(), s.end(),
                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  if (!ok) {
    return "expected a method name such as \"SayHello\" (letters, digits and '_', not starting "
           "with a digit)";
  }
  return {};
}

// Gateway API durations (GEP-2257): one to four <1-5 digits><h|m|s|ms> parts, e.g. "1m30s".
// Stricter than Go's syntax: no fractions, signs or µs.
bool is_gateway_duration(std::string_view s) {
  size_t i = 0;
  int parts = 0;
  while (i < s.size()) {
    size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 5) return false;
    if (s.substr(i, 2) == "ms") {
      i += 2;
    } else if (i < s.size() && (s[i] == 'h' || s[i] == 'm' || s[i] == 's')) {
      ++i;
    } else {
      return false;
    }
    ++parts;
  }
  return parts >= 1 && parts <= 4;
}

void check_max(Node& parent, std::string_view key, size_t count, size_t max) {
  if (count > max) {
    parent.error_at(
        key, "must have at most " + std::to_string(max) + " items, got " + std::to_string(count));
  }
}

// Reads `key` as a string and reports `check`'s complaint as `invalid <what> "value": ...`.
std::optional<std::string> checked_string(
    Node& parent, std::string_view key, Req req, std::string_view what,
    const std::function<std::string(std::string_view)>& check) {
  auto n = parent.get(key, req);
  if (!n) return std::nullopt;
  auto s = n->as_string();
  if (!s) return std::nullopt;
  if (std::string err = check(*s); !err.empty()) {
    n->error("invalid " + std::string(what) + " " + q(*s) + ": " + err);
    return std::nullopt;
  }
  return s;
}

std::optional<int32_t> port_number(Node& parent, std::string_view key) {
  auto n = parent.get(key);
  if (!n) return std::nullopt;
  auto p = decode_port(*n, /*allow_name=*/false);
  if (!p) return std::nullopt;
  return p->number();
}

std::optional<base::Duration> gateway_duration(Node& parent, std::string_view key) {
  auto n = parent.get(key);
  if (!n) return std::nullopt;
  // Checked before Go's syntax so that the message names the units Gateway API accepts.
  if (n->is_scalar() && !n->is_null() && n->scalar_type() != ScalarType::kBool &&
      !is_gateway_duration(n->scalar())) {
    n->error("invalid duration " + q(n->scalar()) +
             ": Gateway API durations are one to four parts of up to 5 digits with a unit h, m, "
             "s or ms (e.g. \"10s\", \"500ms\", \"1m30s\")");
    return std::nullopt;
  }
  return n->as_duration();
}

// ---- annotations ----

constexpr std::string_view kRetryPrefix = "retry.linkerd.io/";
constexpr std::string_view kTimeoutPrefix = "timeout.linkerd.io/";
constexpr char kRetryHttp[] = "retry.linkerd.io/http";
constexpr char kRetryGrpc[] = "retry.linkerd.io/grpc";
constexpr char kRetryLimit[] = "retry.linkerd.io/limit";
constexpr char kRetryTimeout[] = "retry.linkerd.io/timeout";
constexpr char kTimeoutRequest[] = "timeout.linkerd.io/request";
constexpr char kTimeoutResponse[] = "timeout.linkerd.io/response";
constexpr char kTimeoutIdle[] = "timeout.linkerd.io/idle";

// Reports on metadata.annotations["key"]. The location is looked up in the raw YAML rather
// than through Nodes: the registry has already decoded metadata, and a second Node over it
// would repeat its diagnostics (duplicate keys, wrong types).
class AnnotationReporter {
 public:
  explicit AnnotationReporter(Node& root) : root_(root) {}

  void error(std::string_view key, std::string message) const {
    DecodeContext& ctx = root_.context();
    ctx.diags.error(location(key), ctx.object, path(key), std::move(message));
  }
  void warning(std::string_view key, std::string message) const {
    DecodeContext& ctx = root_.context();
    ctx.diags.warning(location(key), ctx.object, path(key), std::move(message));
  }

 private:
  static std::string path(std::string_view key) {
    return join_path(join_path("metadata", "annotations"), key);
  }
  static std::optional<YAML::Node> child(const YAML::Node& map, std::string_view key) {
    if (!map.IsMap()) return std::nullopt;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
    }
    return std::nullopt;
  }
  Location location(std::string_view key) const {
    if (auto md = child(root_.raw(), "metadata")) {
      if (auto ann = child(*md, "annotations")) {
        if (auto value = child(*ann, key)) return root_.context().location(value->Mark());
        return root_.context().location(ann->Mark());
      }
    }
    return root_.location();
  }

  Node& root_;
};

std::optional<base::Duration> annotation_duration(const AnnotationReporter& report,
                                                  std::string_view key, const std::string& value) {
  auto d = base::parse_go_duration(base::trim(value));
  if (!d) {
    report.error(key, d.error());
    return std::nullopt;
  }
  if (d->count() < 0) {
    report.error(key, "must not be negative, got " + q(value));
    return std::nullopt;
  }
  return *d;
}

std::optional<int> parse_status_code(std::string_view s, const AnnotationReporter& report,
                                     std::string_view key, bool& reported) {
  if (s.empty() || s.size() > 6 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int code = std::stoi(std::string(s));
  if (code < 100 || code > 599) {
    report.error(key, "status code " + std::to_string(code) + " is out of range [100, 599]");
    reported = true;
    return std::nullopt;
  }
  return code;
}

std::vector<StatusRange> parse_http_conditions(const AnnotationReporter& report,
                                               const std::string& value) {
  std::vector<StatusRange> out;
  if (base::trim(value).empty()) {
    report.error(kRetryHttp,
                 "must list at least one condition: 5xx, gateway-error, a status code "
                 "such as 503 or a range such as 500-504");
    return out;
  }
  for (auto raw : base::split(value, ',')) {
    const std::string_view item = base::trim(raw);
    if (item.empty()) {
      report.error(kRetryHttp, "empty entry in the list (check for a stray comma)");
      continue;
    }
    const std::string lower = base::to_lower(item);
    if (lower == "5xx") {
      out.push_back({500, 599});
      continue;
    }
    if (lower == "gateway-error") {
      out.push_back({502, 504});
      continue;
    }
    bool reported = false;
    const size_t dash = item.find('-');
    std::optional<int> lo, hi;
    if (dash == std::string_view::npos) {
      lo = hi = parse_status_code(item, report, kRetryHttp, reported);
    } else {
      lo = parse_status_code(item.substr(0, dash), report, kRetryHttp, reported);
      hi = parse_status_code(item.substr(dash + 1), report, kRetryHttp, reported);
    }
    if (reported) continue;
    if (!lo || !hi) {
      report.error(kRetryHttp, "invalid retry condition " + q(item) +
                                   ": expected 5xx, gateway-error, a status code such as 503 or "
                                   "a range such as 500-504");
      continue;
    }
    if (*lo > *hi) {
      report.error(kRetryHttp, "invalid status range " + q(item) +
                                   ": the first code must not be greater than the second");
      continue;
    }
    out.push_back({*lo, *hi});
  }
  return out;
}

std::vector<GrpcRetryCondition> parse_grpc_conditions(const AnnotationReporter& report,
                                                      const std::string& value) {
  static const std::vector<std::string> kNames = {"cancelled", "deadline-exceeded", "internal",
                                                  "resource-exhausted", "unavailable"};
  static const GrpcRetryCondition kCodes[] = {
      GrpcRetryCondition::kCancelled, GrpcRetryCondition::kDeadlineExceeded,
      GrpcRetryCondition::kInternal, GrpcRetryCondition::kResourceExhausted,
      GrpcRetryCondition::kUnavailable};
  std::vector<GrpcRetryCondition> out;
  if (base::trim(value).empty()) {
    report.error(kRetryGrpc, "must list at least one of: " + base::join(kNames, ", "));
    return out;
  }
  for (auto raw : base::split(value, ',')) {
    const std::string_view item = base::trim(raw);
    if (item.empty()) {
      report.error(kRetryGrpc, "empty entry in the list (check for a stray comma)");
      continue;
    }
    auto it = std::find(kNames.begin(), kNames.end(), item);
    if (it != kNames.end()) {
      out.push_back(kCodes[it - kNames.begin()]);
      continue;
    }
    std::string msg = "unsupported gRPC retry condition " + q(item) +
                      "; expected one of: " + base::join(kNames, ", ");
    if (std::string near = base::closest_match(item, kNames); !near.empty()) {
      msg += " (did you mean " + q(near) + "?)";
    }
    report.error(kRetryGrpc, msg);
  }
  return out;
}

void warn_unknown_annotation(const AnnotationReporter& report, const std::string& key,
                             const std::vector<std::string>& known) {
  std::string msg = "unknown annotation " + q(key) + " has no effect";
  if (std::string near = base::closest_match(key, known); !near.empty()) {
    msg += " (did you mean " + q(near) + "?)";
  }
  report.warning(key, msg);
}

// ---- routes ----

enum class FilterScope { kHttpRule, kHttpBackend, kGrpcRule, kGrpcBackend };

bool is_grpc(FilterScope s) {
  return s == FilterScope::kGrpcRule || s == FilterScope::kGrpcBackend;
}
bool is_backend(FilterScope s) {
  return s == FilterScope::kHttpBackend || s == FilterScope::kGrpcBackend;
}

struct FilterKind {
  std::string_view type;  // value of `type`
  std::string_view key;   // the field holding its configuration
};
constexpr FilterKind kFilterKinds[] = {
    {"RequestHeaderModifier", "requestHeaderModifier"},
    {"ResponseHeaderModifier", "responseHeaderModifier"},
    {"RequestMirror", "requestMirror"},
    {"RequestRedirect", "requestRedirect"},
    {"URLRewrite", "urlRewrite"},
    {"ExtensionRef", "extensionRef"},
};

// Everything a rule's parts need to know about their surroundings.
struct RuleContext {
  const RouteVersion& version;
  // The rule's matches (already decoded), for the ReplacePrefixMatch rule.
  const std::vector<HttpRouteMatch>* http_matches = nullptr;
};

std::string normalize_group(std::string group) { return group == "core" ? std::string() : group; }

BackendObjectRef decode_backend_object_ref(Node& n, const RouteVersion& version,
                                           std::string_view what) {
  BackendObjectRef ref;
  if (auto g = checked_string(n, "group", kOptional, "group", check_group)) {
    ref.group = normalize_group(*g);
  }
  if (auto k = checked_string(n, "kind", kOptional, "kind", check_kind)) ref.kind = *k;
  const bool service = ref.is_service();
  if (auto name = checked_string(n, "name", kRequired, "name", [&](std::string_view s) {
        return service ? check_dns1123_label(s) : check_dns1123_subdomain(s);
      })) {
    ref.name = *name;
  }
  if (auto ns = checked_string(n, "namespace", kOptional, "namespace", check_dns1123_label)) {
    ref.ns = *ns;
  }
  ref.port = port_number(n, "port");
  if (service && !ref.port && version.service_backend_port_required && !n.has("port")) {
    n.error_at("port",
               "missing required field (a " + std::string(what) + " of kind Service needs a port)");
  }
  const bool egress = ref.group == kPolicyGroup && ref.kind == "EgressNetwork";
  if (!service && !egress && ref.kind == "Service") {
    n.warning_at("group", "a " + std::string(what) + " of kind Service needs group \"\" or " +
                              "\"core\", not " + q(ref.group) +
                              "; it refers to no Service, so requests for this backend fail");
  } else if (!service && !egress) {
    n.warning_at("kind", std::string(what) + " kind " + q(ref.kind) + " (group " + q(ref.group) +
                             ") is not supported: Trellis sends requests only to "
                             "Services (group core) and EgressNetworks (group policy.linkerd.io), "
                             "so requests for this backend fail");
  }
  n.suggest("serviceName", "use \"name\" (and \"port\")");
  n.suggest("servicePort", "use \"port\"");
  return ref;
}

HeaderModifier decode_header_modifier(Node& n) {
  HeaderModifier out;
  for (const char* list : {"set", "add"}) {
    std::map<std::string, size_t> seen;
    std::vector<HeaderValue>& values = std::string_view(list) == "set" ? out.set : out.add;
    size_t i = 0;
    const size_t count = n.each_object(list, kOptional, [&](Node& item) {
      HeaderValue hv;
      if (auto name = item.get("name", kRequired)) {
        if (auto s = name->as_string()) {
          hv.name = *s;
          if (std::string err = check_http_header_name(*s); !err.empty()) {
            name->error("invalid header name " + q(*s) + ": " + err);
          } else if (auto [it, fresh] = seen.emplace(base::to_lower(*s), i); !fresh) {
            name->error("duplicate header " + q(*s) + " (also at " + list + "[" +
                        std::to_string(it->second) + "]); header names are case-insensitive");
          }
        }
      }
      if (auto value = item.get("value", kRequired)) {
        if (auto s = value->as_string()) {
          hv.value = *s;
          if (std::string err = check_header_value(*s, kMaxHeaderValueLength); !err.empty()) {
            value->error(err);
          }
        }
      }
      values.push_back(std::move(hv));
      ++i;
    });
    check_max(n, list, count, kMaxHeaderModifications);
  }
  std::map<std::string, size_t> seen;
  size_t i = 0;
  const size_t count = n.each("remove", kOptional, [&](Node& item) {
    if (auto s = item.as_string()) {
      if (std::string err = check_http_header_name(*s); !err.empty()) {
        item.error("invalid header name " + q(*s) + ": " + err);
      } else if (auto [it, fresh] = seen.emplace(base::to_lower(*s), i); !fresh) {
        item.error("duplicate header " + q(*s) + " (also at remove[" + std::to_string(it->second) +
                   "])");
      } else {
        out.remove.push_back(*s);
      }
    }
    ++i;
  });
  check_max(n, "remove", count, kMaxHeaderModifications);
  if (out.set.empty() && out.add.empty() && out.remove.empty() && count == 0) {
    n.warning("has no effect: set, add and remove are all empty");
  }
  return out;
}

std::optional<PathModifier> decode_path_modifier(Node& n, const RuleContext& rule,
                                                 std::string_view filter_type) {
  PathModifier out;
  auto type = n.one_of("type", {"ReplaceFullPath", "ReplacePrefixMatch"}, kRequired);
  auto full = n.get("replaceFullPath");
  auto prefix = n.get("replacePrefixMatch");
  if (!type) return std::nullopt;
  const bool is_full = *type == "ReplaceFullPath";
  out.type = is_full ? PathModifierType::kReplaceFullPath : PathModifierType::kReplacePrefixMatch;
  const char* own_key = is_full ? "replaceFullPath" : "replacePrefixMatch";
  const char* other_key = is_full ? "replacePrefixMatch" : "replaceFullPath";
  if (is_full ? prefix.has_value() : full.has_value()) {
    n.error_at(other_key, "must not be set when type is " + *type);
  }
  auto& value = is_full ? full : prefix;
  if (!value) {
    n.error_at(own_key, "missing required field (type is " + *type + ")");
    return std::nullopt;
  }
  auto s = value->as_string();
  if (!s) return std::nullopt;
  if (std::string err = check_replacement_path(*s, !is_full); !err.empty()) {
    value->error("invalid path " + q(*s) + ": " + err);
    return std::nullopt;
  }
  out.value = *s;
  if (!is_full && rule.http_matches != nullptr) {
    const auto& m = *rule.http_matches;
    if (m.size() != 1 || m[0].path.type != PathMatchType::kPathPrefix) {
      n.error_at("type", "ReplacePrefixMatch in a " + std::string(filter_type) +
                             " filter needs the rule to have exactly one match, with a PathPrefix "
                             "path (it replaces the matched prefix)");
    }
  }
  return out;
}

RequestRedirect decode_redirect(Node& n, const RuleContext& rule) {
  RequestRedirect out;
  if (auto s = n.one_of("scheme", {"http", "https"})) out.scheme = *s;
  if (auto h = checked_string(n, "hostname", kOptional, "hostname", [](std::string_view s) {
        return check_route_hostname(s, /*allow_wildcard=*/false);
      })) {
    out.hostname = *h;
  }
  n.object("path", kOptional,
           [&](Node& p) { out.path = decode_path_modifier(p, rule, "RequestRedirect"); });
  out.port = port_number(n, "port");
  if (auto code = n.get("statusCode")) {
    if (auto c = code->as_integer(std::numeric_limits<int64_t>::min(),
                                  std::numeric_limits<int64_t>::max())) {
      if (*c == 301 || *c == 302) {
        out.status_code = static_cast<int>(*c);
      } else {
        code->error("unsupported status code " + std::to_string(*c) + "; expected 301 or 302");
      }
    }
  }
  return out;
}

UrlRewrite decode_rewrite(Node& n, const RuleContext& rule) {
  UrlRewrite out;
  if (auto h = checked_string(n, "hostname", kOptional, "hostname", [](std::string_view s) {
        return check_route_hostname(s, /*allow_wildcard=*/false);
      })) {
    out.hostname = *h;
  }
  n.object("path", kOptional,
           [&](Node& p) { out.path = decode_path_modifier(p, rule, "URLRewrite"); });
  if (!n.has("hostname") && !n.has("path")) {
    n.warning("has no effect: neither hostname nor path is set");
  }
  return out;
}

RequestMirror decode_mirror(Node& n, const RuleContext& rule) {
  RequestMirror out;
  n.object("backendRef", kRequired, [&](Node& b) {
    out.backend = decode_backend_object_ref(b, rule.version, "mirror backendRef");
  });
  if (auto p = n.integer("percent", kOptional, 0, 100)) {
    out.numerator = *p;
    out.denominator = 100;
  }
  n.object("fraction", kOptional, [&](Node& f) {
    auto num = f.integer("numerator", kRequired, 0, std::numeric_limits<int32_t>::max());
    auto den = f.integer("denominator", kOptional, 1, std::numeric_limits<int32_t>::max());
    if (f.has("denominator") && !den) return;  // reported; nothing to compare against
    const int64_t d = den.value_or(100);
    if (num && *num > d) {
      f.error_at("numerator",
                 "must not be greater than the denominator (" + std::to_string(d) + ")");
    } else if (num) {
      out.numerator = *num;
      out.denominator = d;
    }
    if (n.has("percent")) n.error_at("fraction", "set either percent or fraction, not both");
  });
  return out;
}

// Decodes one filter; nullopt when it cannot be used (bad type, unsupported here).
// `type_out` receives the filter's type when it is valid.
std::optional<RouteFilter> decode_filter(Node& f, FilterScope scope, const RuleContext& rule,
                                         std::string& type_out) {
  std::vector<std::string> allowed;
  for (const auto& k : kFilterKinds) {
    if (is_grpc(scope) && (k.type == "RequestRedirect" || k.type == "URLRewrite")) continue;
    allowed.emplace_back(k.type);
  }
  auto type = f.one_of("type", allowed, kRequired);
  if (type) type_out = *type;
  std::string_view expected_key;
  if (type) {
    for (const auto& k : kFilterKinds) {
      if (k.type == *type) expected_key = k.key;
    }
  }
  RouteFilter out;
  bool usable = type.has_value();
  if (type && *type == "ExtensionRef") {
    f.error_at("type", "ExtensionRef filters are not supported by Trellis; remove this filter");
    usable = false;
  }
  if (type && *type == "RequestRedirect" && is_backend(scope)) {
    f.error_at("type",
               "RequestRedirect is not allowed in backendRefs[].filters: a redirect answers "
               "the request without reaching a backend (put it in the rule's filters)");
    usable = false;
  }
  for (const auto& k : kFilterKinds) {
    if (is_grpc(scope) && (k.type == "RequestRedirect" || k.type == "URLRewrite")) continue;
    auto config = f.get(k.key);
    if (!config) continue;
    if (type && k.key != expected_key) {
      f.error_at(k.key, "must not be set when type is " + *type +
                            " (a filter has exactly one type; use a separate filter of type " +
                            std::string(k.type) + ")");
      continue;
    }
    if (k.type == "ExtensionRef") continue;  // reported above; content not interpreted
    if (!config->is_map()) {
      config->error("expected a map, got " + config->describe());
      usable = false;
      continue;
    }
    if (k.type == "RequestHeaderModifier" || k.type == "ResponseHeaderModifier") {
      out.type = k.type == "RequestHeaderModifier" ? FilterType::kRequestHeaderModifier
                                                   : FilterType::kResponseHeaderModifier;
      out.header_modifier = decode_header_modifier(*config);
    } else if (k.type == "RequestMirror") {
      out.type = FilterType::kRequestMirror;
      out.mirror = decode_mirror(*config, rule);
    } else if (k.type == "RequestRedirect") {
      out.type = FilterType::kRequestRedirect;
      out.redirect = decode_redirect(*config, rule);
    } else if (k.type == "URLRewrite") {
      out.type = FilterType::kUrlRewrite;
      out.rewrite = decode_rewrite(*config, rule);
    }
    config->finish();
  }
  if (type && *type != "ExtensionRef" && !f.has(expected_key)) {
    f.error_at(expected_key, "missing required field (type is " + *type + ")");
    usable = false;
  }
  if (!usable) return std::nullopt;
  return out;
}

// A filter list (rules[].filters or backendRefs[].filters) with the Gateway API rules across
// filters: header modifiers, redirects and rewrites at most once each, never both a redirect
// and a rewrite.
std::vector<RouteFilter> decode_filters(Node& parent, FilterScope scope, const RuleContext& rule) {
  std::vector<RouteFilter> out;
  std::map<std::string, size_t> once;  // type -> first index
  size_t i = 0;
  const size_t count = parent.each_object("filters", kOptional, [&](Node& f) {
    const size_t index = i++;
    std::string type;
    auto filter = decode_filter(f, scope, rule, type);
    if (type == "RequestHeaderModifier" || type == "ResponseHeaderModifier" ||
        type == "RequestRedirect" || type == "URLRewrite") {
      if (auto [it, fresh] = once.emplace(type, index); !fresh) {
        f.error_at("type", type + " may appear only once in a filter list (also at filters[" +
                               std::to_string(it->second) + "])");
        return;
      }
      const std::string other = type == "RequestRedirect" ? "URLRewrite"
                                : type == "URLRewrite"    ? "RequestRedirect"
                                                          : "";
      if (!other.empty()) {
        if (auto it = once.find(other); it != once.end()) {
          f.error_at("type", type + " cannot be combined with " + other + " (at filters[" +
                                 std::to_string(it->second) + "]) in one filter list");
          return;
        }
      }
    }
    if (filter) out.push_back(std::move(*filter));
  });
  check_max(parent, "filters", count, kMaxFilters);
  return out;
}

std::vector<BackendRef> decode_backend_refs(Node& rule_node, FilterScope backend_scope,
                                            const RuleContext& rule, bool inbound_only) {
  std::vector<BackendRef> out;
  const size_t count = rule_node.each_object("backendRefs", kOptional, [&](Node& b) {
    BackendRef ref;
    ref.ref = decode_backend_object_ref(b, rule.version, "backendRef");
    if (auto w = b.get("weight")) {
      if (!rule.version.weights) {
        w->warning("ignored: " + rule.version.api_version +
                   " backendRefs have no weight (added in policy.linkerd.io/v1beta2), so every "
                   "backend gets weight 1");
      } else if (auto v = w->as_integer(0, kMaxWeight)) {
        ref.weight = *v;
      }
    }
    ref.filters = decode_filters(b, backend_scope, rule);
    out.push_back(std::move(ref));
  });
  check_max(rule_node, "backendRefs", count, kMaxBackendRefs);
  if (!out.empty() &&
      std::all_of(out.begin(), out.end(), [](const BackendRef& r) { return r.weight == 0; })) {
    rule_node.error_at("backendRefs",
                       "every backendRef has weight 0, so the rule cannot send "
                       "requests anywhere; give at least one backend a positive "
                       "weight");
  }
  if (!out.empty() && inbound_only) {
    rule_node.warning_at("backendRefs",
                         "has no effect: every parentRef is a Server, and inbound "
                         "routes deliver requests to the Server's workload");
  }
  return out;
}

std::vector<ParentRef> decode_parent_refs(Node& spec, RouteGroup group) {
  std::vector<ParentRef> out;
  std::map<std::string, size_t> seen;
  size_t i = 0;
  const size_t count = spec.each_object("parentRefs", kOptional, [&](Node& p) {
    const size_t index = i++;
    ParentRef ref;
    const std::string default_group = group == RouteGroup::kPolicy ? kPolicyGroup : kGatewayGroup;
    ref.group = default_group;
    ref.kind = "Gateway";
    const bool group_written = p.has("group");
    if (auto g = checked_string(p, "group", kOptional, "group", check_group)) ref.group = *g;
    ref.group = normalize_group(ref.group);
    if (auto k = checked_string(p, "kind", kOptional, "kind", check_kind)) ref.kind = *k;
    const bool service_kind = ref.kind == "Service";
    if (auto name = checked_string(p, "name", kRequired, "name", [&](std::string_view s) {
          return service_kind ? check_dns1123_label(s) : check_dns1123_subdomain(s);
        })) {
      ref.name = *name;
    }
    if (auto ns = checked_string(p, "namespace", kOptional, "namespace", check_dns1123_label)) {
      ref.ns = *ns;
    }
    ref.port = port_number(p, "port");
    if (auto s =
            checked_string(p, "sectionName", kOptional, "sectionName", check_dns1123_subdomain)) {
      ref.section_name = *s;
    }

    // The parents Trellis attaches routes to (linkerd.md §4.8), and the group each needs.
    std::string needed_group;
    if (ref.kind == "Service") {
      needed_group = "core";
      if (ref.group.empty()) ref.parent_kind = ParentKind::kService;
    } else if (ref.kind == "Server" || ref.kind == "EgressNetwork") {
      needed_group = kPolicyGroup;
      if (ref.group == kPolicyGroup) {
        ref.parent_kind = ref.kind == "Server" ? ParentKind::kServer : ParentKind::kEgressNetwork;
      }
    }
    if (ref.parent_kind == ParentKind::kOther && !needed_group.empty()) {
      const std::string msg = "a " + ref.kind + " parent needs group: " + needed_group;
      if (group_written) {
        p.warning_at("group", msg + ", not " + q(ref.group) + "; this parentRef is ignored");
      } else {
        p.warning(msg + " (group defaults to " + q(default_group) +
                  " when omitted); this parentRef is ignored");
      }
    } else if (ref.parent_kind == ParentKind::kOther) {
      p.warning("parentRefs of kind " + ref.kind +
                (ref.group.empty() ? std::string() : " (group " + ref.group + ")") +
                " are ignored: Trellis attaches routes to a Service (group core), or to a Server "
                "or an EgressNetwork (group policy.linkerd.io)");
    }
    if (ref.parent_kind == ParentKind::kEgressNetwork && !ref.port && !p.has("port")) {
      p.error_at("port", "missing required field (an EgressNetwork parent needs a port)");
    }

    const std::string key = ref.group + "/" + ref.kind + "/" + ref.ns + "/" + ref.name + "/" +
                            ref.section_name + "/" + (ref.port ? std::to_string(*ref.port) : "");
    if (auto [it, fresh] = seen.emplace(key, index); !fresh) {
      p.error("duplicate parentRef (same as parentRefs[" + std::to_string(it->second) +
              "]); give each reference to the same parent a different port or sectionName");
    }
    out.push_back(std::move(ref));
  });
  check_max(spec, "parentRefs", count, kMaxParentRefs);
  if (count == 0) {
    spec.warning_at("parentRefs",
                    "the route has no parentRefs, so it is attached to nothing and "
                    "has no effect");
  }
  return out;
}

std::vector<std::string> decode_hostnames(Node& spec) {
  std::vector<std::string> out;
  const size_t count = spec.each("hostnames", kOptional, [&](Node& item) {
    auto s = item.as_string();
    if (!s) return;
    if (std::string err = check_route_hostname(*s, /*allow_wildcard=*/true); !err.empty()) {
      item.error("invalid hostname " + q(*s) + ": " + err);
      return;
    }
    out.push_back(*s);
  });
  check_max(spec, "hostnames", count, kMaxHostnames);
  return out;
}

// headers[] / queryParams[] of a match.
std::vector<ValueMatch> decode_value_matches(Node& match, std::string_view key, bool header,
                                             size_t max) {
  std::vector<ValueMatch> out;
  std::map<std::string, size_t> seen;
  size_t i = 0;
  const size_t count = match.each_object(key, kOptional, [&](Node& n) {
    const size_t index = i++;
    ValueMatch vm;
    if (auto name = n.get("name", kRequired)) {
      if (auto s = name->as_string()) {
        vm.name = *s;
        if (std::string err = check_http_header_name(*s); !err.empty()) {
          name->error("invalid " + std::string(header ? "header" : "query parameter") + " name " +
                      q(*s) + ": " + err);
        } else if (auto [it, fresh] = seen.emplace(header ? base::to_lower(*s) : *s, index);
                   !fresh) {
          name->error("duplicate " + std::string(header ? "header" : "query parameter") + " " +
                      q(*s) + " (also at " + std::string(key) + "[" + std::to_string(it->second) +
                      "]); each may be matched only once per match" +
                      (header ? "; header names are case-insensitive" : ""));
        }
      }
    }
    auto t = n.one_of("type", {"Exact", "RegularExpression"});
    if (t) vm.type = *t == "Exact" ? ValueMatchType::kExact : ValueMatchType::kRegularExpression;
    // With a bad type, vm.type stays Exact: only the checks that hold for both types apply.
    if (auto value = n.get("value", kRequired)) {
      if (auto s = value->as_string()) {
        vm.value = *s;
        const size_t max_len = header ? kMaxHeaderValueLength : kMaxQueryValueLength;
        if (std::string err = check_header_value(*s, max_len); !err.empty()) {
          value->error(err);
        } else if (vm.type == ValueMatchType::kRegularExpression) {
          check_regex(*value, *s);
        }
      }
    }
    out.push_back(std::move(vm));
  });
  check_max(match, key, count, max);
  return out;
}

HttpRouteMatch decode_http_match(Node& m) {
  HttpRouteMatch out;
  m.object("path", kOptional, [&](Node& p) {
    p.suggest("regex", "use type: RegularExpression with value: <regex>");
    std::optional<std::string> type =
        p.one_of("type", {"Exact", "PathPrefix", "RegularExpression"});
    if (type) {
      out.path.type = *type == "Exact"        ? PathMatchType::kExact
                      : *type == "PathPrefix" ? PathMatchType::kPathPrefix
                                              : PathMatchType::kRegularExpression;
    }
    auto value = p.get("value");
    if (!value) {
      if (type && *type == "RegularExpression") {
        p.error_at("value", "missing required field (type is RegularExpression)");
      }
      return;
    }
    auto s = value->as_string();
    if (!s) return;
    out.path.value = *s;
    if (type && *type == "RegularExpression") {
      if (s->size() > kMaxPathLength) {
        value->error("must be no more than " + std::to_string(kMaxPathLength) + " characters");
      } else {
        check_regex(*value, *s);
      }
    } else if (!p.has("type") || type) {
      if (std::string err = check_match_path(*s); !err.empty()) {
        value->error("invalid path " + q(*s) + ": " + err + " (type " +
                     (type ? *type : std::string("PathPrefix")) + ")");
      }
    }
  });
  out.headers = decode_value_matches(m, "headers", /*header=*/true, kMaxHeaderMatches);
  out.query_params =
      decode_value_matches(m, "queryParams", /*header=*/false, kMaxQueryParamMatches);
  if (auto method = m.one_of("method", kMethods)) out.method = *method;
  m.suggest("pathRegex", "use path: {type: RegularExpression, value: <regex>}");
  m.suggest("queryParameters", "use \"queryParams\"");
  return out;
}

void suggest_rule_fields(Node& r) {
  const std::string retry_hint =
      "retries are configured with the retry.linkerd.io/* annotations on the route "
      "(metadata.annotations), e.g. retry.linkerd.io/http: 5xx";
  r.suggest("retry", retry_hint);
  r.suggest("retries", retry_hint);
  r.suggest("retryPolicy", retry_hint);
}

HttpRouteRule decode_http_rule(Node& r, const RouteVersion& version, const TimeoutPolicy& ann,
                               bool inbound_only) {
  HttpRouteRule out;
  if (auto name = checked_string(r, "name", kOptional, "rule name", check_dns1123_subdomain)) {
    out.name = *name;
  }
  const size_t count = r.each_object("matches", kOptional,
                                     [&](Node& m) { out.matches.push_back(decode_http_match(m)); });
  check_max(r, "matches", count, kMaxMatches);
  // A rule without matches matches everything: PathPrefix "/".
  if (out.matches.empty()) out.matches.emplace_back();

  RuleContext ctx{version, &out.matches};
  out.filters = decode_filters(r, FilterScope::kHttpRule, ctx);
  out.backend_refs = decode_backend_refs(r, FilterScope::kHttpBackend, ctx, inbound_only);
  const bool redirect =
      std::any_of(out.filters.begin(), out.filters.end(),
                  [](const RouteFilter& f) { return f.type == FilterType::kRequestRedirect; });
  if (redirect && !out.backend_refs.empty()) {
    r.error_at("backendRefs",
               "must be empty when the rule has a RequestRedirect filter (the "
               "redirect answers the request itself)");
  }

  if (auto t = r.get("timeouts")) {
    if (!version.timeouts) {
      t->error("timeouts is not available in " + version.api_version + "; use apiVersion " +
               version.timeouts_api_version + " (or the timeout.linkerd.io/request annotation)");
    } else if (!t->is_map()) {
      t->error("expected a map, got " + t->describe());
    } else {
      out.timeouts.request = gateway_duration(*t, "request");
      out.timeouts.backend_request = gateway_duration(*t, "backendRequest");
      const auto& req = out.timeouts.request;
      const auto& backend = out.timeouts.backend_request;
      if (req && backend && req->count() != 0 && *backend > *req) {
        t->error_at("backendRequest", "must not be longer than the request timeout (" +
                                          base::format_go_duration(*req) + ")");
      }
      if (req && ann.request) {
        t->warning_at("request", "has no effect: the timeout.linkerd.io/request annotation (" +
                                     base::format_go_duration(*ann.request) + ") overrides it");
      }
      t->finish();
    }
  }
  suggest_rule_fields(r);
  return out;
}

GrpcRouteMatch decode_grpc_match(Node& m) {
  GrpcRouteMatch out;
  m.object("method", kOptional, [&](Node& n) {
    GrpcMethodMatch mm;
    auto t = n.one_of("type", {"Exact", "RegularExpression"});
    if (t) mm.type = *t == "Exact" ? ValueMatchType::kExact : ValueMatchType::kRegularExpression;
    const bool type_ok = t || !n.has("type");
    for (const char* key : {"service", "method"}) {
      auto v = n.get(key);
      if (!v) continue;
      auto s = v->as_string();
      if (!s || s->empty()) continue;
      const bool is_service = std::string_view(key) == "service";
      (is_service ? mm.service : mm.method) = *s;
      if (s->size() > kMaxGrpcNameLength) {
        v->error("must be no more than " + std::to_string(kMaxGrpcNameLength) + " characters");
      } else if (!type_ok) {
        continue;  // the bad type was reported; the value's grammar depends on it
      } else if (mm.type == ValueMatchType::kRegularExpression) {
        check_regex(*v, *s);
      } else if (std::string err = is_service ? check_grpc_service(*s) : check_grpc_method(*s);
                 !err.empty()) {
        v->error("invalid gRPC " + std::string(key) + " name " + q(*s) + ": " + err);
      }
    }
    if (mm.service.empty() && mm.method.empty()) {
      n.error("at least one of service or method must be set");
    }
    out.method = mm;
  });
  out.headers = decode_value_matches(m, "headers", /*header=*/true, kMaxHeaderMatches);
  return out;
}

GrpcRouteRule decode_grpc_rule(Node& r, const RouteVersion& version, bool inbound_only) {
  GrpcRouteRule out;
  if (auto name = checked_string(r, "name", kOptional, "rule name", check_dns1123_subdomain)) {
    out.name = *name;
  }
  const size_t count = r.each_object("matches", kOptional,
                                     [&](Node& m) { out.matches.push_back(decode_grpc_match(m)); });
  check_max(r, "matches", count, kMaxMatches);
  if (out.matches.empty()) out.matches.emplace_back();
  RuleContext ctx{version, nullptr};
  out.filters = decode_filters(r, FilterScope::kGrpcRule, ctx);
  out.backend_refs = decode_backend_refs(r, FilterScope::kGrpcBackend, ctx, inbound_only);
  suggest_rule_fields(r);
  r.suggest("timeouts",
            "GRPCRoute has no timeouts; use the timeout.linkerd.io/request annotation "
            "on the route (metadata.annotations)");
  return out;
}

bool all_servers(const std::vector<ParentRef>& parents) {
  return !parents.empty() && std::all_of(parents.begin(), parents.end(), [](const ParentRef& p) {
    return p.parent_kind == ParentKind::kServer;
  });
}

}  // namespace

std::string check_route_hostname(std::string_view s, bool allow_wildcard) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 253) return "must be no more than 253 characters";
  if (base::IpAddress::parse(s)) return "must be a DNS name, not an IP address";
  std::string_view rest = s;
  if (allow_wildcard && base::starts_with(s, "*.")) rest.remove_prefix(2);
  if (rest.find('*') != std::string_view::npos) {
    return allow_wildcard ? "a wildcard is allowed only as the whole first label (e.g. "
                            "\"*.example.com\")"
                          : "must not contain a wildcard";
  }
  if (std::string err = check_dns1123_subdomain(rest); !err.empty()) return err;
  for (auto label : base::split(rest, '.')) {
    if (label.size() > 63) return "each label must be no more than 63 characters";
  }
  return {};
}

RetryPolicy parse_retry_annotations(Node& root,
                                    const std::map<std::string, std::string>& annotations,
                                    RetryProtocol protocol) {
  static const std::vector<std::string> kKnown = {kRetryHttp, kRetryGrpc, kRetryLimit,
                                                  kRetryTimeout};
  const AnnotationReporter report(root);
  RetryPolicy out;
  for (const auto& [key, value] : annotations) {
    if (!base::starts_with(key, kRetryPrefix)) continue;
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      warn_unknown_annotation(report, key, kKnown);
      continue;
    }
    if (key == kRetryHttp && protocol == RetryProtocol::kGrpc) {
      report.warning(key, "has no effect on a GRPCRoute; use retry.linkerd.io/grpc");
      continue;
    }
    if (key == kRetryGrpc && protocol == RetryProtocol::kHttp) {
      report.warning(key,
                     "has no effect on an HTTPRoute; use retry.linkerd.io/http (or a "
                     "GRPCRoute for gRPC traffic)");
      continue;
    }
    out.configured = true;
    if (key == kRetryHttp) {
      out.http_conditions = parse_http_conditions(report, value);
    } else if (key == kRetryGrpc) {
      out.grpc_conditions = parse_grpc_conditions(report, value);
    } else if (key == kRetryLimit) {
      const std::string_view v = base::trim(value);
      if (v.empty() || v.size() > 19 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        report.error(key, "must be a non-negative integer, got " + q(value));
      } else if (const uint64_t n = std::stoull(std::string(v));
                 n > std::numeric_limits<uint32_t>::max()) {
        report.error(key, "value " + std::string(v) + " is out of range [0, 4294967295]");
      } else {
        out.limit = static_cast<uint32_t>(n);
      }
    } else if (key == kRetryTimeout) {
      out.timeout = annotation_duration(report, key, value);
    }
  }
  return out;
}

TimeoutPolicy parse_timeout_annotations(Node& root,
                                        const std::map<std::string, std::string>& annotations) {
  static const std::vector<std::string> kKnown = {kTimeoutRequest, kTimeoutResponse, kTimeoutIdle};
  const AnnotationReporter report(root);
  TimeoutPolicy out;
  for (const auto& [key, value] : annotations) {
    if (!base::starts_with(key, kTimeoutPrefix)) continue;
    if (key == kTimeoutRequest) {
      out.request = annotation_duration(report, key, value);
    } else if (key == kTimeoutResponse) {
      out.response = annotation_duration(report, key, value);
    } else if (key == kTimeoutIdle) {
      out.idle = annotation_duration(report, key, value);
    } else {
      warn_unknown_annotation(report, key, kKnown);
    }
  }
  return out;
}

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, HttpRoute& out) {
  const RouteVersion version = route_version(type);
  out.group = version.group;
  out.retry = parse_retry_annotations(root, meta.annotations, RetryProtocol::kHttp);
  out.timeouts = parse_timeout_annotations(root, meta.annotations);
  root.object("spec", kRequired, [&](Node& spec) {
    out.parent_refs = decode_parent_refs(spec, version.group);
    out.hostnames = decode_hostnames(spec);
    const bool inbound_only = all_servers(out.parent_refs);
    const size_t count = spec.each_object("rules", kOptional, [&](Node& r) {
      out.rules.push_back(decode_http_rule(r, version, out.timeouts, inbound_only));
    });
    check_max(spec, "rules", count, kMaxRules);
  });
  // A route without rules has one rule that matches every request (PathPrefix "/").
  if (out.rules.empty()) {
    out.rules.emplace_back();
    out.rules.back().matches.emplace_back();
  }
}

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, GrpcRoute& out) {
  const RouteVersion version = route_version(type);
  out.retry = parse_retry_annotations(root, meta.annotations, RetryProtocol::kGrpc);
  out.timeouts = parse_timeout_annotations(root, meta.annotations);
  root.object("spec", kRequired, [&](Node& spec) {
    out.parent_refs = decode_parent_refs(spec, RouteGroup::kGateway);
    out.hostnames = decode_hostnames(spec);
    const bool inbound_only = all_servers(out.parent_refs);
    const size_t count = spec.each_object("rules", kOptional, [&](Node& r) {
      out.rules.push_back(decode_grpc_rule(r, version, inbound_only));
    });
    check_max(spec, "rules", count, kMaxRules);
  });
  if (out.rules.empty()) {
    out.rules.emplace_back();
    out.rules.back().matches.emplace_back();
  }
}

}  // namespace trellis::resources
