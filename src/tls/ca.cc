#include "tls/ca.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <string_view>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

namespace trellis::tls {
namespace {

// X.520 ub-common-name: OpenSSL refuses longer CNs. Longer identities (they may reach 253
// bytes) get an empty subject, and then RFC 5280 §4.2.1.6 wants the SAN marked critical.
constexpr size_t kMaxCommonName = 64;

time_t to_time_t(SystemTime t) { return std::chrono::system_clock::to_time_t(t); }

// kOk, or why `key` is not an ECDSA P-256 key.
enum class KeyCheck { kOk, kNotEc, kNotP256 };
KeyCheck check_p256(EVP_PKEY* key, std::string& detail) {
  if (key == nullptr) {
    detail = "no public key";
    return KeyCheck::kNotEc;
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    const char* type = EVP_PKEY_get0_type_name(key);
    detail = std::string("key type ") + (type != nullptr ? type : "unknown");
    return KeyCheck::kNotEc;
  }
  // A named group only: explicit curve parameters have no name and are refused, even when
  // they describe P-256 (they are how CVE-2020-0601-style spoofing works).
  std::array<char, 64> group{};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) != 1) {
    ERR_clear_error();
    detail = "EC key without a named curve";
    return KeyCheck::kNotP256;
  }
  const std::string_view name(group.data(), len);
  if (name != SN_X9_62_prime256v1) {
    detail = "curve " + std::string(name);
    return KeyCheck::kNotP256;
  }
  return KeyCheck::kOk;
}

Result<Asn1IntegerPtr> random_serial() {
  // 128 random bits as an unsigned big number, so the DER INTEGER is always positive (a leading
  // zero octet is added when the top bit is set) and at most 17 octets (RFC 5280 allows 20).
  std::array<unsigned char, 16> bytes{};
  BignumPtr bn;
  do {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      return openssl_failure("RAND_bytes");
    }
    bn.reset(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!bn) return openssl_failure("BN_bin2bn");
  } while (BN_is_zero(bn.get()));
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return openssl_failure("BN_to_ASN1_INTEGER");
  return serial;
}

// Subject with CN = `cn` when it fits, otherwise empty (see kMaxCommonName).
Result<Ok> set_subject_cn(X509_NAME* name, const std::string& cn) {
  if (cn.empty() || cn.size() > kMaxCommonName) return Ok{};
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1) {
    return openssl_failure("X509_NAME_add_entry_by_NID");
  }
  return Ok{};
}

Result<Ok> add_conf_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext) return openssl_failure("X509V3_EXT_conf_nid");
  if (X509_add_ext(cert, ext.get(), -1) != 1) return openssl_failure("X509_add_ext");
  return Ok{};
}

// One DNS name, built from the bytes directly rather than through OpenSSL's "DNS:..." config
// syntax (which would interpret commas).
Result<GeneralNamesPtr> dns_names(const std::string& dns) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  if (!names || name == nullptr || value == nullptr ||
      ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1) {
    GENERAL_NAME_free(name);
    ASN1_IA5STRING_free(value);
    return openssl_failure("building a DNS SAN");
  }
  GENERAL_NAME_set0_value(name, GEN_DNS, value);
  if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
    GENERAL_NAME_free(name);
    return openssl_failure("sk_GENERAL_NAME_push");
  }
  return names;
}

struct CertSpec {
  const std::string& common_name;
  EVP_PKEY* subject_key;
  X509* issuer_cert;  // nullptr: self-signed
  EVP_PKEY* signing_key;
  time_t not_before;
  time_t not_after;
  // (nid, OpenSSL config value) pairs, added after SKI and before AKI.
  std::vector<std::pair<int, const char*>> extensions;
  const std::string* dns_san = nullptr;
};

Result<X509Ptr> build_certificate(const CertSpec& spec) {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_failure("X509_new");
  auto serial = random_serial();
  if (!serial) return base::unexpected(serial.error());
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial->get()) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after) == nullptr ||
      X509_set_pubkey(cert.get(), spec.subject_key) != 1) {
    return openssl_failure("filling in a certificate");
  }
  if (auto r = set_subject_cn(X509_get_subject_name(cert.get()), spec.common_name); !r) {
    return base::unexpected(r.error());
  }
  X509* issuer = spec.issuer_cert != nullptr ? spec.issuer_cert : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) {
    return openssl_failure("X509_set_issuer_name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  // SKI first and AKI last: "keyid:always" reads the issuer's SKI, which for a self-signed
  // certificate is the one just added.
  std::vector<std::pair<int, const char*>> extensions{{NID_subject_key_identifier, "hash"}};
  extensions.insert(extensions.end(), spec.extensions.begin(), spec.extensions.end());
  extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
  for (const auto& [nid, value] : extensions) {
    if (auto r = add_conf_ext(cert.get(), &ctx, nid, value); !r) {
      return base::unexpected(r.error());
    }
  }
  if (spec.dns_san != nullptr) {
    auto names = dns_names(*spec.dns_san);
    if (!names) return base::unexpected(names.error());
    const bool empty_subject = X509_NAME_entry_count(X509_get_subject_name(cert.get())) == 0;
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names->get(), empty_subject ? 1 : 0,
                          X509V3_ADD_DEFAULT) != 1) {
      return openssl_failure("X509_add1_ext_i2d(subjectAltName)");
    }
  }
  if (X509_sign(cert.get(), spec.signing_key, EVP_sha256()) <= 0) {
    return openssl_failure("X509_sign");
  }
  return cert;
}

}  // namespace

