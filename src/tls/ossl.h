#pragma once
// OpenSSL handles as unique_ptrs with the right free function, so every object has exactly one
// owner (DESIGN.md §7.2). Objects that OpenSSL reference-counts (keys, certificates) can be
// shared explicitly with share(), which bumps the count and returns a second owner.

#include <memory>
#include <vector>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace trellis::tls {

namespace detail {
template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};
}  // namespace detail

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, detail::Deleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, detail::Deleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, detail::Deleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, detail::Deleter<X509_REQ_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, detail::Deleter<X509_STORE_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, detail::Deleter<X509_EXTENSION_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, detail::Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, detail::Deleter<SSL_free>>;
using BioPtr = std::unique_ptr<BIO, detail::Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, detail::Deleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, detail::Deleter<ASN1_INTEGER_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, detail::Deleter<GENERAL_NAMES_free>>;

// A second owner of a reference-counted object (X509_up_ref / EVP_PKEY_up_ref).
X509Ptr share(X509* cert);
EvpPkeyPtr share(EVP_PKEY* key);
std::vector<X509Ptr> share(const std::vector<X509Ptr>& certs);

}  // namespace trellis::tls
