#include "tls/ca.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "tls/pem.h"
#include "tls/test_support.h"
#include "tls/x509.h"

namespace trellis::tls {
namespace {

using namespace std::chrono_literals;
using testing::id;
using testing::Pki;
using testing::RawCsr;
using testing::RawName;
using testing::take;
using testing::web_identity;

// A fixed clock: certificate times are whole seconds.
const SystemTime kNow = std::chrono::system_clock::from_time_t(1'900'000'000);

// Verifies `leaf` (with `untrusted` intermediates) against `anchor` at `at`, as a peer would.
int verify(X509* anchor, X509* leaf, const std::vector<X509*>& untrusted, SystemTime at,
           int purpose = X509_PURPOSE_SSL_SERVER) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), anchor);
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (X509* c : untrusted) sk_X509_push(chain, c);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store.get(), leaf, chain);
  X509_STORE_CTX_set_time(ctx, 0, std::chrono::system_clock::to_time_t(at));
  X509_STORE_CTX_set_purpose(ctx, purpose);
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain);
  ERR_clear_error();
  return err;
}

bool has_ext_flag(X509* cert, uint32_t flag) {
  return (X509_get_extension_flags(cert) & flag) != 0;
}

TEST(Ca, AnchorAndIssuerFormAVerifiableChain) {
  Pki pki = Pki::create(kNow);
  X509* anchor = pki.anchor.cert.get();
  X509* issuer = pki.issuer.ca.cert.get();
  EXPECT_EQ(X509_check_ca(anchor), 1);
  EXPECT_EQ(X509_check_ca(issuer), 1);
  EXPECT_EQ(X509_self_signed(anchor, 1), 1);
  EXPECT_EQ(X509_self_signed(issuer, 0), 0);
  EXPECT_EQ(X509_get_pathlen(issuer), 0);  // the issuer may sign leaves only
  EXPECT_EQ(X509_get_pathlen(anchor), -1);
  EXPECT_EQ(X509_get_key_usage(issuer), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(not_before(anchor), kNow);
  EXPECT_EQ(not_after(anchor), kNow + 24h * 365);
  EXPECT_EQ(not_after(issuer), kNow + 24h * 365);
  EXPECT_EQ(X509_get_signature_nid(issuer), NID_ecdsa_with_SHA256);
  EXPECT_EQ(verify(anchor, issuer, {}, kNow + 1h, X509_PURPOSE_ANY), X509_V_OK);

  Issuer checked{take(create_issuer(pki.anchor, {"identity.linkerd.cluster.local", 24h, kNow})),
                 {}};
  EXPECT_TRUE(checked.check().ok());

  // The issuer is named identity.<control-ns>.<trust-domain>.
  char cn[256];
  X509_NAME_get_text_by_NID(X509_get_subject_name(issuer), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "identity.linkerd.cluster.local");
}

TEST(Ca, IssuerNeverOutlivesTheAnchor) {
  auto anchor = take(create_trust_anchor({"root", 48h, kNow}));
  auto issuer = take(create_issuer(anchor, {"identity.linkerd.cluster.local", 24h * 365, kNow}));
  EXPECT_EQ(not_after(issuer.cert.get()), kNow + 48h);
}

TEST(Ca, IssuerCheckRejectsMismatchedKeyAndNonCa) {
  Pki pki = Pki::create(kNow);
  Issuer wrong_key{{share(pki.issuer.ca.cert.get()), take(generate_p256_key())}, {}};
  EXPECT_EQ(wrong_key.check().error().code, ErrorCode::kKeyMismatch);

  auto leaf = pki.leaf(web_identity(), {24h, 20s, kNow});
  Issuer not_ca{{share(leaf.leaf()), share(leaf.key())}, {}};
  EXPECT_EQ(not_ca.check().error().code, ErrorCode::kNotCa);
}

TEST(Ca, CsrCarriesExactlyTheIdentity) {
  auto key = take(generate_p256_key());
  auto csr = take(create_csr(web_identity(), key.get()));
  auto sans = take(subject_alt_names(csr.get()));
  EXPECT_THAT(sans.dns, ::testing::ElementsAre(web_identity().str()));
  EXPECT_EQ(sans.uri + sans.ip + sans.email + sans.other, 0u);
  EXPECT_TRUE(validate_csr(csr.get(), web_identity()).ok());
  // PEM and DER round trips keep it valid.
  auto pem = take(to_pem(csr.get()));
  EXPECT_THAT(pem, ::testing::StartsWith("-----BEGIN CERTIFICATE REQUEST-----"));
  EXPECT_TRUE(validate_csr(take(csr_from_pem(pem)).get(), web_identity()).ok());
  auto der = take(csr_to_der(csr.get()));
  EXPECT_TRUE(validate_csr(take(csr_from_der(der)).get(), web_identity()).ok());
  EXPECT_EQ(csr_from_der(der + "x").error().code, ErrorCode::kInvalidPem);
  // Only P-256 keys make mesh CSRs.
  EvpPkeyPtr p384(EVP_EC_gen(SN_secp384r1));
  EXPECT_EQ(create_csr(web_identity(), p384.get()).error().code, ErrorCode::kInvalidArgument);
}

TEST(Ca, LongIdentitiesGetAnEmptySubjectAndACriticalSan) {
  // 64 bytes and up do not fit a CN (X.520 ub-common-name).
  const Identity long_id = id(std::string(63, 'a') + ".emojivoto.serviceaccount.identity.linkerd."
                              "cluster.local");
  Pki pki = Pki::create(kNow);
  auto creds = pki.leaf(long_id, {24h, 20s, kNow});
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(creds.leaf())), 0);
  const int loc = X509_get_ext_by_NID(creds.leaf(), NID_subject_alt_name, -1);
  ASSERT_GE(loc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(creds.leaf(), loc)), 1);
  EXPECT_EQ(creds.identity(), long_id);
  EXPECT_EQ(verify(pki.anchor.cert.get(), creds.leaf(), {pki.issuer.ca.cert.get()}, kNow),
            X509_V_OK);
}

