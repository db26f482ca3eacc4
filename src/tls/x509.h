#pragma once
// Reading certificates: validity times (for renewal and `trellis check`) and subject
// alternative names, strictly by type. The identity of a certificate is its single DNS SAN —
// never its CN, never a URI/email SAN that happens to look like a DNS name (Envoy
// CVE-2022-21656), and compared by length, never as a C string (CVE-2025-66220).

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tls/error.h"
#include "tls/identity.h"
#include "tls/ossl.h"

namespace trellis::tls {

using SystemTime = std::chrono::system_clock::time_point;

SystemTime not_before(const X509* cert);
SystemTime not_after(const X509* cert);
// True when `cert` is valid at `now` and still will be `at_least` later (Linkerd's check warns
// when anchors or issuer expire within 60 days).
bool valid_for_at_least(const X509* cert, std::chrono::seconds at_least, SystemTime now);

// The SANs of a certificate or CSR grouped by GENERAL_NAME type. DNS names are kept as raw
// bytes (an embedded NUL stays visible); the other types are only counted.
struct SubjectAltNames {
  std::vector<std::string> dns;
  size_t uri = 0;
  size_t ip = 0;
  size_t email = 0;
  size_t other = 0;        // otherName, dirName, x400, ediParty, registeredID
  size_t extensions = 0;   // how many subjectAltName extensions carried them (more than 1 is bad)
};
Result<SubjectAltNames> subject_alt_names(const X509* cert);
Result<SubjectAltNames> subject_alt_names(X509_REQ* csr);  // non-const: OpenSSL's API

// The identity of a verified leaf: its DNS SANs must be exactly one valid identity name.
// kNoPeerIdentity otherwise (none, several, invalid bytes such as NUL).
Result<Identity> identity_of(const X509* leaf);

// True when the certificate's DNS SANs are exactly {expected}, compared byte for byte.
bool has_exact_dns_identity(const X509* leaf, const Identity& expected);

}  // namespace trellis::tls
