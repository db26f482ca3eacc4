#include "resources/service_profile.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "base/address.h"
#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

// Deeper trees are legal but nobody writes them; the limit keeps recursion bounded on
// hostile input (the node budget bounds breadth, not depth).
constexpr int kMaxMatchDepth = 32;

// The proxy carries dstOverride weights as uint32 milli-units (WeightedDst.weight).
constexpr int64_t kMaxDstWeightMilli = std::numeric_limits<uint32_t>::max();

// The budget window the proxy accepts (tower's TpsBudget asserts 1s <= ttl <= 60s).
constexpr base::Duration kMinBudgetTtl = std::chrono::seconds(1);
constexpr base::Duration kMaxBudgetTtl = std::chrono::seconds(60);

// The retry ratio the proxy accepts (retries per original request).
constexpr double kMaxRetryRatio = 1000.0;

const std::vector<std::string>& standard_methods() {
  static const std::vector<std::string> kMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                    "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return kMethods;
}


bool is_token(std::string_view s) {
  static constexpr std::string_view kTchar = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kTchar.find(c) != std::string_view::npos;
  });
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The raw child `key` of a map node (undefined when absent), read without declaring the key.
YAML::Node raw_child(const Node& n, std::string_view key) {
  const YAML::Node& raw = n.raw();
  if (!raw.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool is_empty_list(const Node& n, std::string_view key) {
  const YAML::Node child = raw_child(n, key);
  return child.IsDefined() && child.IsSequence() && child.size() == 0;
}

// metadata was decoded (and checked) by the registry; re-reading it through a Node would
// repeat those checks, so problems with the name are reported straight to Diagnostics.
void report_on_metadata_name(Node& root, bool is_error, std::string message) {
  DecodeContext& ctx = root.context();
  Location loc = root.location();
  const YAML::Node metadata = raw_child(root, "metadata");
  if (metadata.IsDefined() && metadata.IsMap()) {
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "name") {
        loc = ctx.location(it->second.Mark());
      }
    }
  }
  if (is_error) {
    ctx.diags.error(loc, ctx.object, "metadata.name", std::move(message));
  } else {
    ctx.diags.warning(loc, ctx.object, "metadata.name", std::move(message));
  }
}

// metadata.name is the FQDN of the service the profile describes.
void decode_identity(Node& root, const ObjectMeta& meta, ServiceProfile& out) {
  // A missing or malformed name was already reported by the metadata decoder.
  if (meta.name.empty() || !check_dns1123_subdomain(meta.name).empty()) return;
  const std::vector<std::string_view> labels = base::split(meta.name, '.');
  const std::string profile_ns = meta.ns.empty() ? std::string("default") : meta.ns;
  if (labels.size() < 4 || labels[2] != "svc") {
    std::string ns = meta.ns;
    if (ns.empty()) {
      ns = labels.size() >= 2 && labels[1] != "svc" ? std::string(labels[1]) : "default";
    }
    report_on_metadata_name(root, true,
                            "must be the service's fully-qualified name " +
                                quote(std::string(labels[0]) + "." + ns + ".svc.cluster.local") +
                                " (<service>.<namespace>.svc.<cluster domain>)");
    return;
  }
  bool ok = true;
  if (std::string err = check_dns1123_label(labels[0]); !err.empty()) {
    report_on_metadata_name(root, true,
                            "invalid service name " + quote(labels[0]) + " in the FQDN: " + err);
    ok = false;
  }
  if (std::string err = check_dns1123_label(labels[1]); !err.empty()) {
    report_on_metadata_name(root, true,
                            "invalid namespace " + quote(labels[1]) + " in the FQDN: " + err);
    ok = false;
  }
  if (!ok) return;
  out.fqdn = meta.name;
  out.service = std::string(labels[0]);
  out.service_namespace = std::string(labels[1]);
  out.cluster_domain = meta.name.substr(labels[0].size() + labels[1].size() + 6);
  if (out.service_namespace == profile_ns) return;
  out.client_override = true;
  if (meta.ns.empty()) {
    report_on_metadata_name(
        root, false,
        "metadata.namespace is not set, so this profile for service " + quote(out.service) +
            " in namespace " + quote(out.service_namespace) +
            " goes to namespace \"default\" (unless applied with a namespace), where it applies "
            "only to clients in \"default\" (a client-side override); set namespace: " +
            out.service_namespace + " to apply it to every client");
  } else {
    report_on_metadata_name(root, false,
                            "this profile is for service " + quote(out.service) + " in namespace " +
                                quote(out.service_namespace) + " but lives in namespace " +
                                quote(meta.ns) + ": it applies only to clients in namespace " +
                                quote(meta.ns) + " (a client-side override); put it in namespace " +
                                quote(out.service_namespace) + " to apply it to every client");
  }
}

