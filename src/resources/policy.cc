#include "resources/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <limits>

#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

constexpr std::string_view kPolicyGroup = "policy.linkerd.io";
constexpr std::string_view kGatewayGroup = "gateway.networking.k8s.io";


// Where a namespaced object lives when metadata.namespace is not written.
std::string own_namespace(const ObjectMeta& meta) {
  return meta.ns.empty() ? std::string("default") : meta.ns;
}

// ---- networks ----

// "10.1.2.3/8" -> "10.0.0.0/8": the network a CIDR with host bits set actually means.
std::string masked(const base::Cidr& c) {
  std::array<uint8_t, 16> bytes = c.address().bytes();
  const int total = c.address().is_v4() ? 32 : 128;
  for (int bit = c.prefix_length(); bit < total; ++bit) {
    bytes[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(c.address().is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(c.prefix_length());
}

std::optional<base::Cidr> decode_cidr(Node& node) {
  auto s = node.as_string();
  if (!s) return std::nullopt;
  auto cidr = base::Cidr::parse(*s);
  if (!cidr) {
    node.error(cidr.error());
    return std::nullopt;
  }
  if (cidr->has_host_bits()) {
    // Matching compares only the prefix, so this works, but it rarely says what was meant.
    node.warning("CIDR " + quote(*s) + " has bits set after the /" +
                 std::to_string(cidr->prefix_length()) + " prefix; it means " +
                 quote(masked(*cidr)));
  }
  return *cidr;
}

// Whether every address of `inner` is in `outer`.
bool inside(const base::Cidr& outer, const base::Cidr& inner) {
  return inner.address().family() == outer.address().family() &&
         inner.prefix_length() >= outer.prefix_length() && outer.contains(inner.address());
}

// One {cidr, except[]} item; nullopt when the cidr is unusable.
std::optional<Network> decode_network(Node& item) {
  Network net;
  std::optional<base::Cidr> cidr;
  if (auto n = item.get("cidr", kRequired)) cidr = decode_cidr(*n);
  item.each("except", kOptional, [&](Node& e) {
    auto ex = decode_cidr(e);
    if (!ex || !cidr) return;
    if (!inside(*cidr, *ex)) {
      e.error(quote(ex->to_string()) + " is not inside cidr " + quote(cidr->to_string()) +
              "; except can only carve addresses out of the network's own range");
      return;
    }
    net.except.push_back(*ex);
  });
  if (!cidr) return std::nullopt;
  net.cidr = *cidr;
  return net;
}

// A list of networks under `key`. Returns whether the key was written (as anything non-null).
bool decode_networks(Node& parent, std::string_view key, Req req, std::vector<Network>& out) {
  const bool written = parent.has(key);
  parent.each_object(key, req, [&](Node& item) {
    if (auto net = decode_network(item)) out.push_back(std::move(*net));
  });
  return written;
}

// ---- identities ----

std::optional<IdentityMatch> decode_identity(Node& node) {
  auto s = node.as_string();
  if (!s) return std::nullopt;
  if (std::string err = check_mesh_identity(*s, true); !err.empty()) {
    node.error("invalid identity " + quote(*s) + ": " + err);
    return std::nullopt;
  }
  if (*s == "*") return IdentityMatch{IdentityMatch::Type::kSuffix, ""};
  if (base::starts_with(*s, "*.")) return IdentityMatch{IdentityMatch::Type::kSuffix, s->substr(2)};
  return IdentityMatch{IdentityMatch::Type::kExact, *s};
}

void check_name(Node& node, const std::string& name) {
  if (std::string err = check_dns1123_subdomain(name); !err.empty()) {
    node.error("invalid name " + quote(name) + ": " + err);
  }
}

// namespace of a reference; `own` when not written.
std::string decode_ref_namespace(Node& ref, const std::string& own) {
  auto n = ref.get("namespace");
  if (!n) return own;
  auto s = n->as_string();
  if (!s || s->empty()) return own;  // "" means the local namespace, as Linkerd reads it
  if (std::string err = check_dns1123_label(*s); !err.empty()) {
    n->error("invalid namespace " + quote(*s) + ": " + err);
  }
  return *s;
}

// {name*, namespace} of a ServiceAccount.
ServiceAccountRef decode_service_account(Node& item, const std::string& own_ns) {
  ServiceAccountRef sa;
  if (auto n = item.get("name", kRequired)) {
    if (auto s = n->as_string()) {
      sa.name = *s;
      check_name(*n, *s);
    }
  }
  sa.ns = decode_ref_namespace(item, own_ns);
  return sa;
}

// ---- typed references {group, kind, name[, namespace]} ----

struct RefKind {
  std::string_view kind;
  std::vector<std::string_view> groups;  // canonical; "" is the core group
};

std::string describe_groups(const std::vector<std::string_view>& groups) {
  std::string out;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) out += i + 1 == groups.size() ? " or " : ", ";
    out += groups[i].empty() ? std::string("\"core\" (or no group)") : quote(groups[i]);
  }
  return out;
}

// Decodes a reference whose kind must be one of `kinds` (in a group that serves it). Returns
// the index into `kinds`, or nullopt when kind or group is wrong (already reported). `out` is
// filled as far as possible either way. Without `allow_namespace` the referent is always in
// `own_ns`, and a written namespace is an unknown field with `namespace_hint`.
std::optional<size_t> decode_ref(Node& ref, const std::vector<RefKind>& kinds, bool allow_namespace,
                                 const std::string& own_ns, const std::string& namespace_hint,
                                 ObjectReference& out) {
  std::optional<std::string> group;
  auto group_node = ref.get("group");
  if (group_node) group = group_node->as_string();
  if (group) out.group = *group == "core" ? std::string() : *group;

  std::optional<size_t> index;
  bool kind_ok = false;
  if (auto n = ref.get("kind", kRequired)) {
    std::vector<std::string> names;
    for (const auto& k : kinds) names.emplace_back(k.kind);
    if (auto s = n->as_enum(names)) {
      out.kind = *s;
      kind_ok = true;
      index = static_cast<size_t>(std::find(names.begin(), names.end(), *s) - names.begin());
    }
  }
  if (auto n = ref.get("name", kRequired)) {
    if (auto s = n->as_string()) {
      out.name = *s;
      check_name(*n, *s);
    }
  }
  if (allow_namespace) {
    out.ns = decode_ref_namespace(ref, own_ns);
  } else {
    out.ns = own_ns;
    ref.suggest("namespace", namespace_hint);
  }

  if (!kind_ok) return std::nullopt;
  const RefKind& k = kinds[*index];
  if (group_node && !group) return std::nullopt;  // wrong type, already reported
  if (std::find(k.groups.begin(), k.groups.end(), out.group) == k.groups.end()) {
    if (!group_node) {
      ref.error_at("group", "missing required field: kind " + std::string(k.kind) +
                                " is in group " + describe_groups(k.groups));
    } else {
      group_node->error("group " + quote(*group) + " does not serve kind " +
                        std::string(k.kind) + "; use " + describe_groups(k.groups));
    }
    return std::nullopt;
  }
  return index;
}

// A requestsPerSecond value: a positive 32-bit integer.
std::optional<uint32_t> decode_rps(Node& parent) {
  auto n = parent.get("requestsPerSecond", kRequired);
  if (!n) return std::nullopt;
  auto v = n->as_integer(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (!v) return std::nullopt;
  if (*v <= 0) {
    n->error("must be greater than 0 (to refuse all traffic, use authorization policy)");
    return std::nullopt;
  }
  if (*v > std::numeric_limits<uint32_t>::max()) {
    n->error("must be at most " + std::to_string(std::numeric_limits<uint32_t>::max()));
    return std::nullopt;
  }
  return static_cast<uint32_t>(*v);
}

bool version_in(const TypeMeta& type, std::initializer_list<std::string_view> versions) {
  return std::find(versions.begin(), versions.end(), type.version) != versions.end();
}

// Whether `key` was written as an empty list ("[]").
bool empty_list(Node& parent, std::string_view key) {
  auto n = parent.get(key);
  return n && n->is_sequence() && n->raw().size() == 0;
}

const std::vector<std::string> kDefaultPolicyNames = {
    "all-unauthenticated", "all-authenticated", "cluster-unauthenticated",
    "cluster-authenticated", "deny", "audit"};

const std::vector<std::string> kProxyProtocolNames = {"unknown", "HTTP/1", "HTTP/2",
                                                      "gRPC",    "opaque", "TLS"};

}  // namespace

// ---- small types ----

bool Network::contains(const base::IpAddress& ip) const {
  if (!cidr.contains(ip)) return false;
  return std::none_of(except.begin(), except.end(),
                      [&](const base::Cidr& e) { return e.contains(ip); });
}

bool IdentityMatch::matches(std::string_view identity) const {
  if (identity.empty()) return false;
  if (type == Type::kExact) return identity == value;
  if (value.empty()) return true;
  return identity.size() > value.size() + 1 && base::ends_with(identity, value) &&
         identity[identity.size() - value.size() - 1] == '.';
}

std::string_view to_string(DefaultPolicy p) {
  return kDefaultPolicyNames[static_cast<size_t>(p)];
}

std::optional<DefaultPolicy> parse_default_policy(std::string_view s) {
  for (size_t i = 0; i < kDefaultPolicyNames.size(); ++i) {
    if (kDefaultPolicyNames[i] == s) return static_cast<DefaultPolicy>(i);
  }
  return std::nullopt;
}

std::string_view to_string(ProxyProtocol p) { return kProxyProtocolNames[static_cast<size_t>(p)]; }

std::string check_mesh_identity(std::string_view s, bool allow_wildcard) {
  if (s.empty()) return "must not be empty";
  if (base::starts_with(s, "spiffe://")) {
    const std::string_view rest = s.substr(9);
    const std::string_view domain = rest.substr(0, rest.find('/'));
    if (domain.empty()) {
      return "a spiffe:// identity needs a trust domain (spiffe://<domain>/<path>)";
    }
    for (char c : domain) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')) {
        return "the SPIFFE trust domain may contain only lower case letters, digits, '.', '-' "
               "and '_'";
      }
    }
    for (char c : rest) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
        return "a SPIFFE ID must not contain spaces, control characters, '?' or '#'";
      }
    }
    return {};
  }
  std::string_view name = s;
  if (allow_wildcard) {
    if (s == "*") return {};
    if (base::starts_with(s, "*.")) name = s.substr(2);
  }
  if (name.find('*') != std::string_view::npos) {
    return allow_wildcard ? "a wildcard may only be \"*\" or a leading \"*.\""
                          : "must not contain a wildcard";
  }
  if (std::string err = check_dns1123_subdomain(name); !err.empty()) {
    return err + "; expected a DNS-like name such as "
                 "\"web.emojivoto.serviceaccount.identity.linkerd.cluster.local\"";
  }
  return {};
}

