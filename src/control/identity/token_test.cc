#include "control/identity/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/strings.h"
#include "control/identity/token_writer.h"
#include "control/store/directory_source.h"

namespace trellis::control::identity {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using std::chrono::system_clock;

const std::string kKey(32, 'k');
const system_clock::time_point kNow = system_clock::from_time_t(1'800'000'000);

TokenClaims claims(int64_t exp_offset = 3600) {
  return {"web", "emojivoto", 1'800'000'000 - 10, 1'800'000'000 + exp_offset};
}

TEST(Base64UrlTest, RoundTripAndRejects) {
  const std::vector<std::string> inputs = {"",     "f",     "fo",     "foo",
                                           "foob", "fooba", "foobar", std::string("\xff\xfe\x00", 3)};
  for (const std::string& s : inputs) {
    auto d = base64url_decode(base64url_encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("a").ok());
  EXPECT_FALSE(base64url_decode("ab+c").ok());
  EXPECT_FALSE(base64url_decode("ab==").ok());
  EXPECT_FALSE(base64url_decode("Zm9=").ok());
  EXPECT_FALSE(base64url_decode("Zh").ok());  // non-canonical trailing bits
}

TEST(TokenTest, ValidTokenVerifies) {
  const std::string token = issue_token(kKey, claims());
  EXPECT_TRUE(token.starts_with("v1."));
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_EQ(token.find('='), std::string::npos);
  auto v = verify_token(kKey, token + "\n", kNow);  // as read from a file
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->service_account, "web");
  EXPECT_EQ(v->ns, "emojivoto");
  EXPECT_EQ(v->expires_at, 1'800'003'600);
}

TEST(TokenTest, PayloadIsTheContractJson) {
  const std::string token = issue_token(kKey, claims());
  const auto parts = base::split(token, '.');
  auto payload = base64url_decode(parts[1]);
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload, R"({"exp":1800003600,"iat":1799999990,"ns":"emojivoto","sa":"web"})");
}

TEST(TokenTest, Refusals) {
  EXPECT_EQ(verify_token(kKey, "", kNow).error(), TokenError::kMissing);
  EXPECT_EQ(verify_token(kKey, "  \n", kNow).error(), TokenError::kMissing);
  EXPECT_EQ(verify_token(kKey, "garbage", kNow).error(), TokenError::kMalformed);
  EXPECT_EQ(verify_token(kKey, "v2.a.b", kNow).error(), TokenError::kMalformed);
  // Expired: exp == now is expired.
  EXPECT_EQ(verify_token(kKey, issue_token(kKey, claims(0)), kNow).error(), TokenError::kExpired);
  // Another key.
  EXPECT_EQ(verify_token(std::string(32, 'x'), issue_token(kKey, claims()), kNow).error(),
            TokenError::kBadSignature);
  // Tampered payload (another service account) with the old signature.
  const std::string good = issue_token(kKey, claims());
  TokenClaims evil = claims();
  evil.service_account = "admin";
  const std::string forged = issue_token(std::string(32, 'x'), evil);
  const auto g = base::split(good, '.');
  const auto f = base::split(forged, '.');
  const std::string spliced = "v1." + std::string(f[1]) + "." + std::string(g[2]);
  EXPECT_EQ(verify_token(kKey, spliced, kNow).error(), TokenError::kBadSignature);
  // A made-up signature.
  const std::string part = "v1." + base64url_encode(R"({"sa":"web"})");
  EXPECT_EQ(verify_token(kKey, part + ".AAAA", kNow).error(), TokenError::kBadSignature);
  EXPECT_EQ(verify_token(kKey, std::string(kMaxTokenBytes + 1, 'a'), kNow).error(),
            TokenError::kMalformed);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/trellis-token-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(TokenKeyTest, CreatedWithMode0600ThenReused) {
  TempDir dir;
  const std::string path = dir.path() + "/token.key";
  auto key = load_or_create_token_key(path);
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(key->size(), kTokenKeyBytes);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_token_key(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *key);
  std::ofstream(path) << "short";
  EXPECT_FALSE(load_or_create_token_key(path).ok());
}

TEST(TokenWriterTest, WritesImpliedServiceAccountsAndRenewsAtHalfTtl) {
  TempDir dir;
  store::Store store;
  store.start();
  store.apply({store::load_origin("a.yaml", R"(---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: emojivoto}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: vote, namespace: emojivoto}
spec:
  selector: {matchLabels: {app: vote}}
  template:
    metadata: {labels: {app: vote}}
    spec:
      serviceAccountName: voting
      containers: [{name: app, image: demo}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec:
  ports: [{port: 5432}]
)")},
              false);
  EXPECT_THAT(implied_service_accounts(*store.snapshot()),
              ::testing::ElementsAre(std::pair<std::string, std::string>{"data", "default"},
                                     std::pair<std::string, std::string>{"emojivoto", "default"},
                                     std::pair<std::string, std::string>{"emojivoto", "voting"},
                                     std::pair<std::string, std::string>{"emojivoto", "web"}));
  TokenWriter writer(store, kKey, dir.path(), seconds(100));
  EXPECT_EQ(writer.sync(*store.snapshot(), kNow), 4u);
  const std::string path = dir.path() + "/emojivoto/voting/token";
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  auto v = verify_token(kKey, token, kNow);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->service_account, "voting");
  EXPECT_EQ(v->expires_at - v->issued_at, 100);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Before half the TTL nothing is rewritten; at half of it everything is.
  EXPECT_EQ(writer.sync(*store.snapshot(), kNow + seconds(49)), 0u);
  EXPECT_EQ(writer.sync(*store.snapshot(), kNow + seconds(50)), 4u);
}

}  // namespace
}  // namespace trellis::control::identity
