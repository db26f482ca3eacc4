#include "resources/core.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();


// ---- raw YAML access, for places where the framework already decoded a map (metadata) and a
// second Node over it would report its problems (duplicate keys) a second time ----

struct RawEntry {
  YAML::Node key;
  YAML::Node value;
};

std::optional<RawEntry> raw_find(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return RawEntry{it->first, it->second};
  }
  return std::nullopt;
}

// Reports at `<node>.<keys...>`, located at the deepest of those keys that is present.
void report_under(const Node& node, std::initializer_list<std::string_view> keys, Severity sev,
                  std::string message) {
  DecodeContext& ctx = node.context();
  Location loc = node.location();
  std::string path = node.path();
  // YAML::Node's operator= rebinds the referenced node's content (it would rewrite the
  // document), so walk with copies constructed in a list instead of assigning.
  std::vector<YAML::Node> walk{node.raw()};
  bool present = true;
  for (std::string_view key : keys) {
    path = join_path(path, key);
    if (!present) continue;
    auto e = raw_find(walk.back(), key);
    if (!e) {
      present = false;
      continue;
    }
    loc = ctx.location(e->key.Mark());
    walk.push_back(e->value);
  }
  if (sev == Severity::kError) {
    ctx.diags.error(loc, ctx.object, path, std::move(message));
  } else {
    ctx.diags.warning(loc, ctx.object, path, std::move(message));
  }
}

// The number of items of a list field, without declaring it known (for rules such as "every
// port needs a name when there is more than one", checked while the items are decoded).
size_t raw_list_size(const Node& parent, std::string_view key) {
  auto e = raw_find(parent.raw(), key);
  return e && e->value.IsSequence() ? e->value.size() : 0;
}

// True when `key` holds an empty list ([]), as opposed to being absent, null or not a list.
bool raw_is_empty_list(const Node& parent, std::string_view key) {
  auto e = raw_find(parent.raw(), key);
  return e && e->value.IsSequence() && e->value.size() == 0;
}

// True when `key` holds a map or list with at least one item.
bool raw_has_items(const Node& parent, std::string_view key) {
  auto e = raw_find(parent.raw(), key);
  return e && (e->value.IsMap() || e->value.IsSequence()) && e->value.size() > 0;
}