// ---- Server ----

void decode(Node& root, const TypeMeta& type, const ObjectMeta&, Server& out) {
  const bool has_external = version_in(type, {"v1beta2", "v1beta3"});
  const bool has_access_policy = type.version == "v1beta3";
  root.object("spec", kRequired, [&](Node& spec) {
    const bool pods = spec.has("podSelector");
    spec.object("podSelector", kOptional, [&](Node& sel) {
      out.selects = Server::Selects::kPods;
      out.selector = decode_label_selector(sel);
    });
    bool external = false;
    if (has_external) {
      external = spec.has("externalWorkloadSelector");
      spec.object("externalWorkloadSelector", kOptional, [&](Node& sel) {
        LabelSelector selector = decode_label_selector(sel);
        if (pods) return;
        out.selects = Server::Selects::kExternalWorkloads;
        out.selector = std::move(selector);
      });
      if (pods && external) {
        spec.error_at("externalWorkloadSelector",
                      "podSelector and externalWorkloadSelector are mutually exclusive; a "
                      "Server selects either pods or external workloads");
      }
    } else {
      spec.suggest("externalWorkloadSelector",
                   "externalWorkloadSelector requires apiVersion policy.linkerd.io/v1beta2 or "
                   "later");
    }
    if (!pods && !external) {
      spec.error_at("podSelector",
                    has_external ? "missing required field: a Server selects pods with "
                                   "podSelector or external workloads with "
                                   "externalWorkloadSelector"
                                 : "missing required field");
    }

    if (auto port = spec.get("port", kRequired)) {
      if (auto p = decode_port(*port)) out.port = *p;
    }
    if (auto proto = spec.one_of("proxyProtocol", kProxyProtocolNames)) {
      const auto it = std::find(kProxyProtocolNames.begin(), kProxyProtocolNames.end(), *proto);
      out.proxy_protocol = static_cast<ProxyProtocol>(it - kProxyProtocolNames.begin());
    }
    if (has_access_policy) {
      if (auto policy = spec.one_of("accessPolicy", kDefaultPolicyNames)) {
        out.access_policy = *parse_default_policy(*policy);
      }
    } else {
      spec.suggest("accessPolicy",
                   "accessPolicy requires apiVersion policy.linkerd.io/v1beta3 (older versions "
                   "always deny traffic that no authorization allows)");
    }
  });
}

