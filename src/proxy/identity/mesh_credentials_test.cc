#include "proxy/identity/mesh_credentials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "metrics/registry.h"
#include "proxy/identity/state.h"
#include "tls/pem.h"
#include "tls/test_support.h"
#include "tls/x509.h"

namespace trellis::proxy::identity {
namespace {

namespace fs = std::filesystem;
using tls::testing::Pki;
using tls::testing::take;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/trellis-p2-identity-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& content) {
  // Through a rename, as Kubernetes and editors do, so the inode changes too.
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << content;
  fs::rename(tmp, path);
}

std::string chain_pem(const tls::Credentials& c) {
  std::vector<tls::X509Ptr> chain;
  chain.push_back(tls::share(c.leaf()));
  for (const auto& x : c.chain()) chain.push_back(tls::share(x.get()));
  return take(tls::to_pem(chain));
}

struct Files {
  TempDir dir;
  ProxyConfig config;
  Pki pki = Pki::create();

  Files() {
    config.identity_cert_file = dir.file("tls.crt");
    config.identity_key_file = dir.file("tls.key");
    config.trust_anchors_file = dir.file("ca.crt");
    write(config.trust_anchors_file, take(tls::to_pem(pki.anchor.cert.get())));
    write_leaf(tls::testing::web_identity());
  }
  tls::Credentials write_leaf(const tls::Identity& id) {
    auto c = pki.leaf(id);
    write(config.identity_cert_file, chain_pem(c));
    write(config.identity_key_file, take(tls::private_key_to_pem(c.key())));
    return c;
  }
};

TEST(MeshCredentials, NoIdentityMeansNoMeshTls) {
  ProxyConfig config;
  auto mesh = make_mesh_tls(config);
  ASSERT_TRUE(mesh) << mesh.error();
  EXPECT_EQ(mesh->get(), nullptr);
}

TEST(MeshCredentials, StaticFilesBuildBothContexts) {
  Files f;
  auto mesh = make_mesh_tls(f.config);
  ASSERT_TRUE(mesh) << mesh.error();
  ASSERT_NE(mesh->get(), nullptr);
  const MeshTls& m = **mesh;
  EXPECT_EQ(m.identity, tls::testing::web_identity());
  EXPECT_EQ(m.server->identity(), tls::testing::web_identity());
  EXPECT_TRUE(m.server->new_session());
  EXPECT_TRUE(m.client->new_session(tls::testing::web_identity()));
}

TEST(MeshCredentials, IdentityNameMustMatchTheCertificate) {
  Files f;
  f.config.identity_name = "other.emojivoto.serviceaccount.identity.linkerd.cluster.local";
  auto mesh = make_mesh_tls(f.config);
  ASSERT_FALSE(mesh);
  EXPECT_NE(mesh.error().find(f.config.identity_cert_file), std::string::npos) << mesh.error();
  EXPECT_NE(mesh.error().find("not identity-name"), std::string::npos) << mesh.error();
}

TEST(MeshCredentials, ErrorsNameTheFile) {
  Files f;
  write(f.config.identity_key_file, "not a key");
  auto mesh = make_mesh_tls(f.config);
  ASSERT_FALSE(mesh);
  EXPECT_NE(mesh.error().find("identity key file " + f.config.identity_key_file),
            std::string::npos)
      << mesh.error();

  Files g;
  write(g.config.trust_anchors_file, "garbage");
  mesh = make_mesh_tls(g.config);
  ASSERT_FALSE(mesh);
  EXPECT_NE(mesh.error().find("trust anchors file " + g.config.trust_anchors_file),
            std::string::npos)
      << mesh.error();

  Files h;
  h.config.identity_cert_file = h.dir.file("missing.crt");
  mesh = make_mesh_tls(h.config);
  ASSERT_FALSE(mesh);
  EXPECT_NE(mesh.error().find("missing.crt: cannot be read"), std::string::npos) << mesh.error();

  // A key from another certificate.
  Files k;
  auto other = k.pki.leaf(tls::testing::web_identity());
  write(k.config.identity_key_file, take(tls::private_key_to_pem(other.key())));
  mesh = make_mesh_tls(k.config);
  ASSERT_FALSE(mesh);
  EXPECT_NE(mesh.error().find("key_mismatch"), std::string::npos) << mesh.error();
}

TEST(MeshCredentials, SettingsMustFitTogether) {
  ProxyConfig c;
  c.identity_cert_file = "/x.crt";
  EXPECT_FALSE(validate_identity_config(c));  // no key
  c.identity_key_file = "/x.key";
  auto r = validate_identity_config(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("trust-anchors-file"), std::string::npos);

  ProxyConfig d;
  d.identity_name = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local";
  EXPECT_FALSE(validate_identity_config(d));  // nowhere to get a certificate
  d.control_addr = "127.0.0.1:8086";
  d.trust_anchors_file = "/ca.crt";
  r = validate_identity_config(d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("identity-token-file"), std::string::npos);
  d.identity_token_file = "/token";
  EXPECT_TRUE(validate_identity_config(d));
}

TEST(MeshCredentials, IdentityServiceStartsWithAnUntrustedPlaceholder) {
  Files f;
  ProxyConfig c;
  c.identity_name = tls::testing::web_identity().str();
  c.control_addr = "127.0.0.1:8086";
  c.trust_anchors_file = f.config.trust_anchors_file;
  c.identity_token_file = "/token";
  auto mesh = make_mesh_tls(c);
  ASSERT_TRUE(mesh) << mesh.error();
  ASSERT_NE(mesh->get(), nullptr);
  EXPECT_EQ((*mesh)->identity, tls::testing::web_identity());

  auto placeholder = placeholder_credentials(tls::testing::web_identity());
  ASSERT_TRUE(placeholder) << placeholder.error();
  EXPECT_EQ(placeholder->identity(), tls::testing::web_identity());
  // It does not verify against the mesh's anchors.
  auto store = take(f.pki.anchors().make_store());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), placeholder->leaf(), nullptr), 1);
  EXPECT_NE(X509_verify_cert(ctx.get()), 1);
}

