#include "tls/ossl.h"

namespace trellis::tls {

X509Ptr share(X509* cert) {
  if (cert == nullptr) return nullptr;
  X509_up_ref(cert);
  return X509Ptr(cert);
}

EvpPkeyPtr share(EVP_PKEY* key) {
  if (key == nullptr) return nullptr;
  EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

std::vector<X509Ptr> share(const std::vector<X509Ptr>& certs) {
  std::vector<X509Ptr> out;
  out.reserve(certs.size());
  for (const auto& c : certs) out.push_back(share(c.get()));
  return out;
}

}  // namespace trellis::tls