// ---- ServerAuthorization ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, ServerAuthorization& out) {
  const std::string ns = own_namespace(meta);
  root.object("spec", kRequired, [&](Node& spec) {
    spec.object("server", kRequired, [&](Node& server) {
      const bool by_name = server.has("name");
      const bool by_selector = server.has("selector");
      if (auto n = server.get("name")) {
        if (auto s = n->as_string()) {
          out.server_name = *s;
          if (std::string err = check_dns1123_label(*s); !err.empty()) {
            n->error("invalid Server name " + quote(*s) + ": " + err);
          }
        }
      }
      server.object("selector", kOptional,
                    [&](Node& sel) { out.server_selector = decode_label_selector(sel); });
      if (by_name && by_selector) {
        server.error_at("selector",
                        "name and selector are mutually exclusive; target one Server by name or "
                        "Servers by label");
      } else if (!by_name && !by_selector) {
        server.error("must set name (one Server) or selector (Servers by label)");
      }
    });

    spec.object("client", kRequired, [&](Node& client) {
      const bool networks_written = decode_networks(client, "networks", kOptional, out.networks);
      if (!networks_written) {
        out.networks = {Network{*base::Cidr::parse("0.0.0.0/0"), {}},
                        Network{*base::Cidr::parse("::/0"), {}}};
      } else if (empty_list(client, "networks")) {
        client.warning_at("networks",
                          "an empty list matches no client; omit networks to allow clients from "
                          "any network");
      }

      const bool unauthenticated = client.boolean("unauthenticated").value_or(false);
      const bool mesh_tls = client.has("meshTLS");
      bool unauthenticated_tls = false;
      client.object("meshTLS", kOptional, [&](Node& m) {
        unauthenticated_tls = m.boolean("unauthenticatedTLS").value_or(false);
        const size_t ids = m.each("identities", kOptional, [&](Node& item) {
          if (auto id = decode_identity(item)) out.identities.push_back(std::move(*id));
        });
        const size_t sas = m.each_object("serviceAccounts", kOptional, [&](Node& item) {
          out.service_accounts.push_back(decode_service_account(item, ns));
        });
        if (unauthenticated_tls && ids + sas > 0) {
          m.error_at("unauthenticatedTLS",
                     "must be false when identities or serviceAccounts are given "
                     "(unauthenticatedTLS accepts any mTLS client, so the list would have no "
                     "effect)");
        } else if (!unauthenticated_tls && ids + sas == 0) {
          m.error("must set identities, serviceAccounts or unauthenticatedTLS: true");
        }
      });
      if (unauthenticated && mesh_tls) {
        client.error_at("unauthenticated",
                        "must be false when meshTLS is set (unauthenticated already allows "
                        "clients with or without mTLS); remove one of them");
      } else if (!unauthenticated && !mesh_tls) {
        client.error("must allow some clients: set unauthenticated: true or meshTLS "
                     "(networks alone only restrict where clients connect from)");
      }
      out.authentication = unauthenticated       ? ClientAuthentication::kUnauthenticated
                           : unauthenticated_tls ? ClientAuthentication::kTlsUnauthenticated
                                                 : ClientAuthentication::kTlsAuthenticated;
    });
  });
}

