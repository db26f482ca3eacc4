#pragma once
// The one error type of the TLS module (DESIGN.md §7.1): a code that callers branch on and count,
// plus a human-readable detail (OpenSSL's error queue, the offending SAN, ...). Data-path
// functions return base::Result<T, Error>; nothing here throws.

#include <cstdint>
#include <string>
#include <utility>

#include "base/result.h"

namespace trellis::tls {

enum class ErrorCode : uint8_t {
  kOpenSsl,             // an OpenSSL call failed for a reason not listed below
  kInvalidPem,          // PEM/DER input that does not decode to what was asked for
  kInvalidIdentity,     // not a valid identity name (DNS-1123 labels, the mesh format)
  kInvalidArgument,     // a configuration value out of range (empty ALPN, zero lifetime, ...)
  kKeyMismatch,         // a private key that does not belong to the certificate
  kNotCa,               // a trust anchor or issuer without basicConstraints CA:TRUE
  kIssuerExpired,       // the issuer is not valid at signing time
  // CSR validation (the identity service's checks, linkerd.md §3 "CSR flow").
  kCsrKeyNotEcdsa,      // the CSR key is not an EC key (RSA, Ed25519, ...)
  kCsrKeyNotP256,       // an EC key on another curve (P-384, ...)
  kCsrBadSignature,     // the CSR's self-signature does not verify (proof of possession)
  kCsrForbiddenSan,     // a URI, IP or email SAN: never allowed in a mesh certificate
  kCsrSanNotDns,        // another non-DNS SAN type (otherName, dirName, ...)
  kCsrSanCount,         // not exactly one DNS SAN
  kCsrSanMismatch,      // the DNS SAN is not the requested identity (compared byte for byte)
  kCsrBadCommonName,    // a subject CN that is neither empty nor the identity
  // Handshakes and peer verification.
  kHandshakeTimeout,        // the deadline passed before the handshake completed
  kHandshakeFailed,         // protocol error, alert from the peer, connection closed
  kUnsupportedProtocol,     // the peer offered no TLS 1.3 (or none of our groups/ciphers)
  kPeerCertificateRequired, // the client sent no certificate (mTLS is mandatory)
  kPeerCertificateInvalid,  // the peer chain did not verify to our anchors (expired, other CA)
  kPeerIdentityMismatch,    // the verified leaf's DNS SAN is not the expected identity
  kNoPeerIdentity,          // the verified leaf has no usable DNS SAN (none, several, NUL)
};

// Stable snake_case names, usable as metric label values.
const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kOpenSsl;
  std::string detail;
};

template <typename T>
using Result = base::Result<T, Error>;
using base::Ok;

// Builds an Unexpected<Error> for `return fail(...)`.
inline base::Unexpected<Error> fail(ErrorCode code, std::string detail = {}) {
  return base::unexpected(Error{code, std::move(detail)});
}

// Drains the calling thread's OpenSSL error queue into one string ("what: reason; reason").
// Every failed OpenSSL call must drain the queue, or its leftovers are blamed on a later call.
std::string drain_openssl_errors(const char* what);

// fail(kOpenSsl, drain_openssl_errors(what)).
base::Unexpected<Error> openssl_failure(const char* what);

}  // namespace trellis::tls