// DNS-1035 label: Service names (they become DNS labels and environment variable prefixes).
std::string check_dns1035_label(std::string_view s) {
  if (std::string err = check_dns1123_label(s); !err.empty()) return err;
  if (!(s.front() >= 'a' && s.front() <= 'z')) {
    return "must start with a lower case letter (a DNS-1035 label, e.g. 'my-name')";
  }
  return {};
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal port number 1..65535, or nullopt.
std::optional<int32_t> parse_port_number(std::string_view s) {
  if (!all_digits(s) || s.size() > 5) return std::nullopt;
  int32_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  if (v < 1 || v > 65535) return std::nullopt;
  return v;
}

PortProtocol decode_protocol(Node& parent) {
  auto p = parent.one_of("protocol", {"TCP", "UDP", "SCTP"});
  if (!p || *p == "TCP") return PortProtocol::kTcp;
  return *p == "UDP" ? PortProtocol::kUdp : PortProtocol::kSctp;
}

void check_app_protocol(Node& parent, std::string& out) {
  auto n = parent.get("appProtocol");
  if (!n) return;
  auto s = n->as_string();
  if (!s) return;
  out = *s;
  // Kubernetes requires a qualified name: "http", "kubernetes.io/h2c", "linkerd.io/opaque".
  if (std::string err = check_label_key(*s); !err.empty()) {
    n->error("invalid appProtocol " + quote(*s) +
             ": must be a protocol name or a domain-prefixed name such as \"kubernetes.io/h2c\" (" +
             err + ")");
  }
}

CoreObjectRef decode_core_object_ref(Node& ref) {
  CoreObjectRef r;
  if (auto s = ref.str("apiVersion")) r.api_version = *s;
  if (auto s = ref.str("kind")) r.kind = *s;
  if (auto s = ref.str("namespace")) r.ns = *s;
  if (auto s = ref.str("name")) r.name = *s;
  if (auto s = ref.str("uid")) r.uid = *s;
  ref.ignore({"fieldPath", "resourceVersion"});
  return r;
}

// Tracks names that must be unique within a list and reports repeats on the later item.
class UniqueNames {
 public:
  explicit UniqueNames(std::string what) : what_(std::move(what)) {}
  // Returns false (after reporting) when `name` was already seen.
  bool add(const Node& at, const std::string& name, const std::string& path) {
    auto [it, inserted] = seen_.emplace(name, path);
    if (inserted) return true;
    at.error("duplicate " + what_ + " " + quote(name) + " (also " + it->second + ")");
    return false;
  }

 private:
  std::string what_;
  std::map<std::string, std::string> seen_;
};

// ---- linkerd annotations ----

enum class ValueKind {
  kPortList,           // "25,443,8000-8100"
  kPortListWithNames,  // also port names (opaque-ports)
  kSubnetList,         // "10.0.0.0/8,192.168.0.0/16"
  kPort,
  kNonNegativeInteger,
  kQuantity,
  kDuration,
  kBool,  // Go strconv.ParseBool, which is how Linkerd reads them
  kEnum,
  kNonEmpty,
  kAny,
};

struct AnnotationRule {
  std::string_view name;  // after "config.linkerd.io/"
  ValueKind kind;
  std::vector<std::string> allowed = {};
};

const std::vector<AnnotationRule>& config_annotation_rules() {
  static const std::vector<AnnotationRule> rules = {
      {"proxy-image", ValueKind::kNonEmpty},
      {"proxy-version", ValueKind::kNonEmpty},
      {"image-pull-policy", ValueKind::kEnum, {"Always", "IfNotPresent", "Never"}},
      {"debug-image", ValueKind::kNonEmpty},
      {"debug-image-version", ValueKind::kNonEmpty},
      {"debug-image-pull-policy", ValueKind::kEnum, {"Always", "IfNotPresent", "Never"}},
      {"enable-debug-sidecar", ValueKind::kBool},
      {"inbound-port", ValueKind::kPort},
      {"outbound-port", ValueKind::kPort},
      {"admin-port", ValueKind::kPort},
      {"control-port", ValueKind::kPort},
      {"skip-inbound-ports", ValueKind::kPortList},
      {"skip-outbound-ports", ValueKind::kPortList},
      {"skip-subnets", ValueKind::kSubnetList},
      {"opaque-ports", ValueKind::kPortListWithNames},
      {"pod-inbound-ports", ValueKind::kPortList},
      {"proxy-cpu-request", ValueKind::kQuantity},
      {"proxy-cpu-limit", ValueKind::kQuantity},
      {"proxy-cpu-ratio-limit", ValueKind::kNonEmpty},
      {"proxy-memory-request", ValueKind::kQuantity},
      {"proxy-memory-limit", ValueKind::kQuantity},
      {"proxy-ephemeral-storage-request", ValueKind::kQuantity},
      {"proxy-ephemeral-storage-limit", ValueKind::kQuantity},
      {"proxy-uid", ValueKind::kNonNegativeInteger},
      {"proxy-gid", ValueKind::kNonNegativeInteger},
      {"proxy-log-level", ValueKind::kNonEmpty},
      {"proxy-log-format", ValueKind::kEnum, {"plain", "json"}},
      {"proxy-log-http-headers", ValueKind::kAny},
      {"access-log", ValueKind::kEnum, {"apache", "json"}},
      {"proxy-outbound-connect-timeout", ValueKind::kDuration},
      {"proxy-inbound-connect-timeout", ValueKind::kDuration},
      {"proxy-outbound-discovery-cache-unused-timeout", ValueKind::kDuration},
      {"proxy-inbound-discovery-cache-unused-timeout", ValueKind::kDuration},
      {"proxy-disable-outbound-protocol-detect-timeout", ValueKind::kBool},
      {"proxy-disable-inbound-protocol-detect-timeout", ValueKind::kBool},
      {"proxy-require-identity-inbound-ports", ValueKind::kPortList},
      {"enable-external-profiles", ValueKind::kBool},
      {"proxy-metrics-hostname-labels", ValueKind::kBool},
      {"enable-gateway", ValueKind::kBool},
      {"default-inbound-policy",
       ValueKind::kEnum,
       {"all-unauthenticated", "all-authenticated", "cluster-unauthenticated",
        "cluster-authenticated", "deny", "audit"}},
      {"shutdown-grace-period", ValueKind::kDuration},
      {"proxy-admin-shutdown", ValueKind::kEnum, {"enabled", "disabled"}},
      {"close-wait-timeout", ValueKind::kDuration},
      {"proxy-await", ValueKind::kEnum, {"enabled", "disabled"}},
      {"proxy-enable-native-sidecar", ValueKind::kBool},
      {"proxy-additional-env", ValueKind::kAny},
      {"trace-collector", ValueKind::kAny},
  };
  return rules;
}

const std::vector<std::string> kInjectValues = {"enabled", "disabled", "ingress"};
constexpr std::string_view kInjectKey = "linkerd.io/inject";
constexpr std::string_view kConfigPrefix = "config.linkerd.io/";

std::string enum_problem(const std::string& value, const std::vector<std::string>& allowed) {
  std::string msg =
      "invalid value " + quote(value) + "; expected one of: " + base::join(allowed, ", ");
  const std::string near = base::closest_match(value, allowed);
  if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
  return msg;
}

// What is wrong with `value` for `rule`, or empty.
std::string annotation_problem(const AnnotationRule& rule, const std::string& value) {
  const std::string_view trimmed = base::trim(value);
  switch (rule.kind) {
    case ValueKind::kPortList:
    case ValueKind::kPortListWithNames: {
      auto ports = parse_port_list(value, rule.kind == ValueKind::kPortListWithNames);
      if (!ports) return ports.error();
      return {};
    }
    case ValueKind::kSubnetList:
      for (auto part : base::split(value, ',')) {
        auto item = base::trim(part);
        if (item.empty()) {
          if (trimmed.empty()) return {};
          return "invalid subnet list " + quote(value) + ": empty item";
        }
        auto cidr = base::Cidr::parse(item);
        if (!cidr) return cidr.error();
      }
      return {};
    case ValueKind::kPort:
      if (!parse_port_number(trimmed)) {
        return "invalid value " + quote(value) + ": expected a port number (1-65535)";
      }
      return {};
    case ValueKind::kNonNegativeInteger:
      if (!all_digits(trimmed) || trimmed.size() > 18) {
        return "invalid value " + quote(value) + ": expected a non-negative integer";
      }
      return {};
    case ValueKind::kQuantity: {
      auto q = base::parse_quantity(trimmed);
      if (!q) return q.error();
      if (q->milli < 0) return "invalid value " + quote(value) + ": must not be negative";
      return {};
    }
    case ValueKind::kDuration: {
      auto d = base::parse_go_duration(trimmed);
      if (!d) return d.error();
      return {};
    }
    case ValueKind::kBool: {
      static const std::vector<std::string> kBools = {"1", "t", "T", "TRUE", "true", "True",
                                                      "0", "f", "F", "FALSE", "false", "False"};
      if (std::find(kBools.begin(), kBools.end(), value) == kBools.end()) {
        return "invalid value " + quote(value) + ": expected \"true\" or \"false\"";
      }
      return {};
    }
    case ValueKind::kEnum:
      if (std::find(rule.allowed.begin(), rule.allowed.end(), value) == rule.allowed.end()) {
        return enum_problem(value, rule.allowed);
      }
      return {};
    case ValueKind::kNonEmpty:
      if (trimmed.empty()) return "must not be empty";
      return {};
    case ValueKind::kAny:
      return {};
  }
  return {};
}

// The value of an annotation as a string, or nullopt when it is not a string (the metadata
// decoder has already reported that). A null value reads as "", as string_map does.
std::optional<std::string> raw_annotation_value(const YAML::Node& value) {
  if (!value.IsDefined() || value.IsNull()) return std::string();
  if (!value.IsScalar()) return std::nullopt;
  const ScalarType t = resolve_scalar(value.Scalar(), value.Tag() != "!");
  if (t == ScalarType::kNull) return std::string();
  if (t != ScalarType::kString) return std::nullopt;
  return value.Scalar();
}

// ---- containers and pod specs ----

const std::vector<std::string> kStandardResources = {"cpu", "memory", "ephemeral-storage"};

std::string check_resource_name(const std::string& name) {
  if (std::find(kStandardResources.begin(), kStandardResources.end(), name) !=
      kStandardResources.end()) {
    return {};
  }
  if (base::starts_with(name, "hugepages-") && name.size() > 10) return {};
  if (name.find('/') != std::string::npos) {
    if (std::string err = check_label_key(name); !err.empty()) {
      return "invalid extended resource name " + quote(name) + ": " + err;
    }
    return {};
  }
  std::string msg = "unsupported resource name " + quote(name) +
                    "; expected cpu, memory, ephemeral-storage, hugepages-<size> or a "
                    "domain-prefixed extended resource such as example.com/gpu";
  const std::string near = base::closest_match(name, kStandardResources);
  if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
  return msg;
}

struct QuantityEntry {
  base::Quantity quantity;
  std::string text;
};

// requests/limits: a map of resource name to quantity.
std::map<std::string, QuantityEntry> decode_resource_list(Node& parent, std::string_view key) {
  std::map<std::string, QuantityEntry> out;
  auto n = parent.get(key);
  if (!n) return out;
  if (!n->is_map()) {
    n->error("expected a map of resource names to quantities, got " + n->describe());
    return out;
  }
  const YAML::Node raw = n->raw();
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string name = it->first.Scalar();
    if (out.count(name)) continue;  // duplicate key, already reported
    if (std::string err = check_resource_name(name); !err.empty()) n->error_at(name, err);
    auto value = n->get(name);
    if (!value) {
      n->error_at(name, "expected a quantity such as 1 or \"900m\", got null");
      continue;
    }
    auto q = value->as_quantity();
    if (!q) continue;
    if (q->milli < 0) {
      value->error("must be greater than or equal to 0");
      continue;
    }
    out[name] = {*q, value->scalar()};
  }
  return out;
}

ResourceRequirements decode_resources(Node& res) {
  ResourceRequirements out;
  auto requests = decode_resource_list(res, "requests");
  auto limits = decode_resource_list(res, "limits");
  res.ignore({"claims"});
  for (const auto& [name, req] : requests) {
    auto lim = limits.find(name);
    if (lim != limits.end() && req.quantity.milli > lim->second.quantity.milli) {
      report_under(res, {"requests", name}, Severity::kError,
                   "must be less than or equal to the limit (" + lim->second.text + ")");
    }
    out.requests[name] = req.quantity;
  }
  for (const auto& [name, lim] : limits) out.limits[name] = lim.quantity;
  return out;
}

enum class ProbeKind { kReadiness, kLiveness, kStartup };

