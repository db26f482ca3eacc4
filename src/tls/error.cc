#include "tls/error.h"

#include <openssl/err.h>

namespace trellis::tls {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOpenSsl: return "openssl";
    case ErrorCode::kInvalidPem: return "invalid_pem";
    case ErrorCode::kInvalidIdentity: return "invalid_identity";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kKeyMismatch: return "key_mismatch";
    case ErrorCode::kNotCa: return "not_ca";
    case ErrorCode::kIssuerExpired: return "issuer_expired";
    case ErrorCode::kCsrKeyNotEcdsa: return "csr_key_not_ecdsa";
    case ErrorCode::kCsrKeyNotP256: return "csr_key_not_p256";
    case ErrorCode::kCsrBadSignature: return "csr_bad_signature";
    case ErrorCode::kCsrForbiddenSan: return "csr_forbidden_san";
    case ErrorCode::kCsrSanNotDns: return "csr_san_not_dns";
    case ErrorCode::kCsrSanCount: return "csr_san_count";
    case ErrorCode::kCsrSanMismatch: return "csr_san_mismatch";
    case ErrorCode::kCsrBadCommonName: return "csr_bad_common_name";
    case ErrorCode::kHandshakeTimeout: return "handshake_timeout";
    case ErrorCode::kHandshakeFailed: return "handshake_failed";
    case ErrorCode::kUnsupportedProtocol: return "unsupported_protocol";
    case ErrorCode::kPeerCertificateRequired: return "peer_certificate_required";
    case ErrorCode::kPeerCertificateInvalid: return "peer_certificate_invalid";
    case ErrorCode::kPeerIdentityMismatch: return "peer_identity_mismatch";
    case ErrorCode::kNoPeerIdentity: return "no_peer_identity";
  }
  return "unknown";
}

std::string drain_openssl_errors(const char* what) {
  std::string out = what;
  bool first = true;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += first ? ": " : "; ";
    out += buf;
    first = false;
  }
  return out;
}

base::Unexpected<Error> openssl_failure(const char* what) {
  return fail(ErrorCode::kOpenSsl, drain_openssl_errors(what));
}

}  // namespace trellis::tls