// --- CSR validation: each abuse case with its exact error ---

class CsrValidation : public ::testing::Test {
 protected:
  EvpPkeyPtr key_ = take(generate_p256_key());
  const std::string name_ = web_identity().str();

  ErrorCode reject(const X509ReqPtr& csr, const Identity& requested = web_identity()) {
    auto r = validate_csr(csr.get(), requested);
    if (r.ok()) return static_cast<ErrorCode>(255);
    return r.error().code;
  }
};

TEST_F(CsrValidation, AcceptsEmptyCnOrCnEqualToIdentity) {
  EXPECT_TRUE(validate_csr(testing::raw_csr({"", {{{GEN_DNS, name_}}}, {}}, key_.get()).get(),
                           web_identity())
                  .ok());
  EXPECT_TRUE(validate_csr(testing::raw_csr({name_, {{{GEN_DNS, name_}}}, {}}, key_.get()).get(),
                           web_identity())
                  .ok());
}

TEST_F(CsrValidation, TwoDnsSans) {
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}, {GEN_DNS, "evil.example.com"}}}, {}},
                              key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrSanCount);
}

TEST_F(CsrValidation, TwoSanExtensions) {
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}}, {{GEN_DNS, name_}}}, {}}, key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrSanCount);
}

TEST_F(CsrValidation, NoSan) {
  auto csr = testing::raw_csr({name_, {}, {}}, key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrSanCount);
}

TEST_F(CsrValidation, UriSan) {
  auto csr = testing::raw_csr(
      {"", {{{GEN_DNS, name_}, {GEN_URI, "spiffe://cluster.local/ns/emojivoto/sa/web"}}}, {}},
      key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrForbiddenSan);
  auto only_uri = testing::raw_csr({"", {{{GEN_URI, "spiffe://cluster.local/ns/x/sa/y"}}}, {}},
                                   key_.get());
  EXPECT_EQ(reject(only_uri), ErrorCode::kCsrForbiddenSan);
}

TEST_F(CsrValidation, IpSan) {
  auto csr = testing::raw_csr(
      {"", {{{GEN_DNS, name_}, {GEN_IPADD, std::string("\x0a\x00\x00\x01", 4)}}}, {}},
      key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrForbiddenSan);
}

TEST_F(CsrValidation, EmailSan) {
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}, {GEN_EMAIL, "web@emojivoto"}}}, {}},
                              key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrForbiddenSan);
}