std::optional<Probe> decode_probe(Node& p, ProbeKind kind, const Container& container) {
  Probe out;
  std::vector<std::string> handlers;
  for (const char* h : {"httpGet", "tcpSocket", "exec", "grpc"}) {
    if (p.has(h)) handlers.emplace_back(h);
  }
  // A named probe port resolves against the container's own ports when the probe runs; a name
  // that is not there can never succeed, so the pod would never become ready (or be killed).
  auto check_named_port = [&](Node& port_node, const PortRef& ref) {
    if (ref.is_number()) return;
    for (const auto& cp : container.ports) {
      if (cp.name == ref.name()) return;
    }
    std::vector<std::string> declared;
    for (const auto& cp : container.ports) {
      if (!cp.name.empty()) declared.push_back(cp.name);
    }
    port_node.error("port name " + quote(ref.name()) + " does not match any port of container " +
                    quote(container.name) +
                    (declared.empty() ? std::string(" (it declares no named ports)")
                                      : " (declared: " + base::join(declared, ", ") + ")"));
  };
  p.object("httpGet", kOptional, [&](Node& h) {
    out.handler = ProbeHandler::kHttpGet;
    if (auto s = h.str("path")) out.path = *s;
    if (auto port = h.get("port", kRequired)) {
      if (auto ref = decode_port(*port)) {
        out.port = *ref;
        check_named_port(*port, *ref);
      }
    }
    if (auto s = h.str("host")) out.host = *s;
    if (auto s = h.one_of("scheme", {"HTTP", "HTTPS"})) out.scheme = *s;
    h.each_object("httpHeaders", kOptional, [&](Node& hdr) {
      ProbeHttpHeader header;
      if (auto name = hdr.get("name", kRequired)) {
        if (auto s = name->as_string()) {
          header.name = *s;
          if (std::string err = check_http_header_name(*s); !err.empty()) {
            name->error("invalid header name " + quote(*s) + ": " + err);
          }
        }
      }
      if (auto s = hdr.str("value")) header.value = *s;
      out.http_headers.push_back(std::move(header));
    });
  });
  p.object("tcpSocket", kOptional, [&](Node& t) {
    out.handler = ProbeHandler::kTcpSocket;
    if (auto port = t.get("port", kRequired)) {
      if (auto ref = decode_port(*port)) {
        out.port = *ref;
        check_named_port(*port, *ref);
      }
    }
    if (auto s = t.str("host")) out.host = *s;
  });
  p.object("exec", kOptional, [&](Node& e) {
    out.handler = ProbeHandler::kExec;
    out.command = e.strings("command", kRequired);
    if (raw_is_empty_list(e, "command")) e.error_at("command", "must not be empty");
  });
  p.object("grpc", kOptional, [&](Node& g) {
    out.handler = ProbeHandler::kGrpc;
    if (auto port = g.get("port", kRequired)) {
      if (auto ref = decode_port(*port, /*allow_name=*/false)) out.port = *ref;
    }
    if (auto s = g.str("service")) out.grpc_service = *s;
  });
  if (handlers.empty()) {
    p.error("must specify exactly one handler: httpGet, tcpSocket, exec or grpc");
  } else if (handlers.size() > 1) {
    p.error("must specify exactly one handler, got " + base::join(handlers, " and "));
  }
  if (auto v = p.integer("initialDelaySeconds", kOptional, 0, kInt32Max)) {
    out.initial_delay = std::chrono::seconds(*v);
  }
  if (auto v = p.integer("periodSeconds", kOptional, 1, kInt32Max)) {
    out.period = std::chrono::seconds(*v);
  }
  if (auto v = p.integer("timeoutSeconds", kOptional, 1, kInt32Max)) {
    out.timeout = std::chrono::seconds(*v);
  }
  if (auto v = p.integer("successThreshold", kOptional, 1, kInt32Max)) {
    out.success_threshold = static_cast<int32_t>(*v);
    if (*v != 1 && kind != ProbeKind::kReadiness) {
      p.error_at("successThreshold", "must be 1 for liveness and startup probes");
    }
  }
  if (auto v = p.integer("failureThreshold", kOptional, 1, kInt32Max)) {
    out.failure_threshold = static_cast<int32_t>(*v);
  }
  if (auto v = p.integer("terminationGracePeriodSeconds", kOptional, 1, INT64_MAX / 1000000000)) {
    out.termination_grace_period = std::chrono::seconds(*v);
  }
  if (handlers.size() != 1) return std::nullopt;
  return out;
}

std::string default_pull_policy(const std::string& image) {
  if (image.find('@') != std::string::npos) return "IfNotPresent";  // pinned by digest
  const size_t slash = image.rfind('/');
  const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
  const size_t colon = last.find(':');
  if (colon == std::string::npos || last.substr(colon + 1) == "latest") return "Always";
  return "IfNotPresent";
}

// State shared by all containers of one pod spec.
struct PodScope {
  UniqueNames container_names{"container name"};
  // hostPort/protocol/hostIP -> where it was first used
  std::map<std::tuple<int32_t, PortProtocol, std::string>, std::string> host_ports;
};

Container decode_container(Node& c, bool init, PodScope& scope) {
  Container ct;
  if (auto name = c.get("name", kRequired)) {
    if (auto s = name->as_string()) {
      ct.name = *s;
      if (std::string err = check_dns1123_label(*s); !err.empty()) {
        name->error("invalid container name " + quote(*s) + ": " + err);
      } else {
        scope.container_names.add(*name, *s, name->path());
      }
    }
  }
  if (auto image = c.get("image", kRequired)) {
    if (auto s = image->as_string()) {
      ct.image = *s;
      if (base::trim(*s).empty()) image->error("must not be empty");
    }
  }
  if (auto s = c.one_of("imagePullPolicy", {"Always", "IfNotPresent", "Never"})) {
    ct.image_pull_policy = *s;
  } else {
    ct.image_pull_policy = default_pull_policy(ct.image);
  }
  ct.command = c.strings("command");
  ct.args = c.strings("args");
  if (auto s = c.str("workingDir")) ct.working_dir = *s;

  std::map<std::string, std::string> env_seen;
  c.each_object("env", kOptional, [&](Node& e) {
    EnvVar var;
    if (auto name = e.get("name", kRequired)) {
      if (auto s = name->as_string()) {
        var.name = *s;
        if (s->empty()) {
          name->error("must not be empty");
        } else if (s->find('=') != std::string::npos) {
          name->error("invalid environment variable name " + quote(*s) + ": must not contain '='");
        } else if (auto [it, inserted] = env_seen.emplace(*s, name->path()); !inserted) {
          // Kubernetes accepts this and the last definition wins; almost always an editing slip.
          name->warning("duplicate environment variable " + quote(*s) + " (also " + it->second +
                        "); the last definition wins");
        }
      }
    }
    if (auto s = e.str("value")) var.value = *s;
    if (auto from = e.get("valueFrom")) {
      if (!from->is_map()) {
        from->error("expected a map, got " + from->describe());
      } else {
        var.value_from = true;
        if (!var.value.empty()) from->error("may not be set when value is not empty");
      }
    }
    ct.env.push_back(std::move(var));
  });

  UniqueNames port_names("port name");
  c.each_object("ports", kOptional, [&](Node& p) {
    ContainerPort port;
    if (auto v = p.integer("containerPort", kRequired, 1, 65535)) {
      port.container_port = static_cast<int32_t>(*v);
    }
    if (auto name = p.get("name")) {
      if (auto s = name->as_string()) {
        port.name = *s;
        if (std::string err = check_port_name(*s); !err.empty()) {
          name->error("invalid port name " + quote(*s) + ": " + err);
        } else {
          port_names.add(*name, *s, name->path());
        }
      }
    }
    port.protocol = decode_protocol(p);
    if (auto s = p.str("hostIP")) {
      port.host_ip = *s;
      if (!s->empty() && !base::IpAddress::parse(*s)) {
        p.error_at("hostIP", "invalid IP address " + quote(*s));
      }
    }
    if (auto hp = p.get("hostPort")) {
      if (auto v = hp->as_integer(1, 65535)) {
        port.host_port = static_cast<int32_t>(*v);
        auto key = std::make_tuple(port.host_port.value(), port.protocol, port.host_ip);
        auto [it, inserted] = scope.host_ports.emplace(key, hp->path());
        if (!inserted) {
          hp->error("duplicate hostPort " + std::to_string(*v) + "/" +
                    port_protocol_name(port.protocol) + " (also " + it->second + ")");
        }
      }
    }
    ct.ports.push_back(std::move(port));
  });

  if (auto rp = c.get("restartPolicy")) {
    if (!init) {
      rp->error("may only be set on init containers (restartPolicy: Always makes an init "
                "container a native sidecar)");
    } else if (rp->as_enum({"Always"})) {
      ct.sidecar = true;
    }
  }

  const std::pair<const char*, ProbeKind> probes[] = {{"readinessProbe", ProbeKind::kReadiness},
                                                      {"livenessProbe", ProbeKind::kLiveness},
                                                      {"startupProbe", ProbeKind::kStartup}};
  for (const auto& [key, kind] : probes) {
    if (init && !ct.sidecar && c.has(key)) {
      // Not decoded further: the whole probe is the mistake.
      c.get(key);
      c.error_at(key, "may not be set on an init container unless its restartPolicy is Always "
                      "(a native sidecar)");
      continue;
    }
    std::optional<Probe> probe;
    const ProbeKind probe_kind = kind;
    c.object(key, kOptional, [&](Node& p) { probe = decode_probe(p, probe_kind, ct); });
    if (kind == ProbeKind::kReadiness) ct.readiness_probe = std::move(probe);
    if (kind == ProbeKind::kLiveness) ct.liveness_probe = std::move(probe);
    if (kind == ProbeKind::kStartup) ct.startup_probe = std::move(probe);
  }

  c.object("resources", kOptional, [&](Node& r) { ct.resources = decode_resources(r); });
  c.ignore({"envFrom", "lifecycle", "resizePolicy", "securityContext", "stdin", "stdinOnce",
            "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices",
            "volumeMounts"});
  return ct;
}