// `not` is a single match in Linkerd's Go types, but its CRD declares a list: accept a map,
// or a list holding exactly one map (with a warning). Returns the operand, if it decoded.
template <typename Match, typename DecodeFn>
std::optional<Match> decode_not(Node& parent, const DecodeFn& decode_match, int depth) {
  auto n = parent.get("not");
  if (!n) return std::nullopt;
  if (n->is_map()) {
    Match m = decode_match(*n, depth + 1);
    n->finish();
    return m;
  }
  if (!n->is_sequence()) {
    n->error("expected a match (a map), got " + n->describe());
    return std::nullopt;
  }
  const YAML::Node& items = n->raw();
  if (items.size() != 1) {
    n->error("must be a single match, got a list of " + std::to_string(items.size()) +
             "; to exclude several conditions write not: {any: [...]}");
    return std::nullopt;
  }
  n->warning("not takes a single match; write it as a map rather than a one-item list");
  Node item(n->context(), items[0], index_path(n->path(), 0));
  if (!item.is_map()) {
    item.error("expected a match (a map), got " + item.describe());
    return std::nullopt;
  }
  Match m = decode_match(item, depth + 1);
  item.finish();
  return m;
}

// Several keys in one condition mean all of them; no usable key matches nothing.
template <typename Match>
Match combine(std::vector<Match> parts) {
  if (parts.size() == 1) return std::move(parts.front());
  Match m;
  m.kind = parts.empty() ? Match::Kind::kAny : Match::Kind::kAll;
  m.children = std::move(parts);
  return m;
}

void check_method(Node& n, const std::string& method) {
  const auto& standard = standard_methods();
  if (std::find(standard.begin(), standard.end(), method) != standard.end()) return;
  const std::string upper = to_upper(method);
  if (std::find(standard.begin(), standard.end(), upper) != standard.end()) {
    n.warning("HTTP methods are case-sensitive: " + quote(method) +
              " matches only requests whose method is exactly " + quote(method) +
              " (did you mean " + quote(upper) + "?)");
    return;
  }
  std::string msg = "unusual HTTP method " + quote(method) +
                    "; the route matches only requests with exactly this method";
  const std::string near = base::closest_match(method, standard);
  if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
  n.warning(msg);
}

void check_path_regex(Node& n, const std::string& pattern, ProfileRequestMatch& leaf) {
  if (!check_regex(n, pattern)) return;
  const std::string anchored = "^(?:" + pattern + ")$";
  if (!check_regex(n, anchored)) return;
  leaf.path_regex = pattern;
  leaf.anchored_path_regex = anchored;
  if (pattern.empty()) {
    n.warning("an empty pattern matches no request path (use \".*\" to match every path)");
  } else if (std::isalnum(static_cast<unsigned char>(pattern.front())) != 0 &&
             pattern.find('|') == std::string::npos) {
    // Linkerd anchors the pattern to the whole path, and paths start with "/".
    n.warning("the pattern must match the whole path, and request paths start with \"/\", so " +
              quote(pattern) + " matches no request (did you mean " + quote("/" + pattern) + "?)");
  }
}

ProfileRequestMatch decode_request_match(Node& n, int depth);
ProfileResponseMatch decode_response_match(Node& n, int depth);

// The `all` / `any` list of a condition, decoded with `decode_match`.
template <typename Match, typename DecodeFn>
void decode_match_list(Node& n, std::string_view key, typename Match::Kind kind,
                       const DecodeFn& decode_match, int depth, std::string_view what,
                       std::vector<Match>& parts) {
  if (!n.has(key)) {
    n.ignore({key});
    return;
  }
  Match m;
  m.kind = kind;
  n.each_object(key, kOptional,
                [&](Node& item) { m.children.push_back(decode_match(item, depth + 1)); });
  if (is_empty_list(n, key)) {
    n.warning_at(key, std::string("an empty ") + std::string(key) + " matches " +
                          (kind == Match::Kind::kAll ? "every " : "no ") + std::string(what));
  }
  parts.push_back(std::move(m));
}

