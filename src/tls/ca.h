#pragma once
// Certificate-authority operations for the mesh (linkerd.md §3, security.md §3.1):
//
//   trust anchor (self-signed root, CA)  ──signs──►  issuer (CA, pathlen 0,
//   "identity.<control-ns>.<trust-domain>")  ──signs──►  leaf (one DNS SAN = the identity, 24 h)
//
// plus the proxy side of the CSR flow (key + CSR) and the identity service's CSR validation.
// Times come from the caller (`now`), so tests use fixed clocks and expired certificates are
// easy to make.

#include <chrono>
#include <string>
#include <vector>

#include "tls/error.h"
#include "tls/identity.h"
#include "tls/ossl.h"
#include "tls/x509.h"

namespace trellis::tls {

// A certificate with its private key.
struct CertifiedKey {
  X509Ptr cert;
  EvpPkeyPtr key;
};

// An ECDSA key on P-256 (prime256v1), the only key type mesh certificates use.
Result<EvpPkeyPtr> generate_p256_key();

struct CaOptions {
  std::string common_name;                      // subject CN
  std::chrono::seconds lifetime = std::chrono::hours(24 * 365);  // `linkerd install` default
  SystemTime now = std::chrono::system_clock::now();  // NotBefore
};

// A self-signed root: CA:TRUE (critical), keyCertSign + cRLSign (critical), SKI/AKI, a fresh
// P-256 key, ECDSA-SHA256.
Result<CertifiedKey> create_trust_anchor(const CaOptions& options);

// An intermediate signed by `anchor`: CA:TRUE with pathlen 0 (it may sign leaves only), the
// same key usage, a fresh P-256 key. The common name should be issuer_identity(); NotAfter is
// clamped to the anchor's NotAfter.
Result<CertifiedKey> create_issuer(const CertifiedKey& anchor, const CaOptions& options);

// The proxy side: a CSR with exactly one DNS SAN = `identity`, CN = `identity`, signed by
// `key`, which must be an ECDSA P-256 key (kInvalidArgument otherwise; see generate_p256_key()).
Result<X509ReqPtr> create_csr(const Identity& identity, EVP_PKEY* key);

// The identity service's checks on a CSR for `requested`, each failure with its own code (see
// ErrorCode): key is EC P-256, self-signature verifies, no URI/IP/email SAN, no other non-DNS
// SAN, exactly one DNS SAN, that SAN == requested byte for byte, CN empty or == requested.
Result<Ok> validate_csr(X509_REQ* csr, const Identity& requested);

// An issuing CA: its certificate and key, plus the certificates between it and the anchors
// (empty when the anchor signed it directly). The chain is sent to peers after the leaf.
struct Issuer {
  CertifiedKey ca;
  std::vector<X509Ptr> chain;

  // Checks the key matches the certificate and that it is a CA (at start-up, when loading).
  Result<Ok> check() const;
};

struct LeafOptions {
  std::chrono::seconds lifetime = std::chrono::hours(24);     // issuanceLifetime
  std::chrono::seconds clock_skew = std::chrono::seconds(20);  // NotBefore back-dating
  SystemTime now = std::chrono::system_clock::now();
};

// Validates `csr` for `identity` (validate_csr), then issues a leaf: subject CN = identity,
// SAN = the one validated DNS name (no other CSR extension is copied), NotBefore = now - skew,
// NotAfter = now + lifetime clamped to the earliest NotAfter of the issuer and its chain,
// random positive 128-bit serial, KU digitalSignature + keyEncipherment (critical), EKU
// serverAuth + clientAuth, basicConstraints CA:FALSE (critical), SKI/AKI, ECDSA-SHA256.
// kIssuerExpired when the issuer is not valid at `now`.
Result<X509Ptr> sign_leaf(const Issuer& issuer, X509_REQ* csr, const Identity& identity,
                          const LeafOptions& options = {});

}  // namespace trellis::tls