enum class PodSpecContext { kPod, kDeploymentTemplate };

PodSpec decode_pod_spec(Node& spec, PodSpecContext context, std::optional<InjectMode> inject) {
  PodSpec out;
  PodScope scope;
  const size_t n = spec.each_object("containers", kRequired, [&](Node& c) {
    out.containers.push_back(decode_container(c, /*init=*/false, scope));
  });
  if (n == 0 && raw_is_empty_list(spec, "containers")) {
    spec.error_at("containers", "must have at least one container");
  }
  spec.each_object("initContainers", kOptional, [&](Node& c) {
    out.init_containers.push_back(decode_container(c, /*init=*/true, scope));
  });

  // serviceAccount is the deprecated spelling; `kubectl get -o yaml` prints both, equal.
  auto san = spec.get("serviceAccountName");
  auto sa = spec.get("serviceAccount");
  std::optional<std::string> san_value = san ? san->as_string() : std::nullopt;
  std::optional<std::string> sa_value = sa ? sa->as_string() : std::nullopt;
  if (san_value) {
    out.service_account_name = *san_value;
    if (std::string err = check_dns1123_subdomain(*san_value); !err.empty()) {
      san->error("invalid service account name " + quote(*san_value) + ": " + err);
    }
    if (sa_value && *sa_value != *san_value) {
      sa->error("differs from serviceAccountName " + quote(*san_value) +
                "; remove the deprecated serviceAccount");
    }
  } else if (sa_value) {
    out.service_account_name = *sa_value;
    sa->warning("serviceAccount is deprecated; use serviceAccountName");
    if (std::string err = check_dns1123_subdomain(*sa_value); !err.empty()) {
      sa->error("invalid service account name " + quote(*sa_value) + ": " + err);
    }
  }

  if (auto rp = spec.get("restartPolicy")) {
    if (auto s = rp->as_enum({"Always", "OnFailure", "Never"})) {
      out.restart_policy = *s == "Always"      ? RestartPolicy::kAlways
                           : *s == "OnFailure" ? RestartPolicy::kOnFailure
                                               : RestartPolicy::kNever;
      if (context == PodSpecContext::kDeploymentTemplate && *s != "Always") {
        rp->error("must be Always in a Deployment's pod template (a Deployment keeps its pods "
                  "running)");
      }
    }
  }
  if (auto v = spec.integer("terminationGracePeriodSeconds", kOptional, 0,
                            INT64_MAX / 1000000000)) {
    out.termination_grace_period = std::chrono::seconds(*v);
  }
  if (auto v = spec.boolean("hostNetwork")) {
    out.host_network = *v;
    if (*v && inject && *inject != InjectMode::kDisabled) {
      spec.warning_at("hostNetwork",
                      "pods on the host network are not injected (they share the node's network "
                      "namespace, so traffic cannot be redirected); linkerd.io/inject has no "
                      "effect");
    }
  }
  spec.ignore({"activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "dnsConfig",
               "dnsPolicy", "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC",
               "hostPID", "hostUsers", "hostname", "imagePullSecrets", "nodeName",
               "nodeSelector", "os", "overhead", "preemptionPolicy", "priority",
               "priorityClassName", "readinessGates", "resourceClaims", "resources",
               "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
               "setHostnameAsFQDN", "shareProcessNamespace", "subdomain", "tolerations",
               "topologySpreadConstraints", "volumes"});
  return out;
}

std::string describe_selector(const LabelSelector& sel) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : sel.match_labels) parts.push_back(k + "=" + v);
  for (const auto& req : sel.match_expressions) {
    std::string s = req.key + " " + req.op;
    if (!req.values.empty()) s += " (" + base::join(req.values, ", ") + ")";
    parts.push_back(s);
  }
  return base::join(parts, ", ");
}

std::string describe_labels(const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(k + "=" + v);
  return base::join(parts, ", ");
}

std::optional<IntOrPercent> decode_int_or_percent(Node& n) {
  if (n.is_scalar() && n.scalar_type() == ScalarType::kInt) {
    auto v = n.as_integer(0, kInt32Max);
    if (!v) return std::nullopt;
    return IntOrPercent{*v, false};
  }
  if (n.is_scalar() && n.scalar_type() == ScalarType::kString) {
    const std::string& s = n.scalar();
    const std::string_view digits = std::string_view(s).substr(0, s.empty() ? 0 : s.size() - 1);
    if (s.size() >= 2 && s.size() <= 11 && s.back() == '%' && all_digits(digits)) {
      return IntOrPercent{std::stoll(s.substr(0, s.size() - 1)), true};
    }
  }
  n.error("expected a non-negative integer or a percentage such as \"25%\", got " + n.describe());
  return std::nullopt;
}

// ---- HPA ----

std::optional<HpaMetric> decode_metric(Node& m) {
  static const std::vector<std::pair<std::string, std::string>> kSources = {
      {"Resource", "resource"},
      {"ContainerResource", "containerResource"},
      {"Pods", "pods"},
      {"Object", "object"},
      {"External", "external"}};
  HpaMetric out;
  std::vector<std::string> types;
  for (const auto& [t, key] : kSources) types.push_back(t);
  auto type = m.one_of("type", types, kRequired);
  std::string expected_key;
  if (type) {
    for (size_t i = 0; i < kSources.size(); ++i) {
      if (kSources[i].first == *type) {
        out.type = static_cast<MetricSourceType>(i);
        expected_key = kSources[i].second;
      }
    }
  }
  for (const auto& [t, key] : kSources) {
    if (key == expected_key) continue;
    if (m.get(key) && type) m.error_at(key, "must not be set when type is " + *type);
  }
  if (!type) return std::nullopt;

  bool ok = true;
  auto decode_target = [&](Node& src) {
    src.object("target", kRequired, [&](Node& t) {
      auto tt = t.one_of("type", {"Utilization", "Value", "AverageValue"}, kRequired);
      if (auto v = t.integer("averageUtilization", kOptional, 1, kInt32Max)) {
        out.average_utilization = static_cast<int32_t>(*v);
      }
      if (auto q = t.quantity("averageValue")) out.average_value = *q;
      if (auto q = t.quantity("value")) out.value = *q;
      if (!tt) {
        ok = false;
        return;
      }
      if (*tt == "Utilization") {
        out.target_type = MetricTargetType::kUtilization;
        if (out.type != MetricSourceType::kResource &&
            out.type != MetricSourceType::kContainerResource) {
          t.error_at("type",
                     "Utilization is only valid for Resource and ContainerResource metrics");
        }
        if (!t.has("averageUtilization")) {
          t.error_at("averageUtilization", "required when type is Utilization");
        }
      } else if (*tt == "Value") {
        out.target_type = MetricTargetType::kValue;
        if (!t.has("value")) t.error_at("value", "required when type is Value");
      } else {
        out.target_type = MetricTargetType::kAverageValue;
        if (!t.has("averageValue")) {
          t.error_at("averageValue", "required when type is AverageValue");
        }
      }
    });
    if (!src.has("target")) ok = false;
  };
  auto decode_metric_identifier = [&](Node& src) {
    src.object("metric", kRequired, [&](Node& id) {
      if (auto s = id.str("name", kRequired)) out.name = *s;
      id.ignore({"selector"});
    });
  };
  const bool present = m.object(expected_key, kRequired, [&](Node& src) {
    switch (out.type) {
      case MetricSourceType::kResource:
      case MetricSourceType::kContainerResource:
        if (auto s = src.str("name", kRequired)) {
          out.name = *s;
          if (std::string err = check_resource_name(*s); !err.empty()) src.error_at("name", err);
        }
        if (out.type == MetricSourceType::kContainerResource) {
          if (auto s = src.str("container", kRequired)) out.container = *s;
        }
        break;
      case MetricSourceType::kObject:
        src.object("describedObject", kRequired, [&](Node& d) {
          d.str("apiVersion");
          d.str("kind", kRequired);
          d.str("name", kRequired);
        });
        decode_metric_identifier(src);
        break;
      case MetricSourceType::kPods:
      case MetricSourceType::kExternal:
        decode_metric_identifier(src);
        break;
    }
    decode_target(src);
  });
  if (!present || !ok) return std::nullopt;
  return out;
}

}  // namespace

