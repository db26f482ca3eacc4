#pragma once
// policy.linkerd.io authorization, rate-limit and egress kinds.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.
//
// References to other objects are resolved only as far as one manifest allows: namespaces are
// filled in (the referring object's own when not written), but whether the referent exists,
// and identity names that depend on the trust domain, are the control plane's business.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

// An address range: `cidr` minus every `except` range (each inside `cidr`).
struct Network {
  base::Cidr cidr;
  std::vector<base::Cidr> except;
  bool contains(const base::IpAddress& ip) const;
};

// A reference to another object. `group` is canonical: "" for the core group (written as
// "core", "" or omitted). `ns` is resolved: the referring object's namespace when not written.
struct ObjectReference {
  std::string group;
  std::string kind;
  std::string name;
  std::string ns;
};

struct ServiceAccountRef {
  std::string name;
  std::string ns;  // resolved: the referring object's namespace when not written
};

// A client identity to accept. "*" is a suffix match with an empty suffix (any authenticated
// client); "*.emojivoto.serviceaccount.identity.linkerd.cluster.local" a suffix match on
// "emojivoto.serviceaccount..."; anything else (a DNS-like name or a spiffe:// URI) is exact.
struct IdentityMatch {
  enum class Type { kExact, kSuffix };
  Type type = Type::kExact;
  std::string value;  // the exact identity, or the suffix without the leading "*."
  bool matches(std::string_view identity) const;
  friend bool operator==(const IdentityMatch&, const IdentityMatch&) = default;
};

// Inbound behaviour when no authorization matches: Server v1beta3 `accessPolicy`, and the
// values of config.linkerd.io/default-inbound-policy.
enum class DefaultPolicy {
  kAllUnauthenticated,
  kAllAuthenticated,
  kClusterUnauthenticated,
  kClusterAuthenticated,
  kDeny,
  kAudit,  // allows like all-unauthenticated, logging each request a stricter policy would deny
};
std::string_view to_string(DefaultPolicy p);
std::optional<DefaultPolicy> parse_default_policy(std::string_view s);

// Server `proxyProtocol`: kUnknown means the proxy detects the protocol.
enum class ProxyProtocol { kUnknown, kHttp1, kHttp2, kGrpc, kOpaque, kTls };
std::string_view to_string(ProxyProtocol p);

// Checks a mesh identity: a DNS-like name ("web.emojivoto.serviceaccount.identity.linkerd.
// cluster.local") or a spiffe:// URI; with `allow_wildcard`, also "*" and "*.<suffix>".
// Returns an empty string when valid, else what is wrong.
std::string check_mesh_identity(std::string_view s, bool allow_wildcard);

// ---- Server: a port on a set of pods (or external workloads) that policy applies to ----
struct Server {
  enum class Selects { kPods, kExternalWorkloads };
  Selects selects = Selects::kPods;
  LabelSelector selector;  // podSelector or externalWorkloadSelector; empty selects all
  PortRef port;            // container port number or name
  ProxyProtocol proxy_protocol = ProxyProtocol::kUnknown;
  // What happens to traffic no authorization allows. Only v1beta3 can set it; every version
  // denies by default, as Linkerd does once a Server selects the port.
  DefaultPolicy access_policy = DefaultPolicy::kDeny;
};

// How clients must authenticate (ServerAuthorization `client`).
enum class ClientAuthentication {
  kUnauthenticated,     // any client, mTLS or not
  kTlsUnauthenticated,  // any mTLS client, whatever its identity
  kTlsAuthenticated,    // an mTLS client whose identity matches
};

// ---- ServerAuthorization (deprecated by AuthorizationPolicy, still widely used) ----
struct ServerAuthorization {
  // Exactly one is set: one Server by name, or every Server matching the selector.
  std::string server_name;
  std::optional<LabelSelector> server_selector;
  // Client source networks. Not written: every IPv4 and IPv6 address (0.0.0.0/0, ::/0).
  // Written as an empty list: no client matches.
  std::vector<Network> networks;
  ClientAuthentication authentication = ClientAuthentication::kTlsAuthenticated;
  // For kTlsAuthenticated: the client must match one identity or be one service account.
  std::vector<IdentityMatch> identities;
  std::vector<ServiceAccountRef> service_accounts;
};

// ---- AuthorizationPolicy: target + authentications that must all be satisfied ----
struct AuthorizationPolicy {
  enum class TargetKind { kServer, kHttpRoute, kGrpcRoute, kNamespace };
  TargetKind target_kind = TargetKind::kServer;
  // Always in the policy's namespace. For kHttpRoute, `group` tells policy.linkerd.io from
  // gateway.networking.k8s.io routes.
  ObjectReference target;
  // requiredAuthenticationRefs, at most one of each kind and never both MeshTLSAuthentication
  // and ServiceAccount. None set: any client from any network (the policy authorizes everyone).
  std::optional<ObjectReference> mesh_tls_authentication;
  std::optional<ObjectReference> network_authentication;
  std::optional<ServiceAccountRef> service_account;
};

// ---- MeshTLSAuthentication: which mTLS identities a client may have ----
struct MeshTLSAuthentication {
  // Identity names depend on the trust domain, so refs stay refs here: a ServiceAccount ref is
  // the exact identity of that account, a Namespace ref matches every account in it.
  struct IdentityRef {
    enum class Kind { kServiceAccount, kNamespace };
    Kind kind = Kind::kServiceAccount;
    std::string name;
    std::string ns;  // kServiceAccount only; resolved to the authentication's namespace
  };
  // Exactly one of the two lists is non-empty.
  std::vector<IdentityMatch> identities;
  std::vector<IdentityRef> identity_refs;
};

// ---- NetworkAuthentication: which source networks a client may connect from ----
struct NetworkAuthentication {
  std::vector<Network> networks;  // never empty
};

// ---- HTTPLocalRateLimitPolicy: per-proxy inbound request rate limits on a Server ----
struct HttpLocalRateLimitPolicy {
  std::string server;  // the target Server's name, in the policy's namespace
  // Checked in this order: total; then the client's override if it has one (and nothing
  // else); otherwise the per-identity limit. Unset limits do not apply.
  std::optional<uint32_t> total_rps;
  std::optional<uint32_t> identity_rps;  // per client identity; clients without one share a bucket
  struct Override {
    uint32_t requests_per_second = 0;
    std::vector<ServiceAccountRef> clients;
  };
  std::vector<Override> overrides;
};

// ---- EgressNetwork: traffic leaving the cluster ----
struct EgressNetwork {
  enum class TrafficPolicy { kAllow, kDeny };
  // Empty: every address outside the cluster networks.
  std::vector<Network> networks;
  // For traffic that no route attached to this EgressNetwork matches.
  TrafficPolicy traffic_policy = TrafficPolicy::kDeny;
};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Server& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ServerAuthorization& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, AuthorizationPolicy& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, MeshTLSAuthentication& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, NetworkAuthentication& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta,
            HttpLocalRateLimitPolicy& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, EgressNetwork& out);

}  // namespace trellis::resources