bool too_deep(Node& n, int depth) {
  if (depth <= kMaxMatchDepth) return false;
  n.error("conditions are nested too deeply (at most " + std::to_string(kMaxMatchDepth) +
          " levels)");
  n.ignore({"all", "any", "not", "method", "pathRegex", "status"});
  return true;
}

ProfileRequestMatch decode_request_match(Node& n, int depth) {
  if (too_deep(n, depth)) return combine<ProfileRequestMatch>({});
  std::vector<ProfileRequestMatch> parts;
  bool any_key =
      n.has("all") || n.has("any") || n.has("method") || n.has("not") || n.has("pathRegex");
  // Linkerd's order (profile_translator.go): all, any, method, not, pathRegex.
  decode_match_list<ProfileRequestMatch>(n, "all", ProfileRequestMatch::Kind::kAll,
                                         decode_request_match, depth, "request", parts);
  decode_match_list<ProfileRequestMatch>(n, "any", ProfileRequestMatch::Kind::kAny,
                                         decode_request_match, depth, "request", parts);
  if (auto method = n.get("method")) {
    if (auto s = method->as_string()) {
      if (!is_token(*s)) {
        method->error("invalid HTTP method " + quote(*s) +
                      ": must be a token of letters, digits and !#$%&'*+-.^_`|~");
      } else {
        check_method(*method, *s);
        ProfileRequestMatch leaf;
        leaf.kind = ProfileRequestMatch::Kind::kMethod;
        leaf.method = *s;
        parts.push_back(std::move(leaf));
      }
    }
  }
  if (auto operand = decode_not<ProfileRequestMatch>(n, decode_request_match, depth)) {
    ProfileRequestMatch m;
    m.kind = ProfileRequestMatch::Kind::kNot;
    m.children.push_back(std::move(*operand));
    parts.push_back(std::move(m));
  }
  if (auto path = n.get("pathRegex")) {
    if (auto s = path->as_string()) {
      ProfileRequestMatch leaf;
      leaf.kind = ProfileRequestMatch::Kind::kPathRegex;
      check_path_regex(*path, *s, leaf);
      if (!leaf.anchored_path_regex.empty()) parts.push_back(std::move(leaf));
    }
  }
  if (!any_key) n.error("must set at least one of pathRegex, method, all, any or not");
  return combine(std::move(parts));
}

ProfileResponseMatch decode_response_match(Node& n, int depth) {
  if (too_deep(n, depth)) return combine<ProfileResponseMatch>({});
  std::vector<ProfileResponseMatch> parts;
  bool any_key = n.has("all") || n.has("any") || n.has("status") || n.has("not");
  decode_match_list<ProfileResponseMatch>(n, "all", ProfileResponseMatch::Kind::kAll,
                                          decode_response_match, depth, "response", parts);
  decode_match_list<ProfileResponseMatch>(n, "any", ProfileResponseMatch::Kind::kAny,
                                          decode_response_match, depth, "response", parts);
  if (auto status = n.get("status")) {
    if (!status->is_map()) {
      status->error("expected a map with min and/or max, got " + status->describe());
    } else {
      ProfileResponseMatch leaf;
      leaf.kind = ProfileResponseMatch::Kind::kStatus;
      const bool has_min = status->has("min");
      const bool has_max = status->has("max");
      auto min = status->integer("min", kOptional, 100, 599);
      auto max = status->integer("max", kOptional, 100, 599);
      bool ok = (!has_min || min) && (!has_max || max);
      if (!has_min && !has_max) {
        status->error("must set min, max or both (e.g. min: 500, max: 599)");
        ok = false;
      } else if (min && max && *min > *max) {
        status->error("min (" + std::to_string(*min) + ") must not be greater than max (" +
                      std::to_string(*max) + ")");
        ok = false;
      }
      if (min) leaf.status.min = static_cast<int>(*min);
      if (max) leaf.status.max = static_cast<int>(*max);
      status->finish();
      if (ok) parts.push_back(std::move(leaf));
    }
  }
  if (auto operand = decode_not<ProfileResponseMatch>(n, decode_response_match, depth)) {
    ProfileResponseMatch m;
    m.kind = ProfileResponseMatch::Kind::kNot;
    m.children.push_back(std::move(*operand));
    parts.push_back(std::move(m));
  }
  if (!any_key) n.error("must set at least one of status, all, any or not");
  return combine(std::move(parts));
}