const char* port_protocol_name(PortProtocol p) {
  switch (p) {
    case PortProtocol::kTcp: return "TCP";
    case PortProtocol::kUdp: return "UDP";
    case PortProtocol::kSctp: return "SCTP";
  }
  return "TCP";
}

int64_t IntOrPercent::resolve(int64_t replicas, bool round_up) const {
  if (!percent) return value;
  const int64_t scaled = replicas * value;
  return round_up ? (scaled + 99) / 100 : scaled / 100;
}

std::optional<InjectMode> inject_mode(const std::map<std::string, std::string>& annotations) {
  auto it = annotations.find(std::string(kInjectKey));
  if (it == annotations.end()) return std::nullopt;
  if (it->second == "enabled") return InjectMode::kEnabled;
  if (it->second == "disabled") return InjectMode::kDisabled;
  if (it->second == "ingress") return InjectMode::kIngress;
  return std::nullopt;
}

base::Result<std::vector<PortListEntry>, std::string> parse_port_list(std::string_view text,
                                                                 bool allow_names) {
  std::vector<PortListEntry> out;
  if (base::trim(text).empty()) return out;
  const std::string what = allow_names ? "a port, a port range such as 8000-8100, or a port name"
                                       : "a port or a port range such as 8000-8100";
  const std::string bad = "invalid port list " + quote(text) + ": ";
  for (auto part : base::split(text, ',')) {
    const std::string_view item = base::trim(part);
    if (item.empty()) return base::unexpected(bad + "empty item");
    const size_t dash = item.find('-');
    if (all_digits(item)) {
      auto port = parse_port_number(item);
      if (!port) return base::unexpected(bad + quote(item) + " is not a port number (1-65535)");
      out.push_back({*port, *port, {}});
      continue;
    }
    if (dash != std::string_view::npos && all_digits(item.substr(0, dash)) &&
        all_digits(item.substr(dash + 1))) {
      auto first = parse_port_number(item.substr(0, dash));
      auto last = parse_port_number(item.substr(dash + 1));
      if (!first || !last) {
        return base::unexpected(bad + "range " + quote(item) + " must be between 1 and 65535");
      }
      if (*first > *last) {
        return base::unexpected(bad + "range " + quote(item) + " is reversed (write " +
                                std::to_string(*last) + "-" + std::to_string(*first) + ")");
      }
      out.push_back({*first, *last, {}});
      continue;
    }
    if (allow_names && check_port_name(item).empty()) {
      out.push_back({0, 0, std::string(item)});
      continue;
    }
    return base::unexpected(bad + quote(item) + " is not " + what);
  }
  return out;
}

void check_linkerd_annotations(const Node& object, AnnotationSite site) {
  auto md = raw_find(object.raw(), "metadata");
  if (!md || !md->value.IsMap()) return;
  auto annotations = raw_find(md->value, "annotations");
  if (!annotations || !annotations->value.IsMap()) return;
  DecodeContext& ctx = object.context();
  const std::string base_path = join_path(join_path(object.path(), "metadata"), "annotations");
  std::set<std::string> seen;
  const YAML::Node& map = annotations->value;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string key = it->first.Scalar();
    if (!seen.insert(key).second) continue;  // duplicate key, already reported
    const bool is_inject = key == kInjectKey;
    const bool is_config = base::starts_with(key, kConfigPrefix);
    if (!is_inject && !is_config) continue;
    auto value = raw_annotation_value(it->second);
    if (!value) continue;
    const std::string path = join_path(base_path, key);
    const Location value_loc = ctx.location(it->second.IsDefined() && !it->second.IsNull()
                                                ? it->second.Mark()
                                                : it->first.Mark());
    const Location key_loc = ctx.location(it->first.Mark());
    if (is_inject) {
      if (std::find(kInjectValues.begin(), kInjectValues.end(), *value) == kInjectValues.end()) {
        ctx.diags.error(value_loc, ctx.object, path, enum_problem(*value, kInjectValues));
      } else if (site == AnnotationSite::kService) {
        ctx.diags.warning(key_loc, ctx.object, path,
                          "has no effect on a Service: the proxy injector reads pod templates "
                          "and namespaces; put it on the workload's spec.template.metadata."
                          "annotations or on the Namespace");
      }
      continue;
    }
    const std::string name = key.substr(kConfigPrefix.size());
    const auto& rules = config_annotation_rules();
    auto rule = std::find_if(rules.begin(), rules.end(),
                             [&](const AnnotationRule& r) { return r.name == name; });
    if (rule == rules.end()) {
      std::string msg = "unknown Linkerd annotation " + quote(key);
      if (name == "admission-webhooks") {
        msg += "; it is read from the namespace's labels, not its annotations";
      } else {
        std::vector<std::string> names;
        for (const auto& r : rules) names.emplace_back(r.name);
        const std::string near = base::closest_match(name, names);
        if (!near.empty()) {
          msg += " (did you mean " + quote(std::string(kConfigPrefix) + near) + "?)";
        }
        msg += "; it has no effect";
      }
      ctx.diags.warning(key_loc, ctx.object, path, msg);
      continue;
    }
    if (std::string problem = annotation_problem(*rule, *value); !problem.empty()) {
      ctx.diags.error(value_loc, ctx.object, path, problem);
    }
  }
}

// ---- Namespace ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, Namespace& out) {
  if (check_dns1123_subdomain(meta.name).empty()) {
    if (std::string err = check_dns1123_label(meta.name); !err.empty()) {
      report_under(root, {"metadata", "name"}, Severity::kError,
                   "invalid Namespace name " + quote(meta.name) + ": " + err +
                       " (a DNS-1123 label: no dots)");
    }
  }
  check_linkerd_annotations(root, AnnotationSite::kNamespace);
  out.inject = inject_mode(meta.annotations);
  root.object("spec", kOptional, [&](Node& spec) {
    spec.each("finalizers", kOptional, [&](Node& f) {
      auto s = f.as_string();
      if (!s) return;
      out.finalizers.push_back(*s);
      if (std::string err = check_label_key(*s); !err.empty()) {
        f.error("invalid finalizer " + quote(*s) + ": " + err);
      } else if (s->find('/') == std::string::npos && *s != "kubernetes") {
        f.error("invalid finalizer " + quote(*s) +
                ": only \"kubernetes\" may be unqualified; custom finalizers must be "
                "domain-prefixed, e.g. \"example.com/" + *s + "\"");
      }
    });
  });
}