// ---- AuthorizationPolicy ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, AuthorizationPolicy& out) {
  const std::string ns = own_namespace(meta);
  root.object("spec", kRequired, [&](Node& spec) {
    spec.object("targetRef", kRequired, [&](Node& ref) {
      static const std::vector<RefKind> kTargets = {
          {"Server", {kPolicyGroup}},
          {"HTTPRoute", {kPolicyGroup, kGatewayGroup}},
          {"GRPCRoute", {kGatewayGroup}},
          {"Namespace", {""}},
      };
      auto index = decode_ref(ref, kTargets, false, ns,
                              "a policy's targetRef is always in the policy's own namespace",
                              out.target);
      if (!index) return;
      out.target_kind = static_cast<AuthorizationPolicy::TargetKind>(*index);
      if (out.target_kind == AuthorizationPolicy::TargetKind::kNamespace &&
          !out.target.name.empty() && out.target.name != ns) {
        ref.error_at("name", "a Namespace target must be the policy's own namespace " + quote(ns));
      }
    });

    static const std::vector<RefKind> kAuthns = {
        {"MeshTLSAuthentication", {kPolicyGroup}},
        {"NetworkAuthentication", {kPolicyGroup}},
        {"ServiceAccount", {""}},
    };
    spec.each_object("requiredAuthenticationRefs", kRequired, [&](Node& item) {
      ObjectReference ref;
      auto index = decode_ref(item, kAuthns, true, ns, "", ref);
      if (!index) return;
      switch (*index) {
        case 0:
          if (out.mesh_tls_authentication) {
            item.error("only one MeshTLSAuthentication may be referenced (all refs must be "
                       "satisfied together; list every allowed identity in one "
                       "MeshTLSAuthentication)");
          } else if (out.service_account) {
            item.error("a MeshTLSAuthentication cannot be combined with a ServiceAccount; both "
                       "require a client identity, so name the account in the "
                       "MeshTLSAuthentication's identityRefs");
          } else {
            out.mesh_tls_authentication = std::move(ref);
          }
          break;
        case 1:
          if (out.network_authentication) {
            item.error("only one NetworkAuthentication may be referenced (all refs must be "
                       "satisfied together; list every allowed network in one "
                       "NetworkAuthentication)");
          } else {
            out.network_authentication = std::move(ref);
          }
          break;
        default:
          if (out.service_account) {
            item.error("only one ServiceAccount may be referenced (to allow several, use a "
                       "MeshTLSAuthentication with identityRefs)");
          } else if (out.mesh_tls_authentication) {
            item.error("a ServiceAccount cannot be combined with a MeshTLSAuthentication; both "
                       "require a client identity, so name the account in the "
                       "MeshTLSAuthentication's identityRefs");
          } else {
            out.service_account = ServiceAccountRef{ref.name, ref.ns};
          }
          break;
      }
    });
  });
}