void decode_routes(Node& spec, ServiceProfile& out) {
  std::map<std::string, std::string> names;  // route name -> path of its first use
  spec.each_object("routes", kOptional, [&](Node& r) {
    r.suggest("retryBudget", "the retry budget is set once per profile, at spec.retryBudget");
    r.suggest("retries", "set isRetryable: true on the route (the budget is spec.retryBudget)");
    ProfileRoute route;
    if (auto name = r.get("name", kRequired)) {
      if (auto s = name->as_string()) {
        route.name = *s;
        if (s->empty()) {
          name->error("must not be empty");
        } else if (auto [it, inserted] = names.emplace(*s, r.path()); !inserted) {
          name->error("duplicate route name " + quote(*s) + " (first used by " + it->second + ")");
        }
      }
    }
    r.object("condition", kRequired,
             [&](Node& c) { route.condition = decode_request_match(c, 0); });
    r.each_object("responseClasses", kOptional, [&](Node& rc) {
      ProfileResponseClass cls;
      rc.object("condition", kRequired,
                [&](Node& c) { cls.condition = decode_response_match(c, 0); });
      if (auto f = rc.boolean("isFailure")) cls.is_failure = *f;
      route.response_classes.push_back(std::move(cls));
    });
    if (auto retryable = r.boolean("isRetryable")) route.is_retryable = *retryable;
    if (auto timeout = r.get("timeout")) {
      if (auto d = timeout->as_duration()) {
        if (d->count() <= 0) {
          timeout->error("must be greater than zero, e.g. \"5s\"");
        } else {
          route.timeout = *d;
        }
      }
    }
    out.routes.push_back(std::move(route));
  });
}

void decode_retry_budget(Node& spec, ServiceProfile& out) {
  spec.object("retryBudget", kOptional, [&](Node& b) {
    out.retry_budget_set = true;
    ProfileRetryBudget& budget = out.retry_budget;
    if (auto ratio = b.get("retryRatio", kRequired)) {
      if (auto v = ratio->as_number()) {
        if (*v < 0) {
          ratio->error("must not be negative, got " + ratio->scalar());
        } else if (*v > kMaxRetryRatio) {
          ratio->error("must be at most 1000 retries per request, got " + ratio->scalar() +
                       " (0.2 allows 20% extra requests)");
        } else {
          budget.retry_ratio = *v;
        }
      }
    }
    if (auto min =
            b.integer("minRetriesPerSecond", kRequired, 0, std::numeric_limits<uint32_t>::max())) {
      budget.min_retries_per_second = static_cast<uint32_t>(*min);
    }
    if (auto ttl = b.get("ttl", kRequired)) {
      if (auto d = ttl->as_duration()) {
        if (d->count() <= 0) {
          ttl->error("must be greater than zero, e.g. \"10s\"");
        } else if (*d < kMinBudgetTtl || *d > kMaxBudgetTtl) {
          const base::Duration clamped = std::clamp(*d, kMinBudgetTtl, kMaxBudgetTtl);
          ttl->warning("the retry budget window must be between 1s and 60s; " +
                       base::format_go_duration(*d) + " is used as " +
                       base::format_go_duration(clamped));
          budget.ttl = clamped;
        } else {
          budget.ttl = *d;
        }
      }
    }
    if (b.has("retryRatio") && b.has("minRetriesPerSecond") && budget.retry_ratio == 0 &&
        budget.min_retries_per_second == 0) {
      b.warning("with retryRatio 0 and minRetriesPerSecond 0 no request is ever retried");
    }
  });
}