// ---- Service ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, Service& out) {
  if (check_dns1123_subdomain(meta.name).empty()) {
    if (std::string err = check_dns1035_label(meta.name); !err.empty()) {
      report_under(root, {"metadata", "name"}, Severity::kError,
                   "invalid Service name " + quote(meta.name) + ": " + err);
    }
  }
  check_linkerd_annotations(root, AnnotationSite::kService);
  root.object("spec", kRequired, [&](Node& spec) {
    std::string type_name = "ClusterIP";
    if (auto t = spec.one_of("type", {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"})) {
      type_name = *t;
      out.type = *t == "ClusterIP"      ? ServiceType::kClusterIp
                 : *t == "NodePort"     ? ServiceType::kNodePort
                 : *t == "LoadBalancer" ? ServiceType::kLoadBalancer
                                        : ServiceType::kExternalName;
    }
    const bool external_name = out.type == ServiceType::kExternalName;
    const bool exposes_node_ports =
        out.type == ServiceType::kNodePort || out.type == ServiceType::kLoadBalancer;

    auto parse_cluster_ip = [&](Node& n, const std::string& s) -> std::optional<base::IpAddress> {
      auto ip = base::IpAddress::parse(s);
      if (!ip) {
        n.error("invalid cluster IP " + quote(s) +
                ": must be an IP address, \"None\" for a headless Service, or empty to have one "
                "allocated");
        return std::nullopt;
      }
      return *ip;
    };
    std::string cluster_ip_text;
    if (auto cip = spec.get("clusterIP")) {
      if (auto s = cip->as_string()) {
        cluster_ip_text = *s;
        if (*s == "None") {
          out.headless = true;
        } else if (!s->empty()) {
          out.cluster_ip = parse_cluster_ip(*cip, *s);
        }
        if (external_name && !s->empty()) {
          cip->error("may not be set when type is ExternalName");
        } else if (out.headless && exposes_node_ports) {
          cip->error("may not be \"None\" when type is " + type_name +
                     " (a headless Service has no virtual IP to expose)");
        }
      }
    }
    size_t ip_index = 0;
    std::optional<bool> first_family_v4;
    spec.each("clusterIPs", kOptional, [&](Node& item) {
      const size_t i = ip_index++;
      auto s = item.as_string();
      if (!s) return;
      if (i == 0 && !cluster_ip_text.empty() && *s != cluster_ip_text) {
        item.error("must match spec.clusterIP " + quote(cluster_ip_text));
        return;
      }
      if (i >= 2) {
        item.error("at most two cluster IPs (one per IP family) may be given");
        return;
      }
      if (*s == "None") {
        if (i == 0) {
          out.headless = true;
        } else {
          item.error("\"None\" may only be the only entry");
        }
        return;
      }
      auto ip = parse_cluster_ip(item, *s);
      if (!ip) return;
      if (i == 0) {
        first_family_v4 = ip->is_v4();
        if (!out.cluster_ip) out.cluster_ip = *ip;
      } else if (first_family_v4 && *first_family_v4 == ip->is_v4()) {
        item.error("must be of a different IP family than clusterIPs[0] (dual-stack)");
        return;
      }
      out.cluster_ips.push_back(*ip);
    });
    if (out.cluster_ip && out.cluster_ips.empty()) out.cluster_ips.push_back(*out.cluster_ip);

    if (auto en = spec.get("externalName")) {
      if (auto s = en->as_string()) {
        out.external_name = *s;
        std::string_view name = *s;
        if (!name.empty() && name.back() == '.') name.remove_suffix(1);
        if (std::string err = check_dns1123_subdomain(name); !err.empty()) {
          en->error("invalid externalName " + quote(*s) + ": must be a DNS name (" + err + ")");
        } else if (!external_name) {
          en->warning("has no effect unless type is ExternalName");
        }
      }
    } else if (external_name) {
      spec.error_at("externalName", "required when type is ExternalName");
    }

    const size_t port_count = raw_list_size(spec, "ports");
    UniqueNames port_names("port name");
    std::map<std::pair<int32_t, PortProtocol>, std::string> port_keys;
    const size_t n = spec.each_object("ports", kOptional, [&](Node& p) {
      ServicePort port;
      if (auto name = p.get("name")) {
        if (auto s = name->as_string()) {
          port.name = *s;
          if (s->empty()) {
            // handled with the missing case below
          } else if (std::string err = check_dns1123_label(*s); !err.empty()) {
            name->error("invalid port name " + quote(*s) + ": " + err);
          } else {
            port_names.add(*name, *s, name->path());
          }
        }
      }
      if (port.name.empty() && port_count > 1) {
        p.error_at("name", "required when the Service has more than one port");
      }
      if (auto v = p.integer("port", kRequired, 1, 65535)) port.port = static_cast<int32_t>(*v);
      port.target_port = PortRef{port.port};
      if (auto tp = p.get("targetPort")) {
        if (auto ref = decode_port(*tp)) port.target_port = *ref;
      }
      port.protocol = decode_protocol(p);
      check_app_protocol(p, port.app_protocol);
      if (auto np = p.get("nodePort")) {
        if (auto v = np->as_integer(1, 65535)) {
          port.node_port = static_cast<int32_t>(*v);
          if (!exposes_node_ports) {
            np->error("may only be set when type is NodePort or LoadBalancer");
          }
        }
      }
      if (port.port != 0) {
        auto [it, inserted] = port_keys.emplace(std::make_pair(port.port, port.protocol), p.path());
        if (!inserted) {
          p.error_at("port", "duplicate port " + std::to_string(port.port) + "/" +
                                 port_protocol_name(port.protocol) + " (also " + it->second + ")");
        }
      }
      out.ports.push_back(std::move(port));
    });
    if (n == 0 && !out.headless && !external_name) {
      if (spec.has("ports")) {
        spec.error_at("ports", "must have at least one port (only headless Services, with "
                               "clusterIP: None, and ExternalName Services may have none)");
      } else {
        spec.error_at("ports", "missing required field");
      }
    }

    out.selector = decode_labels(spec, "selector");
    if (auto s = spec.one_of("sessionAffinity", {"ClientIP", "None"})) {
      out.session_affinity_client_ip = *s == "ClientIP";
    }
    if (auto etp = spec.get("externalTrafficPolicy")) {
      if (auto s = etp->as_enum({"Cluster", "Local"})) {
        out.external_traffic_local = *s == "Local";
        if (!exposes_node_ports) {
          etp->error("may only be set when type is NodePort or LoadBalancer");
        }
      }
    }
    if (auto s = spec.one_of("internalTrafficPolicy", {"Cluster", "Local"})) {
      out.internal_traffic_local = *s == "Local";
    }
    if (auto v = spec.boolean("publishNotReadyAddresses")) out.publish_not_ready_addresses = *v;
    spec.each("externalIPs", kOptional, [&](Node& item) {
      auto s = item.as_string();
      if (!s) return;
      auto ip = base::IpAddress::parse(*s);
      if (!ip) {
        item.error(ip.error());
        return;
      }
      out.external_ips.push_back(*ip);
    });
    spec.each("loadBalancerSourceRanges", kOptional, [&](Node& item) {
      auto s = item.as_string();
      if (!s) return;
      auto cidr = base::Cidr::parse(base::trim(*s));
      if (!cidr) {
        item.error(cidr.error());
        return;
      }
      out.load_balancer_source_ranges.push_back(*cidr);
    });
    spec.each("ipFamilies", kOptional, [&](Node& item) { item.as_enum({"IPv4", "IPv6"}); });
    spec.one_of("ipFamilyPolicy", {"SingleStack", "PreferDualStack", "RequireDualStack"});
    spec.ignore({"allocateLoadBalancerNodePorts", "healthCheckNodePort", "loadBalancerClass",
                 "loadBalancerIP", "sessionAffinityConfig", "trafficDistribution"});
  });
}

// ---- Endpoints ----

namespace {

EndpointAddress decode_endpoint_address(Node& a) {
  EndpointAddress out;
  if (auto ip = a.get("ip", kRequired)) {
    if (auto s = ip->as_string()) {
      auto parsed = base::IpAddress::parse(*s);
      if (!parsed) {
        ip->error(parsed.error());
      } else {
        out.ip = *parsed;
      }
    }
  }
  if (auto h = a.get("hostname")) {
    if (auto s = h->as_string()) {
      out.hostname = *s;
      if (std::string err = check_dns1123_label(*s); !err.empty()) {
        h->error("invalid hostname " + quote(*s) + ": " + err);
      }
    }
  }
  if (auto s = a.str("nodeName")) out.node_name = *s;
  a.object("targetRef", kOptional, [&](Node& r) { out.target_ref = decode_core_object_ref(r); });
  return out;
}

// Endpoints and EndpointSlice ports: names are DNS labels, unique, and (for Endpoints) required
// when there is more than one, so each can be matched to a Service port by name.
template <typename PortT>
void decode_endpoint_ports(Node& parent, bool port_required, bool names_required,
                           std::vector<PortT>& out) {
  const size_t count = raw_list_size(parent, "ports");
  UniqueNames names("port name");
  parent.each_object("ports", kOptional, [&](Node& p) {
    PortT port;
    if (auto name = p.get("name")) {
      if (auto s = name->as_string()) {
        port.name = *s;
        if (!s->empty()) {
          if (std::string err = check_dns1123_label(*s); !err.empty()) {
            name->error("invalid port name " + quote(*s) + ": " + err);
          }
        }
        // Endpoints reports unnamed ports as missing names instead; a slice allows one "".
        if (!s->empty() || !names_required) names.add(*name, *s, name->path());
      }
    }
    if (names_required && port.name.empty() && count > 1) {
      p.error_at("name", "required when there is more than one port");
    }
    if (auto v = p.integer("port", port_required ? kRequired : kOptional, 1, 65535)) {
      port.port = static_cast<int32_t>(*v);
    }
    port.protocol = decode_protocol(p);
    check_app_protocol(p, port.app_protocol);
    out.push_back(std::move(port));
  });
}

}  // namespace

void decode(Node& root, const TypeMeta&, const ObjectMeta&, Endpoints& out) {
  root.suggest("spec", "Endpoints has no spec; subsets is a top-level field");
  root.each_object("subsets", kOptional, [&](Node& s) {
    EndpointSubset subset;
    s.each_object("addresses", kOptional,
                  [&](Node& a) { subset.addresses.push_back(decode_endpoint_address(a)); });
    s.each_object("notReadyAddresses", kOptional, [&](Node& a) {
      subset.not_ready_addresses.push_back(decode_endpoint_address(a));
    });
    if (raw_list_size(s, "addresses") == 0 && raw_list_size(s, "notReadyAddresses") == 0) {
      s.error("must have addresses or notReadyAddresses");
    }
    decode_endpoint_ports(s, /*port_required=*/true, /*names_required=*/true, subset.ports);
    out.subsets.push_back(std::move(subset));
  });
}

// ---- EndpointSlice ----

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, EndpointSlice& out) {
  const bool v1beta1 = type.version == "v1beta1";
  root.suggest("spec", "EndpointSlice has no spec; addressType, endpoints and ports are "
                       "top-level fields");
  std::string address_type;
  if (auto t = root.one_of("addressType", {"IPv4", "IPv6", "FQDN"}, kRequired)) {
    address_type = *t;
    out.address_type = *t == "IPv4" ? AddressType::kIpv4
                       : *t == "IPv6" ? AddressType::kIpv6
                                      : AddressType::kFqdn;
  }
  auto label = meta.labels.find("kubernetes.io/service-name");
  if (label != meta.labels.end()) {
    out.service_name = label->second;
  } else {
    report_under(root, {"metadata", "labels"}, Severity::kWarning,
                 "has no kubernetes.io/service-name label, so the slice belongs to no Service and "
                 "discovery ignores it");
  }

  size_t endpoint_count = 0;
  root.each_object("endpoints", kOptional, [&](Node& e) {
    if (++endpoint_count == 1001) e.error("an EndpointSlice may hold at most 1000 endpoints");
    SliceEndpoint ep;
    const size_t n = e.each("addresses", kRequired, [&](Node& a) {
      auto s = a.as_string();
      if (!s) return;
      ep.addresses.push_back(*s);
      if (address_type == "FQDN") {
        if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
          a.error("invalid FQDN address " + quote(*s) + ": " + err);
        }
      } else if (!address_type.empty()) {
        auto ip = base::IpAddress::parse(*s);
        if (!ip) {
          a.error(ip.error());
        } else if (ip->is_v4() != (address_type == "IPv4")) {
          a.error("address " + quote(*s) + " is not an " + address_type +
                  " address, but addressType is " + address_type);
        }
      }
    });
    if (n == 0 && raw_is_empty_list(e, "addresses")) {
      e.error_at("addresses", "must have at least one address");
    } else if (n > 100) {
      e.error_at("addresses", "must have at most 100 addresses");
    }
    e.object("conditions", kOptional, [&](Node& c) {
      auto ready = c.boolean("ready");
      auto serving = c.boolean("serving");
      auto terminating = c.boolean("terminating");
      ep.conditions.ready = ready.value_or(true);
      ep.conditions.serving = serving.value_or(ep.conditions.ready);
      ep.conditions.terminating = terminating.value_or(false);
    });
    if (auto h = e.get("hostname")) {
      if (auto s = h->as_string()) {
        ep.hostname = *s;
        if (std::string err = check_dns1123_label(*s); !err.empty()) {
          h->error("invalid hostname " + quote(*s) + ": " + err);
        }
      }
    }
    if (auto s = e.str("nodeName")) ep.node_name = *s;
    e.object("targetRef", kOptional, [&](Node& r) { ep.target_ref = decode_core_object_ref(r); });
    e.object("hints", kOptional, [&](Node& h) {
      h.each_object("forZones", kOptional, [&](Node& z) {
        if (auto s = z.str("name", kRequired)) ep.hint_zones.push_back(*s);
      });
      h.each_object("forNodes", kOptional, [&](Node& z) {
        if (auto s = z.str("name", kRequired)) ep.hint_nodes.push_back(*s);
      });
    });
    if (v1beta1) {
      // v1beta1 kept zone and node in a free-form topology map; v1 made them fields.
      auto topology = e.string_map("topology");
      if (auto it = topology.find("topology.kubernetes.io/zone"); it != topology.end()) {
        ep.zone = it->second;
      }
      if (auto it = topology.find("kubernetes.io/hostname");
          it != topology.end() && ep.node_name.empty()) {
        ep.node_name = it->second;
      }
      e.suggest("zone", "discovery.k8s.io/v1beta1 has no zone field; use topology: "
                        "{topology.kubernetes.io/zone: ...}, or apiVersion discovery.k8s.io/v1");
    } else {
      if (auto s = e.str("zone")) ep.zone = *s;
      e.string_map("deprecatedTopology");
      e.suggest("topology", "discovery.k8s.io/v1 replaced topology with zone (and nodeName)");
    }
    out.endpoints.push_back(std::move(ep));
  });

  decode_endpoint_ports(root, /*port_required=*/false, /*names_required=*/false, out.ports);
  if (raw_list_size(root, "ports") > 100) {
    root.error_at("ports", "an EndpointSlice may have at most 100 ports");
  }
}

