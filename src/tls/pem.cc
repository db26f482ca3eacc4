#include "tls/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace trellis::tls {
namespace {

// Never prompt on a terminal for a passphrase (OpenSSL's default callback would).
int no_passphrase(char*, int, int, void*) { return 0; }

Result<BioPtr> read_bio(std::string_view data) {
  if (data.empty()) return fail(ErrorCode::kInvalidPem, "empty input");
  if (data.size() > kMaxPemBytes) {
    return fail(ErrorCode::kInvalidPem, "input larger than " + std::to_string(kMaxPemBytes));
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return openssl_failure("BIO_new_mem_buf");
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<BioPtr> write_bio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return openssl_failure("BIO_new");
  return bio;
}

// After a PEM read loop stops: true (and the queue cleared) when it stopped because there were
// no more PEM blocks, false when a block was present but broken.
bool stopped_at_end() {
  const unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return true;
  }
  return false;
}

}  // namespace

Result<std::string> to_pem(const X509* cert) {
  auto bio = write_bio();
  if (!bio) return base::unexpected(bio.error());
  if (PEM_write_bio_X509(bio->get(), cert) != 1) return openssl_failure("PEM_write_bio_X509");
  return bio_contents(bio->get());
}

Result<std::string> to_pem(const std::vector<X509Ptr>& chain) {
  std::string out;
  for (const auto& c : chain) {
    auto pem = to_pem(c.get());
    if (!pem) return pem;
    out += *pem;
  }
  return out;
}

Result<std::string> to_pem(const X509_REQ* csr) {
  auto bio = write_bio();
  if (!bio) return base::unexpected(bio.error());
  if (PEM_write_bio_X509_REQ(bio->get(), csr) != 1) {
    return openssl_failure("PEM_write_bio_X509_REQ");
  }
  return bio_contents(bio->get());
}

Result<std::string> private_key_to_pem(const EVP_PKEY* key) {
  auto bio = write_bio();
  if (!bio) return base::unexpected(bio.error());
  if (PEM_write_bio_PrivateKey(bio->get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_failure("PEM_write_bio_PrivateKey");
  }
  return bio_contents(bio->get());
}

Result<std::vector<X509Ptr>> certificates_from_pem(std::string_view pem) {
  auto bio = read_bio(pem);
  if (!bio) return base::unexpected(bio.error());
  std::vector<X509Ptr> certs;
  while (X509* c = PEM_read_bio_X509(bio->get(), nullptr, no_passphrase, nullptr)) {
    certs.emplace_back(c);
  }
  if (!stopped_at_end()) {
    return fail(ErrorCode::kInvalidPem, drain_openssl_errors("malformed certificate PEM"));
  }
  if (certs.empty()) return fail(ErrorCode::kInvalidPem, "no certificate in PEM input");
  return certs;
}

Result<X509Ptr> certificate_from_pem(std::string_view pem) {
  auto certs = certificates_from_pem(pem);
  if (!certs) return base::unexpected(certs.error());
  if (certs->size() != 1) {
    return fail(ErrorCode::kInvalidPem,
                "expected one certificate, found " + std::to_string(certs->size()));
  }
  return std::move(certs->front());
}

Result<EvpPkeyPtr> private_key_from_pem(std::string_view pem) {
  auto bio = read_bio(pem);
  if (!bio) return base::unexpected(bio.error());
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, no_passphrase, nullptr));
  if (!key) return fail(ErrorCode::kInvalidPem, drain_openssl_errors("no usable private key"));
  return key;
}

Result<X509ReqPtr> csr_from_pem(std::string_view pem) {
  auto bio = read_bio(pem);
  if (!bio) return base::unexpected(bio.error());
  X509ReqPtr csr(PEM_read_bio_X509_REQ(bio->get(), nullptr, no_passphrase, nullptr));
  if (!csr) return fail(ErrorCode::kInvalidPem, drain_openssl_errors("no usable CSR"));
  return csr;
}

Result<std::string> csr_to_der(const X509_REQ* csr) {
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(csr, &der);
  if (n <= 0) return openssl_failure("i2d_X509_REQ");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Result<X509ReqPtr> csr_from_der(std::string_view der) {
  if (der.empty() || der.size() > kMaxPemBytes) {
    return fail(ErrorCode::kInvalidPem, "CSR empty or too large");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr csr(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!csr) return fail(ErrorCode::kInvalidPem, drain_openssl_errors("malformed DER CSR"));
  // Trailing bytes after the structure would be ignored by OpenSSL; refuse them instead so
  // one CSR has exactly one encoding.
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return fail(ErrorCode::kInvalidPem, "trailing bytes after the DER CSR");
  }
  return csr;
}

}  // namespace trellis::tls