// ---- MeshTLSAuthentication ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, MeshTLSAuthentication& out) {
  const std::string ns = own_namespace(meta);
  root.object("spec", kRequired, [&](Node& spec) {
    const bool ids_written = spec.has("identities");
    const bool refs_written = spec.has("identityRefs");
    const size_t ids = spec.each("identities", kOptional, [&](Node& item) {
      if (auto id = decode_identity(item)) out.identities.push_back(std::move(*id));
    });
    static const std::vector<RefKind> kIdentityKinds = {
        {"ServiceAccount", {""}},
        {"Namespace", {""}},
    };
    const size_t refs = spec.each_object("identityRefs", kOptional, [&](Node& item) {
      ObjectReference ref;
      auto index = decode_ref(item, kIdentityKinds, true, ns, "", ref);
      if (!index) return;
      MeshTLSAuthentication::IdentityRef id;
      id.name = ref.name;
      if (*index == 0) {
        id.kind = MeshTLSAuthentication::IdentityRef::Kind::kServiceAccount;
        id.ns = ref.ns;
      } else {
        id.kind = MeshTLSAuthentication::IdentityRef::Kind::kNamespace;
        if (item.has("namespace")) {
          item.error_at("namespace", "a Namespace is cluster-scoped; remove namespace");
        }
        // Names that fail the object-name check were reported by decode_ref already.
        const std::string err = check_dns1123_label(ref.name);
        if (!err.empty() && check_dns1123_subdomain(ref.name).empty()) {
          item.error_at("name", "invalid namespace name " + quote(ref.name) + ": " + err);
        }
      }
      out.identity_refs.push_back(std::move(id));
    });
    if (ids_written && refs_written) {
      spec.error_at("identityRefs",
                    "identities and identityRefs are mutually exclusive; use one of them");
    } else if (!ids_written && !refs_written) {
      spec.error("must set identities or identityRefs");
    } else if (ids_written && ids == 0 && empty_list(spec, "identities")) {
      spec.error_at("identities", "must list at least one identity (\"*\" allows any)");
    } else if (refs_written && refs == 0 && empty_list(spec, "identityRefs")) {
      spec.error_at("identityRefs", "must list at least one reference");
    }
  });
}

