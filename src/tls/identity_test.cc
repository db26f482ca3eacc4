#include "tls/identity.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trellis::tls {
namespace {

TEST(Identity, ParsesLowercaseDnsNames) {
  EXPECT_TRUE(Identity::parse("web.emojivoto.serviceaccount.identity.linkerd.cluster.local").ok());
  EXPECT_TRUE(Identity::parse("a").ok());
  EXPECT_TRUE(Identity::parse("a-b.c0").ok());
  EXPECT_TRUE(Identity::parse(std::string(63, 'a')).ok());
  EXPECT_TRUE(Identity::parse(std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                              std::string(63, 'c') + "." + std::string(61, 'd'))
                  .ok());  // exactly 253
}

TEST(Identity, RejectsEverythingElse) {
  const std::vector<std::string> bad_names = {
      "", ".", "a.", ".a", "a..b", "-a", "a-", "A.b", "a_b", "a b", "*.a", "a/b", "spiffe://x",
      std::string(64, 'a'),  // a label of 64
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
          std::string(62, 'd'),  // 254 in total
      std::string("a\0b", 3)};
  for (const std::string& bad : bad_names) {
    auto r = Identity::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidIdentity);
  }
}

TEST(Identity, FormatsServiceAccountIdentities) {
  auto web = service_account_identity("web", "emojivoto");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->str(), "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");

  IdentityDomain custom{"trellis", "prod.example.com"};
  auto api = service_account_identity("api", "shop", custom);
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(api->str(), "api.shop.serviceaccount.identity.trellis.prod.example.com");

  EXPECT_EQ(service_account_identity("a.b", "ns").error().code, ErrorCode::kInvalidIdentity);
  EXPECT_EQ(service_account_identity("sa", "Ns").error().code, ErrorCode::kInvalidIdentity);
  EXPECT_EQ(service_account_identity("sa", "").error().code, ErrorCode::kInvalidIdentity);
  EXPECT_EQ(service_account_identity("sa", "ns", {"link.erd", "cluster.local"}).error().code,
            ErrorCode::kInvalidIdentity);
  EXPECT_EQ(service_account_identity("sa", "ns", {"linkerd", "cluster..local"}).error().code,
            ErrorCode::kInvalidIdentity);
}

TEST(Identity, ParsesServiceAccountIdentitiesBack) {
  auto id = *Identity::parse("web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  auto sa = parse_service_account_identity(id);
  ASSERT_TRUE(sa.ok());
  EXPECT_EQ(sa->service_account, "web");
  EXPECT_EQ(sa->ns, "emojivoto");

  // Another control-plane namespace or trust domain is not ours.
  EXPECT_FALSE(parse_service_account_identity(id, {"trellis", "cluster.local"}).ok());
  EXPECT_FALSE(parse_service_account_identity(id, {"linkerd", "example.com"}).ok());
  // Three labels before the suffix, or one, are not <sa>.<ns>.
  for (const char* name : {"a.web.emojivoto.serviceaccount.identity.linkerd.cluster.local",
                           "emojivoto.serviceaccount.identity.linkerd.cluster.local",
                           "identity.linkerd.cluster.local"}) {
    auto r = parse_service_account_identity(*Identity::parse(name));
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidIdentity);
  }
}

TEST(Identity, IssuerName) {
  EXPECT_EQ(issuer_identity()->str(), "identity.linkerd.cluster.local");
  EXPECT_EQ(issuer_identity({"trellis", "example.org"})->str(), "identity.trellis.example.org");
  EXPECT_FALSE(issuer_identity({"", "cluster.local"}).ok());
}

}  // namespace
}  // namespace trellis::tls
