#include "cli/cert_info.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <ctime>

#include "tls/error.h"

namespace trellis::cli {
namespace {

std::string name_to_string(const X509_NAME* name) {
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string colon_hex(const unsigned char* bytes, size_t n) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out.push_back(':');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

int two_digits(std::string_view s, size_t at) {
  if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') {
    return -1;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

}  // namespace

CertificateSummary summarize_certificate(const X509* cert) {
  CertificateSummary s;
  s.subject = name_to_string(X509_get_subject_name(cert));
  s.issuer = name_to_string(X509_get_issuer_name(cert));
  if (auto sans = tls::subject_alt_names(cert); sans.ok()) s.dns_sans = sans->dns;
  ERR_clear_error();  // a certificate without SANs leaves nothing of interest in the queue

  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  if (tls::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr)); bn) {
    std::vector<unsigned char> bytes(static_cast<size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), bytes.data());
    s.serial = bytes.empty() ? "00" : colon_hex(bytes.data(), bytes.size());
  }
  s.not_before = tls::not_before(cert);
  s.not_after = tls::not_after(cert);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &digest_len) == 1) {
    s.sha256_fingerprint = colon_hex(digest, digest_len);
  }

  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    s.key_algorithm = "unknown";
  } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t group_len = 0;
    EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len);
    std::string curve(group, group_len);
    if (curve == "prime256v1" || curve == "P-256") curve = "P-256";
    if (curve == "secp384r1") curve = "P-384";
    s.key_algorithm = "ECDSA " + curve;
  } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    s.key_algorithm = "RSA " + std::to_string(EVP_PKEY_get_bits(key));
  } else {
    s.key_algorithm = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  }
  s.is_ca = X509_check_ca(const_cast<X509*>(cert)) > 0;
  ERR_clear_error();
  return s;
}

bool is_ecdsa_p256(const X509* cert) {
  return summarize_certificate(cert).key_algorithm == "ECDSA P-256";
}

std::string format_rfc3339(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<SystemTime> parse_rfc3339(std::string_view text) {
  // 2027-03-01T12:00:00Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  int y1 = two_digits(text, 0), y2 = two_digits(text, 2), mon = two_digits(text, 5),
      day = two_digits(text, 8), hour = two_digits(text, 11), min = two_digits(text, 14),
      sec = two_digits(text, 17);
  if (y1 < 0 || y2 < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      min < 0 || min > 59 || sec < 0 || sec > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    size_t digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at, ++digits;
    if (digits == 0) return std::nullopt;
  }
  long offset = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int oh = two_digits(text, at + 1), om = two_digits(text, at + 4);
    if (oh < 0 || om < 0 || at + 3 >= text.size() || text[at + 3] != ':') return std::nullopt;
    offset = (oh * 3600L + om * 60L) * (text[at] == '+' ? 1 : -1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y1 * 100 + y2 - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset);
}

std::string format_remaining(std::chrono::seconds d) {
  long long s = d.count() < 0 ? -d.count() : d.count();
  auto plural = [](long long n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  if (s >= 86400) return plural(s / 86400, "day");
  if (s >= 3600) return plural(s / 3600, "hour");
  if (s >= 60) return plural(s / 60, "minute");
  return plural(s, "second");
}

std::string verify_chain(const X509* leaf, const std::vector<const X509*>& intermediates,
                         const std::vector<const X509*>& anchors, SystemTime now) {
  if (anchors.empty()) return "no trust anchors";
  tls::X509StorePtr store(X509_STORE_new());
  for (const X509* anchor : anchors) X509_STORE_add_cert(store.get(), const_cast<X509*>(anchor));
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const X509* c : intermediates) sk_X509_push(untrusted, const_cast<X509*>(c));
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  std::string result;
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx, store.get(), const_cast<X509*>(leaf), untrusted) != 1) {
    result = tls::drain_openssl_errors("X509_STORE_CTX_init");
  } else {
    X509_STORE_CTX_set_time(ctx, 0, std::chrono::system_clock::to_time_t(now));
    if (X509_verify_cert(ctx) != 1) {
      int err = X509_STORE_CTX_get_error(ctx);
      result = X509_verify_cert_error_string(err);
      if (result.empty()) result = "verification failed";
    }
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  ERR_clear_error();
  return result;
}

bool key_matches(const X509* cert, EVP_PKEY* key) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  bool match = pub != nullptr && key != nullptr && EVP_PKEY_eq(pub, key) == 1;
  ERR_clear_error();
  return match;
}

}  // namespace trellis::cli