// ---- NetworkAuthentication ----

void decode(Node& root, const TypeMeta&, const ObjectMeta&, NetworkAuthentication& out) {
  root.object("spec", kRequired, [&](Node& spec) {
    decode_networks(spec, "networks", kRequired, out.networks);
    if (empty_list(spec, "networks")) spec.error_at("networks", "must list at least one network");
  });
}

// ---- HTTPLocalRateLimitPolicy ----

void decode(Node& root, const TypeMeta&, const ObjectMeta& meta, HttpLocalRateLimitPolicy& out) {
  const std::string ns = own_namespace(meta);
  root.object("spec", kRequired, [&](Node& spec) {
    spec.object("targetRef", kRequired, [&](Node& ref) {
      static const std::vector<RefKind> kTargets = {{"Server", {kPolicyGroup}}};
      ObjectReference target;
      decode_ref(ref, kTargets, false, ns,
                 "a rate limit policy's targetRef is always in the policy's own namespace",
                 target);
      out.server = target.name;
    });
    spec.object("total", kOptional, [&](Node& t) { out.total_rps = decode_rps(t); });
    spec.object("identity", kOptional, [&](Node& id) {
      out.identity_rps = decode_rps(id);
      if (out.identity_rps && out.total_rps && *out.identity_rps > *out.total_rps) {
        id.error_at("requestsPerSecond", "must not exceed total.requestsPerSecond (" +
                                             std::to_string(*out.total_rps) + ")");
      }
    });
    std::vector<std::pair<std::string, std::string>> seen_clients;
    spec.each_object("overrides", kOptional, [&](Node& o) {
      HttpLocalRateLimitPolicy::Override ov;
      if (auto rps = decode_rps(o)) {
        ov.requests_per_second = *rps;
        if (out.total_rps && *rps > *out.total_rps) {
          o.error_at("requestsPerSecond", "must not exceed total.requestsPerSecond (" +
                                              std::to_string(*out.total_rps) + ")");
        }
      }
      static const std::vector<RefKind> kClients = {{"ServiceAccount", {""}}};
      const size_t n = o.each_object("clientRefs", kRequired, [&](Node& c) {
        ObjectReference ref;
        if (!decode_ref(c, kClients, true, ns, "", ref)) return;
        const std::pair<std::string, std::string> key{ref.ns, ref.name};
        if (std::find(seen_clients.begin(), seen_clients.end(), key) != seen_clients.end()) {
          c.error("ServiceAccount " + ref.ns + "/" + ref.name +
                  " already has an override; a client can have only one");
          return;
        }
        seen_clients.push_back(key);
        ov.clients.push_back(ServiceAccountRef{ref.name, ref.ns});
      });
      if (n == 0 && empty_list(o, "clientRefs")) {
        o.error_at("clientRefs", "must list at least one client");
      }
      out.overrides.push_back(std::move(ov));
    });
    if (!spec.has("total") && !spec.has("identity") && !spec.has("overrides")) {
      spec.warning("sets no limit (total, identity or overrides), so it has no effect");
    }
  });
}

// ---- EgressNetwork ----

void decode(Node& root, const TypeMeta&, const ObjectMeta&, EgressNetwork& out) {
  root.object("spec", kRequired, [&](Node& spec) {
    decode_networks(spec, "networks", kOptional, out.networks);
    if (auto p = spec.one_of("trafficPolicy", {"Allow", "Deny"}, kRequired)) {
      using TrafficPolicy = EgressNetwork::TrafficPolicy;
      out.traffic_policy = *p == "Allow" ? TrafficPolicy::kAllow : TrafficPolicy::kDeny;
    }
  });
}

}  // namespace trellis::resources