TEST_F(CsrValidation, OtherNameSanIsNotDns) {
  auto csr = testing::raw_csr(
      {"", {}, {{NID_subject_alt_name, "otherName:1.2.3.4;UTF8:web.emojivoto"}}}, key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrSanNotDns);
}

TEST_F(CsrValidation, WrongName) {
  auto csr = take(create_csr(id("api.emojivoto.serviceaccount.identity.linkerd.cluster.local"),
                             key_.get()));
  EXPECT_EQ(reject(csr), ErrorCode::kCsrSanMismatch);
  // Case and trailing-dot variants are different names: comparison is byte for byte.
  auto upper = testing::raw_csr(
      {"", {{{GEN_DNS, "WEB.emojivoto.serviceaccount.identity.linkerd.cluster.local"}}}, {}},
      key_.get());
  EXPECT_EQ(reject(upper), ErrorCode::kCsrSanMismatch);
  auto dotted = testing::raw_csr({"", {{{GEN_DNS, name_ + "."}}}, {}}, key_.get());
  EXPECT_EQ(reject(dotted), ErrorCode::kCsrSanMismatch);
  // A NUL cannot truncate the comparison.
  auto nul = testing::raw_csr({"", {{{GEN_DNS, name_ + std::string("\0.evil.com", 10)}}}, {}},
                              key_.get());
  EXPECT_EQ(reject(nul), ErrorCode::kCsrSanMismatch);
}

TEST_F(CsrValidation, BadCommonName) {
  auto csr = testing::raw_csr({"api", {{{GEN_DNS, name_}}}, {}}, key_.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrBadCommonName);
}

TEST_F(CsrValidation, RsaKey) {
  EvpPkeyPtr rsa(EVP_RSA_gen(2048));
  ASSERT_TRUE(rsa);
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}}}, {}}, rsa.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrKeyNotEcdsa);
}

TEST_F(CsrValidation, Ed25519Key) {
  EvpPkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed);
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}}}, {}}, ed.get(), nullptr);
  EXPECT_EQ(reject(csr), ErrorCode::kCsrKeyNotEcdsa);
}

TEST_F(CsrValidation, P384Key) {
  EvpPkeyPtr p384(EVP_EC_gen(SN_secp384r1));
  ASSERT_TRUE(p384);
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}}}, {}}, p384.get());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrKeyNotP256);
}

TEST_F(CsrValidation, TamperedSignature) {
  // Change the requested name inside the signed bytes ("web" -> "wec" in the SAN), as a
  // man-in-the-middle rewriting the CSR would.
  auto csr = take(create_csr(web_identity(), key_.get()));
  std::string der = take(csr_to_der(csr.get()));
  const size_t at = der.rfind(name_);
  ASSERT_NE(at, std::string::npos);
  der[at + 2] = 'c';
  auto tampered = take(csr_from_der(der));
  EXPECT_EQ(reject(tampered, id("wec.emojivoto.serviceaccount.identity.linkerd.cluster.local")),
            ErrorCode::kCsrBadSignature);
  // And flipping a bit of the signature itself.
  std::string der2 = take(csr_to_der(csr.get()));
  der2.back() = static_cast<char>(der2.back() ^ 0x01);
  EXPECT_EQ(reject(take(csr_from_der(der2))), ErrorCode::kCsrBadSignature);
}

TEST_F(CsrValidation, WeakSignatureDigest) {
  auto csr = testing::raw_csr({"", {{{GEN_DNS, name_}}}, {}}, key_.get(), EVP_sha1());
  EXPECT_EQ(reject(csr), ErrorCode::kCsrBadSignature);
}

// --- Leaf signing ---

