#pragma once
// PEM (and DER for CSRs, which the identity API carries as bytes) encoding and decoding of keys,
// certificates, chains and CSRs. Decoders never prompt for a passphrase: encrypted keys fail.

#include <string>
#include <string_view>
#include <vector>

#include "tls/error.h"
#include "tls/ossl.h"

namespace trellis::tls {

// PEM inputs larger than this are refused before OpenSSL sees them (a bundle of a few
// certificates is a few KiB).
inline constexpr size_t kMaxPemBytes = 1024 * 1024;

Result<std::string> to_pem(const X509* cert);
Result<std::string> to_pem(const std::vector<X509Ptr>& chain);  // concatenated, in order
Result<std::string> to_pem(const X509_REQ* csr);
// Unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
Result<std::string> private_key_to_pem(const EVP_PKEY* key);

// Exactly one certificate (a second one is an error: use certificates_from_pem for chains).
Result<X509Ptr> certificate_from_pem(std::string_view pem);
// One or more certificates in order (a chain leaf-first, or a trust-anchor bundle).
Result<std::vector<X509Ptr>> certificates_from_pem(std::string_view pem);
Result<EvpPkeyPtr> private_key_from_pem(std::string_view pem);
Result<X509ReqPtr> csr_from_pem(std::string_view pem);

Result<std::string> csr_to_der(const X509_REQ* csr);
Result<X509ReqPtr> csr_from_der(std::string_view der);

}  // namespace trellis::tls
