#pragma once
// Certificate facts the CLI prints and checks (`trellis install-ca`, `check`, `identity`):
// a printable summary, RFC 3339 times (the format of trellis-control's status API, C-5), and
// chain verification against a set of trust anchors at a given time.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/ossl.h"
#include "tls/x509.h"

namespace trellis::cli {

using SystemTime = std::chrono::system_clock::time_point;

struct CertificateSummary {
  std::string subject;              // "CN=identity.linkerd.cluster.local"
  std::string issuer;
  std::vector<std::string> dns_sans;
  std::string serial;               // hex, colon-separated bytes
  SystemTime not_before;
  SystemTime not_after;
  std::string sha256_fingerprint;   // hex, colon-separated bytes (as `openssl x509 -fingerprint`)
  std::string key_algorithm;        // "ECDSA P-256", "RSA 2048", ...
  bool is_ca = false;
};

CertificateSummary summarize_certificate(const X509* cert);

// True for an ECDSA key on P-256 (the only algorithm issuers and leaves may use).
bool is_ecdsa_p256(const X509* cert);

// "2027-03-01T12:00:00Z"
std::string format_rfc3339(SystemTime t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"; nullopt when malformed.
std::optional<SystemTime> parse_rfc3339(std::string_view text);

// A coarse human duration: "364 days", "5 hours", "42 minutes", "17 seconds" (negative:
// the absolute value; callers say "ago").
std::string format_remaining(std::chrono::seconds d);

// Verifies `leaf` (with `intermediates` as untrusted helpers) up to one of `anchors` at time
// `now`. Returns an empty string on success, else the reason (OpenSSL's verify error text).
std::string verify_chain(const X509* leaf, const std::vector<const X509*>& intermediates,
                         const std::vector<const X509*>& anchors, SystemTime now);

// True when `key` is the private key of `cert`.
bool key_matches(const X509* cert, EVP_PKEY* key);

}  // namespace trellis::cli