Result<EvpPkeyPtr> generate_p256_key() {
  EvpPkeyPtr key(EVP_EC_gen(SN_X9_62_prime256v1));
  if (!key) return openssl_failure("EVP_EC_gen(P-256)");
  return key;
}

Result<CertifiedKey> create_trust_anchor(const CaOptions& options) {
  if (options.lifetime <= std::chrono::seconds(0)) {
    return fail(ErrorCode::kInvalidArgument, "trust anchor lifetime must be positive");
  }
  auto key = generate_p256_key();
  if (!key) return base::unexpected(key.error());
  CertSpec spec{options.common_name, key->get(), nullptr, key->get(),
                to_time_t(options.now), to_time_t(options.now + options.lifetime),
                {{NID_basic_constraints, "critical,CA:TRUE"},
                 {NID_key_usage, "critical,keyCertSign,cRLSign"}}};
  auto cert = build_certificate(spec);
  if (!cert) return base::unexpected(cert.error());
  return CertifiedKey{std::move(*cert), std::move(*key)};
}

Result<CertifiedKey> create_issuer(const CertifiedKey& anchor, const CaOptions& options) {
  if (options.lifetime <= std::chrono::seconds(0)) {
    return fail(ErrorCode::kInvalidArgument, "issuer lifetime must be positive");
  }
  auto key = generate_p256_key();
  if (!key) return base::unexpected(key.error());
  const time_t not_after = std::min(to_time_t(options.now + options.lifetime),
                                    to_time_t(tls::not_after(anchor.cert.get())));
  CertSpec spec{options.common_name, key->get(), anchor.cert.get(), anchor.key.get(),
                to_time_t(options.now), not_after,
                {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                 {NID_key_usage, "critical,keyCertSign,cRLSign"}}};
  auto cert = build_certificate(spec);
  if (!cert) return base::unexpected(cert.error());
  return CertifiedKey{std::move(*cert), std::move(*key)};
}

Result<X509ReqPtr> create_csr(const Identity& identity, EVP_PKEY* key) {
  // Refuse here what the identity service would refuse anyway, with a local error.
  std::string detail;
  if (check_p256(key, detail) != KeyCheck::kOk) {
    ERR_clear_error();
    return fail(ErrorCode::kInvalidArgument, "CSR key must be ECDSA P-256: " + detail);
  }
  X509ReqPtr csr(X509_REQ_new());
  if (!csr) return openssl_failure("X509_REQ_new");
  if (X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(csr.get(), key) != 1) {
    return openssl_failure("filling in a CSR");
  }
  if (auto r = set_subject_cn(X509_REQ_get_subject_name(csr.get()), identity.str()); !r) {
    return base::unexpected(r.error());
  }
  auto names = dns_names(identity.str());
  if (!names) return base::unexpected(names.error());
  X509ExtensionPtr san(X509V3_EXT_i2d(NID_subject_alt_name, 0, names->get()));
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  const bool added = san && exts != nullptr && sk_X509_EXTENSION_push(exts, san.get()) > 0 &&
                     X509_REQ_add_extensions(csr.get(), exts) == 1;
  sk_X509_EXTENSION_free(exts);  // the stack only borrowed `san`
  if (!added) return openssl_failure("X509_REQ_add_extensions");
  if (X509_REQ_sign(csr.get(), key, EVP_sha256()) <= 0) return openssl_failure("X509_REQ_sign");
  return csr;
}

