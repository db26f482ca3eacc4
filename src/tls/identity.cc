#include "tls/identity.h"

#include "base/strings.h"

namespace trellis::tls {
namespace {

constexpr size_t kMaxNameLength = 253;
constexpr std::string_view kServiceAccountLabels = ".serviceaccount.identity.";

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (std::string_view label : base::split(name, '.')) {
    if (!is_dns1123_label(label)) return false;
  }
  return true;
}

}  // namespace

bool is_dns1123_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  for (char c : label) {
    if (!is_label_char(c)) return false;
  }
  return label.front() != '-' && label.back() != '-';
}

Result<Identity> Identity::parse(std::string_view name) {
  if (!is_dns_name(name)) {
    return fail(ErrorCode::kInvalidIdentity,
                "not a lowercase DNS name: \"" + std::string(name.substr(0, kMaxNameLength)) +
                    "\"");
  }
  return Identity(std::string(name));
}

Result<Ok> IdentityDomain::validate() const {
  if (!is_dns1123_label(control_namespace)) {
    return fail(ErrorCode::kInvalidIdentity,
                "control-plane namespace is not a DNS-1123 label: \"" + control_namespace + "\"");
  }
  if (!is_dns_name(trust_domain)) {
    return fail(ErrorCode::kInvalidIdentity,
                "trust domain is not a lowercase DNS name: \"" + trust_domain + "\"");
  }
  return Ok{};
}

Result<Identity> service_account_identity(std::string_view service_account, std::string_view ns,
                                          const IdentityDomain& domain) {
  if (auto v = domain.validate(); !v) return base::unexpected(v.error());
  if (!is_dns1123_label(service_account)) {
    return fail(ErrorCode::kInvalidIdentity,
                "service account is not a DNS-1123 label: \"" + std::string(service_account) +
                    "\"");
  }
  if (!is_dns1123_label(ns)) {
    return fail(ErrorCode::kInvalidIdentity,
                "namespace is not a DNS-1123 label: \"" + std::string(ns) + "\"");
  }
  std::string name;
  name.append(service_account).append(".").append(ns).append(kServiceAccountLabels);
  name.append(domain.control_namespace).append(".").append(domain.trust_domain);
  return Identity::parse(name);  // enforces the 253-byte total
}

Result<ServiceAccountName> parse_service_account_identity(const Identity& identity,
                                                          const IdentityDomain& domain) {
  const std::string& s = identity.str();
  const std::string suffix =
      std::string(kServiceAccountLabels) + domain.control_namespace + "." + domain.trust_domain;
  const auto not_ours = [&] {
    return fail(ErrorCode::kInvalidIdentity,
                "\"" + s + "\" is not <sa>.<ns>" + suffix);
  };
  if (!base::ends_with(s, suffix)) return not_ours();
  // What is left must be exactly two labels: "<sa>.<ns>".
  const std::string_view head(s.data(), s.size() - suffix.size());
  const size_t dot = head.find('.');
  if (dot == std::string_view::npos || head.find('.', dot + 1) != std::string_view::npos) {
    return not_ours();
  }
  ServiceAccountName out{std::string(head.substr(0, dot)), std::string(head.substr(dot + 1))};
  if (!is_dns1123_label(out.service_account) || !is_dns1123_label(out.ns)) return not_ours();
  return out;
}

Result<Identity> issuer_identity(const IdentityDomain& domain) {
  if (auto v = domain.validate(); !v) return base::unexpected(v.error());
  return Identity::parse("identity." + domain.control_namespace + "." + domain.trust_domain);
}

}  // namespace trellis::tls