// ---- Pod ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, Pod& out) {
  check_linkerd_annotations(root, AnnotationSite::kPod);
  out.inject = inject_mode(meta.annotations);
  root.suggest("containers", "containers go under spec (spec.containers)");
  root.object("spec", kRequired, [&](Node& spec) {
    out.spec = decode_pod_spec(spec, PodSpecContext::kPod, out.inject);
  });
}

// ---- Deployment ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, Deployment& out) {
  check_linkerd_annotations(root, AnnotationSite::kWorkload);
  for (const char* key : {"replicas", "selector", "template", "strategy"}) {
    root.suggest(key, std::string(key) + " goes under spec (spec." + key + ")");
  }
  root.object("spec", kRequired, [&](Node& spec) {
    if (auto v = spec.integer("replicas", kOptional, 0, kInt32Max)) {
      out.replicas = static_cast<int32_t>(*v);
    }
    const bool has_selector = spec.object("selector", kRequired, [&](Node& sel) {
      out.selector = decode_label_selector(sel);
      if (!raw_has_items(sel, "matchLabels") && !raw_has_items(sel, "matchExpressions")) {
        sel.error("must not be empty: a Deployment needs matchLabels or matchExpressions to "
                  "find its pods");
      }
    });
    spec.object("template", kRequired, [&](Node& t) {
      PodTemplate& pt = out.pod_template;
      t.object("metadata", kOptional, [&](Node& md) {
        pt.labels = decode_labels(md, "labels");
        pt.annotations = md.string_map("annotations");
        md.ignore({"name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                   "ownerReferences", "finalizers", "managedFields", "selfLink"});
      });
      check_linkerd_annotations(t, AnnotationSite::kPodTemplate);
      pt.inject = inject_mode(pt.annotations);
      t.suggest("containers",
                "containers go under spec.template.spec (spec.template.spec.containers)");
      t.object("spec", kRequired, [&](Node& ps) {
        pt.spec = decode_pod_spec(ps, PodSpecContext::kDeploymentTemplate, pt.inject);
      });
      // As the API server does: a Deployment whose selector does not select its own template
      // would create pods it can never count, and scale forever.
      if (has_selector && !out.selector.empty() && !out.selector.matches(pt.labels)) {
        report_under(t, {"metadata", "labels"}, Severity::kError,
                     "do not match spec.selector (" + describe_selector(out.selector) +
                         "); the template's labels are: " + describe_labels(pt.labels));
      }
    });
    spec.object("strategy", kOptional, [&](Node& s) {
      if (auto t = s.one_of("type", {"RollingUpdate", "Recreate"})) {
        out.strategy = *t == "Recreate" ? DeploymentStrategy::kRecreate
                                        : DeploymentStrategy::kRollingUpdate;
      }
      if (out.strategy == DeploymentStrategy::kRecreate && s.has("rollingUpdate")) {
        s.get("rollingUpdate");
        s.error_at("rollingUpdate", "may not be set when type is Recreate");
        return;
      }
      s.object("rollingUpdate", kOptional, [&](Node& ru) {
        if (auto n = ru.get("maxSurge")) {
          if (auto v = decode_int_or_percent(*n)) out.max_surge = *v;
        }
        if (auto n = ru.get("maxUnavailable")) {
          if (auto v = decode_int_or_percent(*n)) {
            out.max_unavailable = *v;
            if (v->percent && v->value > 100) n->error("must not be greater than 100%");
          }
        }
        if (out.max_surge.value == 0 && out.max_unavailable.value == 0) {
          ru.error_at("maxUnavailable", "may not be 0 when maxSurge is 0 (the rollout could "
                                        "never make progress)");
        }
      });
    });
    if (auto v = spec.integer("minReadySeconds", kOptional, 0, kInt32Max)) {
      out.min_ready = std::chrono::seconds(*v);
    }
    if (auto v = spec.integer("revisionHistoryLimit", kOptional, 0, kInt32Max)) {
      out.revision_history_limit = static_cast<int32_t>(*v);
    }
    if (auto v = spec.integer("progressDeadlineSeconds", kOptional, 1, kInt32Max)) {
      out.progress_deadline = std::chrono::seconds(*v);
      if (out.progress_deadline <= out.min_ready) {
        spec.error_at("progressDeadlineSeconds",
                      "must be greater than minReadySeconds (" +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             out.min_ready)
                                             .count()) +
                          ")");
      }
    }
    if (auto v = spec.boolean("paused")) out.paused = *v;
  });

  // The injector reads the pod template and the namespace, never the Deployment's own
  // metadata: annotations there are a classic silent no-op (seed 000, template 2).
  for (const auto& [key, value] : meta.annotations) {
    if (key != kInjectKey && !base::starts_with(key, kConfigPrefix)) continue;
    const auto& tmpl = out.pod_template.annotations;
    auto in_template = tmpl.find(key);
    if (in_template != tmpl.end() && in_template->second == value) continue;
    std::string msg = "has no effect on the Deployment's own metadata: the proxy injector reads "
                      "the pod template and the namespace; ";
    if (in_template != tmpl.end()) {
      msg += "the pod template's value " + quote(in_template->second) + " applies";
    } else {
      msg += "put it under spec.template.metadata.annotations";
    }
    report_under(root, {"metadata", "annotations", key}, Severity::kWarning, msg);
  }
}