Result<Ok> validate_csr(X509_REQ* csr, const Identity& requested) {
  // The key first: it is the cheapest check, and it keeps an attacker's huge RSA key away from
  // the signature verification below (a CPU-exhaustion vector).
  std::string detail;
  switch (check_p256(X509_REQ_get0_pubkey(csr), detail)) {
    case KeyCheck::kNotEc: return fail(ErrorCode::kCsrKeyNotEcdsa, detail);
    case KeyCheck::kNotP256: return fail(ErrorCode::kCsrKeyNotP256, detail);
    case KeyCheck::kOk: break;
  }
  const int sig_nid = X509_REQ_get_signature_nid(csr);
  if (sig_nid != NID_ecdsa_with_SHA256 && sig_nid != NID_ecdsa_with_SHA384 &&
      sig_nid != NID_ecdsa_with_SHA512) {
    return fail(ErrorCode::kCsrBadSignature,
                std::string("signature algorithm ") + OBJ_nid2sn(sig_nid) + " not allowed");
  }
  if (X509_REQ_verify(csr, X509_REQ_get0_pubkey(csr)) != 1) {
    return fail(ErrorCode::kCsrBadSignature, drain_openssl_errors("CSR signature"));
  }

  auto sans = subject_alt_names(csr);
  if (!sans) return fail(ErrorCode::kCsrSanCount, sans.error().detail);
  // Types before counts, so "DNS + URI" is reported as the forbidden URI it smuggles in.
  if (sans->uri + sans->ip + sans->email > 0) {
    return fail(ErrorCode::kCsrForbiddenSan,
                std::to_string(sans->uri) + " URI, " + std::to_string(sans->ip) + " IP, " +
                    std::to_string(sans->email) + " email SAN(s)");
  }
  if (sans->other > 0) {
    return fail(ErrorCode::kCsrSanNotDns, std::to_string(sans->other) + " non-DNS SAN(s)");
  }
  if (sans->extensions > 1 || sans->dns.size() != 1) {
    return fail(ErrorCode::kCsrSanCount,
                "expected exactly one DNS SAN, found " + std::to_string(sans->dns.size()) +
                    " in " + std::to_string(sans->extensions) + " extension(s)");
  }
  if (sans->dns.front() != requested.str()) {
    std::string shown = sans->dns.front();
    std::replace(shown.begin(), shown.end(), '\0', '?');
    return fail(ErrorCode::kCsrSanMismatch,
                "SAN \"" + shown + "\" is not the requested identity " + requested.str());
  }

  const X509_NAME* subject = X509_REQ_get_subject_name(csr);
  int cns = 0;
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) != NID_commonName) continue;
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
    const std::string_view cn(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                              static_cast<size_t>(ASN1_STRING_length(data)));
    if (++cns > 1 || cn != requested.str()) {
      return fail(ErrorCode::kCsrBadCommonName, "subject CN is neither empty nor the identity");
    }
  }
  return Ok{};
}

Result<Ok> Issuer::check() const {
  if (!ca.cert || !ca.key) return fail(ErrorCode::kInvalidArgument, "issuer without cert or key");
  if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1) {
    return fail(ErrorCode::kKeyMismatch, drain_openssl_errors("issuer key"));
  }
  if (X509_check_ca(ca.cert.get()) != 1) {
    return fail(ErrorCode::kNotCa, "issuer certificate is not a CA (basicConstraints)");
  }
  std::string detail;
  if (check_p256(ca.key.get(), detail) != KeyCheck::kOk) {
    ERR_clear_error();
    return fail(ErrorCode::kInvalidArgument, "issuer key must be ECDSA P-256: " + detail);
  }
  return Ok{};
}

Result<X509Ptr> sign_leaf(const Issuer& issuer, X509_REQ* csr, const Identity& identity,
                          const LeafOptions& options) {
  if (options.lifetime <= std::chrono::seconds(0) || options.clock_skew.count() < 0) {
    return fail(ErrorCode::kInvalidArgument, "leaf lifetime must be positive, skew >= 0");
  }
  if (auto r = validate_csr(csr, identity); !r) return base::unexpected(r.error());

  // The leaf must not outlive anything above it: clamp to the earliest expiry in the chain.
  SystemTime chain_expiry = not_after(issuer.ca.cert.get());
  if (options.now < not_before(issuer.ca.cert.get()) || options.now >= chain_expiry) {
    return fail(ErrorCode::kIssuerExpired, "issuer is not valid now");
  }
  for (const auto& c : issuer.chain) {
    if (options.now >= not_after(c.get())) {
      return fail(ErrorCode::kIssuerExpired, "a certificate of the issuer chain has expired");
    }
    chain_expiry = std::min(chain_expiry, not_after(c.get()));
  }
  const SystemTime expiry = std::min(options.now + options.lifetime, chain_expiry);

  CertSpec spec{identity.str(), X509_REQ_get0_pubkey(csr), issuer.ca.cert.get(),
                issuer.ca.key.get(), to_time_t(options.now - options.clock_skew),
                to_time_t(expiry),
                {{NID_basic_constraints, "critical,CA:FALSE"},
                 {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                 {NID_ext_key_usage, "serverAuth,clientAuth"}},
                &identity.str()};
  return build_certificate(spec);
}

}  // namespace trellis::tls