TEST(MeshCredentials, FileCredentialsReloadOnChangeAndKeepTheOldOnError) {
  Files f;
  auto mesh = make_mesh_tls(f.config);
  ASSERT_TRUE(mesh) << mesh.error();
  metrics::Registry registry;
  IdentityState state(registry);
  FileCredentials files(f.config, **mesh, &state);

  auto polled = files.poll();
  ASSERT_TRUE(polled);
  EXPECT_FALSE(*polled);  // nothing changed yet

  auto next = f.write_leaf(tls::testing::web_identity());
  polled = files.poll();
  ASSERT_TRUE(polled) << polled.error();
  EXPECT_TRUE(*polled);
  EXPECT_EQ(state.chain_pem(), chain_pem(next));
  EXPECT_EQ(state.refreshes(), 1u);

  write(f.config.identity_cert_file, "broken");
  polled = files.poll();
  ASSERT_FALSE(polled);
  EXPECT_NE(polled.error().find(f.config.identity_cert_file), std::string::npos);
  EXPECT_EQ(state.chain_pem(), chain_pem(next));  // still the last good one

  // A certificate for another identity is refused: the proxy's identity never changes.
  f.write_leaf(tls::testing::id("other.emojivoto.serviceaccount.identity.linkerd.cluster.local"));
  polled = files.poll();
  ASSERT_FALSE(polled);
  EXPECT_NE(polled.error().find("is now for other."), std::string::npos) << polled.error();
  EXPECT_EQ(state.refreshes(), 1u);
  EXPECT_NE(registry.render().find("identity_cert_refresh_total 1"), std::string::npos);
}

}  // namespace
}  // namespace trellis::proxy::identity