// ---- ServiceAccount ----

void decode(Node& root, const TypeMeta&, const ObjectMeta&, ServiceAccount& out) {
  root.suggest("spec", "ServiceAccount has no spec; automountServiceAccountToken, secrets and "
                       "imagePullSecrets are top-level fields");
  if (auto v = root.boolean("automountServiceAccountToken")) out.automount_token = *v;
  root.each_object("secrets", kOptional, [&](Node& s) {
    CoreObjectRef ref = decode_core_object_ref(s);
    if (ref.name.empty()) s.error_at("name", "missing required field");
    out.secrets.push_back(ref.name);
  });
  root.each_object("imagePullSecrets", kOptional, [&](Node& s) {
    if (auto name = s.str("name", kRequired)) out.image_pull_secrets.push_back(*name);
  });
}

// ---- HorizontalPodAutoscaler ----

void decode(Node& root, const TypeMeta& type, const ObjectMeta&, HorizontalPodAutoscaler& out) {
  const bool v1 = type.version == "v1";
  root.object("spec", kRequired, [&](Node& spec) {
    spec.object("scaleTargetRef", kRequired, [&](Node& ref) {
      if (auto s = ref.str("apiVersion")) out.scale_target_ref.api_version = *s;
      if (auto s = ref.str("kind", kRequired)) out.scale_target_ref.kind = *s;
      if (auto s = ref.str("name", kRequired)) out.scale_target_ref.name = *s;
    });
    if (auto v = spec.integer("minReplicas", kOptional, 1, kInt32Max)) {
      out.min_replicas = static_cast<int32_t>(*v);
    }
    if (auto v = spec.integer("maxReplicas", kRequired, 1, kInt32Max)) {
      out.max_replicas = static_cast<int32_t>(*v);
      if (out.max_replicas < out.min_replicas) {
        spec.error_at("maxReplicas", "must be greater than or equal to minReplicas (" +
                                         std::to_string(out.min_replicas) + ")");
      }
    }
    if (v1) {
      if (auto v = spec.integer("targetCPUUtilizationPercentage", kOptional, 1, kInt32Max)) {
        HpaMetric cpu;
        cpu.name = "cpu";
        cpu.average_utilization = static_cast<int32_t>(*v);
        out.metrics.push_back(cpu);
      }
      spec.suggest("metrics", "metrics needs apiVersion autoscaling/v2; autoscaling/v1 has only "
                              "targetCPUUtilizationPercentage");
      spec.suggest("behavior", "behavior needs apiVersion autoscaling/v2");
    } else {
      spec.each_object("metrics", kOptional, [&](Node& m) {
        if (auto metric = decode_metric(m)) out.metrics.push_back(std::move(*metric));
      });
      spec.ignore({"behavior"});
      spec.suggest("targetCPUUtilizationPercentage",
                   "autoscaling/" + type.version +
                       " uses metrics: [{type: Resource, resource: {name: cpu, target: {type: "
                       "Utilization, averageUtilization: N}}}]");
    }
  });
  if (out.metrics.empty()) {
    HpaMetric cpu;  // Kubernetes' default policy
    cpu.name = "cpu";
    cpu.average_utilization = 80;
    out.metrics.push_back(cpu);
  }
}

}  // namespace trellis::resources