TEST(Ca, LeafHasTheMeshProfile) {
  Pki pki = Pki::create(kNow - 1h);
  auto creds = pki.leaf(web_identity(), {24h, 20s, kNow});
  X509* leaf = creds.leaf();
  EXPECT_EQ(not_before(leaf), kNow - 20s);  // back-dated for clock skew
  EXPECT_EQ(not_after(leaf), kNow + 24h);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_TRUE(has_ext_flag(leaf, EXFLAG_BCONS));  // basicConstraints present, CA:FALSE
  EXPECT_EQ(X509_get_key_usage(leaf),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(leaf),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  const int ku = X509_get_ext_by_NID(leaf, NID_key_usage, -1);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(leaf, ku)), 1);
  EXPECT_EQ(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
  auto sans = take(subject_alt_names(leaf));
  EXPECT_THAT(sans.dns, ::testing::ElementsAre(web_identity().str()));
  EXPECT_EQ(sans.extensions, 1u);
  EXPECT_EQ(creds.identity(), web_identity());

  // Serial: positive, random, 128 bits (so at most 17 DER content octets).
  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf);
  EXPECT_NE(ASN1_STRING_type(serial), V_ASN1_NEG_INTEGER);
  EXPECT_LE(ASN1_STRING_length(serial), 16);
  EXPECT_GE(ASN1_STRING_length(serial), 8);  // 2^-64 flake chance
  auto other = pki.leaf(web_identity(), {24h, 20s, kNow});
  EXPECT_NE(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(other.leaf())), 0);

  // A server and a client peer both accept it.
  X509* anchor = pki.anchor.cert.get();
  X509* issuer = pki.issuer.ca.cert.get();
  EXPECT_EQ(verify(anchor, leaf, {issuer}, kNow, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(verify(anchor, leaf, {issuer}, kNow, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(verify(anchor, leaf, {issuer}, kNow + 25h), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(verify(anchor, leaf, {issuer}, kNow - 21s), X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST(Ca, LeafIgnoresEveryOtherCsrExtension) {
  Pki pki = Pki::create(kNow - 1h);
  auto key = take(generate_p256_key());
  // The CSR asks to be a CA with codeSigning; the CA copies only the SAN.
  auto csr = testing::raw_csr({"", {{{GEN_DNS, web_identity().str()}}},
                               {{NID_basic_constraints, "critical,CA:TRUE"},
                                {NID_ext_key_usage, "codeSigning"},
                                {NID_key_usage, "keyCertSign"}}},
                              key.get());
  auto leaf = take(sign_leaf(pki.issuer, csr.get(), web_identity(), {24h, 20s, kNow}));
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(leaf.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
}

TEST(Ca, LeafRefusesAnInvalidCsr) {
  Pki pki = Pki::create(kNow - 1h);
  auto key = take(generate_p256_key());
  auto csr = take(create_csr(web_identity(), key.get()));
  auto r = sign_leaf(pki.issuer, csr.get(),
                     id("api.emojivoto.serviceaccount.identity.linkerd.cluster.local"),
                     {24h, 20s, kNow});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCsrSanMismatch);
}

TEST(Ca, LeafNotAfterIsClampedToTheIssuer) {
  auto anchor = take(create_trust_anchor({"root", 24h * 365, kNow - 1h}));
  Issuer issuer{take(create_issuer(anchor, {"identity.linkerd.cluster.local", 2h, kNow - 1h})),
                {}};
  auto key = take(generate_p256_key());
  auto csr = take(create_csr(web_identity(), key.get()));
  auto leaf = take(sign_leaf(issuer, csr.get(), web_identity(), {24h, 20s, kNow}));
  EXPECT_EQ(not_after(leaf.get()), kNow + 1h);  // the issuer's NotAfter, not now + 24h

  // ...and to an intermediate above it when that expires earlier.
  Issuer chained{take(create_issuer(anchor, {"identity.linkerd.cluster.local", 10h, kNow})), {}};
  chained.chain.push_back(take(create_trust_anchor({"mid", 3h, kNow})).cert);
  auto leaf2 = take(sign_leaf(chained, csr.get(), web_identity(), {24h, 20s, kNow}));
  EXPECT_EQ(not_after(leaf2.get()), kNow + 3h);
}

TEST(Ca, ExpiredIssuerSignsNothing) {
  auto anchor = take(create_trust_anchor({"root", 24h * 365, kNow - 48h}));
  Issuer issuer{take(create_issuer(anchor, {"identity.linkerd.cluster.local", 24h, kNow - 48h})),
                {}};
  auto key = take(generate_p256_key());
  auto csr = take(create_csr(web_identity(), key.get()));
  auto r = sign_leaf(issuer, csr.get(), web_identity(), {24h, 20s, kNow});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIssuerExpired);
}

TEST(Ca, ConfigurableLifetimeAndSkew) {
  Pki pki = Pki::create(kNow - 1h);
  auto creds = pki.leaf(web_identity(), {15s, 10s, kNow});  // Linkerd's external-issuer test
  EXPECT_EQ(not_before(creds.leaf()), kNow - 10s);
  EXPECT_EQ(not_after(creds.leaf()), kNow + 15s);
  auto key = take(generate_p256_key());
  auto csr = take(create_csr(web_identity(), key.get()));
  EXPECT_EQ(sign_leaf(pki.issuer, csr.get(), web_identity(), {0s, 20s, kNow}).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(Ca, ExpiryHelpers) {
  auto anchor = take(create_trust_anchor({"root", 90 * 24h, kNow}));
  X509* c = anchor.cert.get();
  EXPECT_TRUE(valid_for_at_least(c, 60 * 24h, kNow));
  EXPECT_TRUE(valid_for_at_least(c, 60 * 24h, kNow + 30 * 24h));
  EXPECT_FALSE(valid_for_at_least(c, 60 * 24h, kNow + 30 * 24h + 1s));
  EXPECT_FALSE(valid_for_at_least(c, 0s, kNow - 1s));  // not yet valid
  EXPECT_FALSE(valid_for_at_least(c, 0s, kNow + 91 * 24h));
}

// --- PEM ---

TEST(Pem, RoundTripsKeysCertificatesAndChains) {
  Pki pki = Pki::create(kNow);
  auto key_pem = take(private_key_to_pem(pki.issuer.ca.key.get()));
  EXPECT_THAT(key_pem, ::testing::StartsWith("-----BEGIN PRIVATE KEY-----"));
  auto key = take(private_key_from_pem(key_pem));
  EXPECT_EQ(EVP_PKEY_eq(key.get(), pki.issuer.ca.key.get()), 1);

  auto cert_pem = take(to_pem(pki.anchor.cert.get()));
  auto cert = take(certificate_from_pem(cert_pem));
  EXPECT_EQ(X509_cmp(cert.get(), pki.anchor.cert.get()), 0);

  std::vector<X509Ptr> chain;
  chain.push_back(share(pki.issuer.ca.cert.get()));
  chain.push_back(share(pki.anchor.cert.get()));
  auto chain_pem = take(to_pem(chain));
  auto back = take(certificates_from_pem("# a comment before the first block\n" + chain_pem));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(X509_cmp(back[0].get(), pki.issuer.ca.cert.get()), 0);
  EXPECT_EQ(X509_cmp(back[1].get(), pki.anchor.cert.get()), 0);
  // One certificate means one.
  EXPECT_EQ(certificate_from_pem(chain_pem).error().code, ErrorCode::kInvalidPem);
}

TEST(Pem, RejectsGarbage) {
  EXPECT_EQ(certificates_from_pem("").error().code, ErrorCode::kInvalidPem);
  EXPECT_EQ(certificates_from_pem(std::string_view()).error().code, ErrorCode::kInvalidPem);
  EXPECT_EQ(csr_from_der(std::string_view()).error().code, ErrorCode::kInvalidPem);
  EXPECT_EQ(certificates_from_pem("not pem").error().code, ErrorCode::kInvalidPem);
  EXPECT_EQ(certificates_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .error()
                .code,
            ErrorCode::kInvalidPem);
  EXPECT_EQ(private_key_from_pem("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")
                .error()
                .code,
            ErrorCode::kInvalidPem);
  EXPECT_EQ(csr_from_pem("nope").error().code, ErrorCode::kInvalidPem);
  EXPECT_EQ(csr_from_der("\x30\x03\x02\x01\x00").error().code, ErrorCode::kInvalidPem);
  // No error may be left behind in the thread's OpenSSL queue.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Pem, EncryptedKeysFailInsteadOfPrompting) {
  auto key = take(generate_p256_key());
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), EVP_aes_128_cbc(),
                                     reinterpret_cast<const unsigned char*>("secret"), 6, nullptr,
                                     nullptr),
            1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  auto r = private_key_from_pem(std::string(data, static_cast<size_t>(n)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidPem);
}

}  // namespace
}  // namespace trellis::tls
