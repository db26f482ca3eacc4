#include "tls/x509.h"

#include <ctime>

#include <openssl/err.h>

namespace trellis::tls {
namespace {

SystemTime from_asn1(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return SystemTime{};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// Adds the names of one subjectAltName extension to `out`.
Result<Ok> add_names(X509_EXTENSION* ext, SubjectAltNames& out) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
  if (!names) return fail(ErrorCode::kInvalidPem, drain_openssl_errors("malformed SAN"));
  ++out.extensions;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    switch (name->type) {
      case GEN_DNS: {
        const ASN1_IA5STRING* s = name->d.dNSName;
        // By length: ASN1_STRING data may contain NUL bytes, which a C-string comparison would
        // silently truncate at.
        out.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s)));
        break;
      }
      case GEN_URI: ++out.uri; break;
      case GEN_IPADD: ++out.ip; break;
      case GEN_EMAIL: ++out.email; break;
      default: ++out.other; break;
    }
  }
  return Ok{};
}

}  // namespace

SystemTime not_before(const X509* cert) { return from_asn1(X509_get0_notBefore(cert)); }
SystemTime not_after(const X509* cert) { return from_asn1(X509_get0_notAfter(cert)); }

bool valid_for_at_least(const X509* cert, std::chrono::seconds at_least, SystemTime now) {
  return not_before(cert) <= now && now + at_least <= not_after(cert);
}

Result<SubjectAltNames> subject_alt_names(const X509* cert) {
  SubjectAltNames out;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    if (auto r = add_names(ext, out); !r) return base::unexpected(r.error());
  }
  return out;
}

Result<SubjectAltNames> subject_alt_names(X509_REQ* csr) {
  SubjectAltNames out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(csr);
  if (exts == nullptr) {
    ERR_clear_error();  // "no extensions" is reported through the queue too
    return out;
  }
  Result<Ok> r = Ok{};
  for (int i = 0; i < sk_X509_EXTENSION_num(exts) && r.ok(); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    r = add_names(ext, out);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!r) return base::unexpected(r.error());
  return out;
}

Result<Identity> identity_of(const X509* leaf) {
  auto sans = subject_alt_names(leaf);
  if (!sans) return fail(ErrorCode::kNoPeerIdentity, sans.error().detail);
  if (sans->extensions != 1 || sans->dns.size() != 1) {
    return fail(ErrorCode::kNoPeerIdentity,
                "expected exactly one DNS SAN, found " + std::to_string(sans->dns.size()));
  }
  auto id = Identity::parse(sans->dns.front());  // rejects NUL and every other odd byte
  if (!id) return fail(ErrorCode::kNoPeerIdentity, id.error().detail);
  return id;
}

bool has_exact_dns_identity(const X509* leaf, const Identity& expected) {
  auto sans = subject_alt_names(leaf);
  return sans.ok() && sans->extensions == 1 && sans->dns.size() == 1 &&
         sans->dns.front() == expected.str();  // std::string ==: length, then bytes
}

}  // namespace trellis::tls