// "host:port", "[v6]:port"; reports what is wrong on `n`.
bool parse_authority(Node& n, const std::string& authority, ProfileDstOverride& dst) {
  const std::string example = "e.g. \"web-v2.emojivoto.svc.cluster.local:80\"";
  std::string host;
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      n.error("invalid authority " + quote(authority) + ": missing \"]\" after the IPv6 address");
      return false;
    }
    host = authority.substr(1, close - 1);
    const std::string rest = authority.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      n.error("authority " + quote(authority) + " has no port; write host:port, " + example);
      return false;
    }
    port = rest.substr(1);
    auto ip = base::IpAddress::parse(host);
    if (!ip || ip->is_v4()) {
      n.error("invalid authority " + quote(authority) + ": " + quote(host) +
              " is not an IPv6 address");
      return false;
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon == std::string::npos) {
      n.error("authority " + quote(authority) + " has no port; write host:port, e.g. " +
              quote(authority + ":80"));
      return false;
    }
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      n.error("invalid authority " + quote(authority) +
              ": write IPv6 addresses in brackets, e.g. \"[fd00::1]:80\"");
      return false;
    }
    if (host.empty()) {
      n.error("invalid authority " + quote(authority) + ": missing host; " + example);
      return false;
    }
    if (!base::IpAddress::parse(host)) {
      if (std::string err = check_dns1123_subdomain(host); !err.empty()) {
        n.error("invalid host " + quote(host) + " in authority: " + err);
        return false;
      }
    }
  }
  int64_t port_number = 0;
  const bool digits =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) port_number = std::stoll(port);
  if (!digits || port_number < 1 || port_number > 65535) {
    n.error("invalid port " + quote(port) + " in authority " + quote(authority) +
            ": must be a number from 1 to 65535");
    return false;
  }
  dst.host = host;
  dst.port = static_cast<uint16_t>(port_number);
  return true;
}

void decode_dst_overrides(Node& spec, ServiceProfile& out) {
  std::map<std::string, std::string> seen;  // authority -> path of its first use
  bool weights_ok = true;
  spec.each_object("dstOverrides", kOptional, [&](Node& item) {
    ProfileDstOverride dst;
    if (auto authority = item.get("authority", kRequired)) {
      if (auto s = authority->as_string()) {
        dst.authority = *s;
        if (parse_authority(*authority, *s, dst)) {
          if (auto [it, inserted] = seen.emplace(*s, item.path()); !inserted) {
            authority->error("duplicate authority " + quote(*s) + " (first listed at " +
                             it->second + ")");
          }
        }
      }
    }
    bool weight_ok = false;
    if (auto weight = item.get("weight", kRequired)) {
      if (auto q = weight->as_quantity()) {
        if (q->milli < 0) {
          weight->error("must not be negative, got " + weight->scalar());
        } else if (q->milli > kMaxDstWeightMilli) {
          weight->error("must be at most 4294967295m, got " + weight->scalar());
        } else {
          dst.weight_milli = q->milli;
          weight_ok = true;
        }
      }
    }
    weights_ok = weights_ok && weight_ok;
    out.dst_overrides.push_back(std::move(dst));
  });
  if (weights_ok && !out.dst_overrides.empty() &&
      std::all_of(out.dst_overrides.begin(), out.dst_overrides.end(),
                  [](const ProfileDstOverride& d) { return d.weight_milli == 0; })) {
    spec.error_at("dstOverrides", "all weights are zero; no destination would receive traffic");
  }
}

void decode_opaque_ports(Node& spec, ServiceProfile& out) {
  std::set<uint16_t> ports;
  spec.each("opaquePorts", kOptional, [&](Node& item) {
    auto port = decode_port(item, false);
    if (!port) return;
    const auto number = static_cast<uint16_t>(port->number());
    if (!ports.insert(number).second) {
      item.warning("duplicate port " + std::to_string(number));
    }
  });
  out.opaque_ports.assign(ports.begin(), ports.end());
}

}  // namespace

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, ServiceProfile& out) {
  decode_identity(root, meta, out);
  root.object("spec", kRequired, [&](Node& spec) {
    spec.suggest("retries",
                 "mark routes retryable with spec.routes[].isRetryable and limit "
                 "retries with spec.retryBudget");
    spec.suggest("timeout", "timeouts are per route: spec.routes[].timeout");
    decode_routes(spec, out);
    decode_retry_budget(spec, out);
    decode_dst_overrides(spec, out);
    decode_opaque_ports(spec, out);
  });
}

}  // namespace trellis::resources
