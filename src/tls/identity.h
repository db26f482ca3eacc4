#pragma once
// Mesh identity names (linkerd.md §3, DESIGN.md §5):
//   <sa>.<ns>.serviceaccount.identity.<control-ns>.<trust-domain>
// e.g. web.emojivoto.serviceaccount.identity.linkerd.cluster.local. The identity is the single
// DNS SAN of a proxy's leaf certificate, the SNI a client sends, and the name policy matches.
// The issuer (intermediate CA) is named identity.<control-ns>.<trust-domain>.

#include <compare>
#include <string>
#include <string_view>

#include "tls/error.h"

namespace trellis::tls {

// A validated DNS-like name used as a TLS identity: 1..253 bytes, dot-separated labels of
// 1..63 bytes of [a-z0-9-], no label starting or ending with '-' (RFC 1123 / Kubernetes
// DNS-1123). Lowercase only, so byte equality is name equality and no case folding is ever
// needed when comparing certificate SANs.
class Identity {
 public:
  static Result<Identity> parse(std::string_view name);

  const std::string& str() const { return name_; }
  friend auto operator<=>(const Identity&, const Identity&) = default;

 private:
  explicit Identity(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Where identities live. Both default to Linkerd's defaults; the trust domain normally follows
// the cluster domain.
struct IdentityDomain {
  std::string control_namespace = "linkerd";
  std::string trust_domain = "cluster.local";

  // Checks both parts: the namespace is one DNS-1123 label, the trust domain one or more.
  Result<Ok> validate() const;
};

struct ServiceAccountName {
  std::string service_account;
  std::string ns;
  friend bool operator==(const ServiceAccountName&, const ServiceAccountName&) = default;
};

// "<sa>.<ns>.serviceaccount.identity.<control-ns>.<trust-domain>"; sa and ns must each be one
// DNS-1123 label (a dotted name would make the identity ambiguous).
Result<Identity> service_account_identity(std::string_view service_account, std::string_view ns,
                                          const IdentityDomain& domain = {});

// The inverse: kInvalidIdentity unless `identity` is exactly a service-account identity of
// `domain`.
Result<ServiceAccountName> parse_service_account_identity(const Identity& identity,
                                                          const IdentityDomain& domain = {});

// "identity.<control-ns>.<trust-domain>": the issuer certificate's name and the identity
// service's server name.
Result<Identity> issuer_identity(const IdentityDomain& domain = {});

// True for a single DNS-1123 label (1..63 bytes of [a-z0-9-], alphanumeric at both ends).
bool is_dns1123_label(std::string_view label);

}  // namespace trellis::tls
