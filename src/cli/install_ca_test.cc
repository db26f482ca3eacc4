#include "cli/install_ca.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cert_info.h"
#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

const SystemTime kNow = std::chrono::system_clock::from_time_t(1'900'000'000);  // 2030-03-17

class InstallCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trellis-install-ca-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ / "ca";
  }
  void TearDown() override { fs::remove_all(root_); }

  int run(InstallCaOptions options) {
    if (options.dir.empty()) options.dir = dir_.string();
    out_.str("");
    err_.str("");
    return run_install_ca(options, out_, err_, kNow);
  }
  std::string read(const char* name) {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  tls::X509Ptr cert(const char* name) {
    auto c = tls::certificate_from_pem(read(name));
    EXPECT_TRUE(c.ok()) << name;
    return c ? std::move(*c) : nullptr;
  }

  fs::path root_;
  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(InstallCaTest, WritesAnchorAndIssuerSignedByIt) {
  ASSERT_EQ(run({}), 0) << err_.str();
  auto anchor = cert(kCaAnchorFile);
  auto issuer = cert(kCaIssuerCertFile);
  auto key = tls::private_key_from_pem(read(kCaIssuerKeyFile));
  ASSERT_TRUE(anchor && issuer && key.ok());

  // The anchor is a self-signed CA; the issuer is a CA that verifies against it alone.
  const CertificateSummary a = summarize_certificate(anchor.get());
  EXPECT_EQ(a.subject, "CN=root.linkerd.cluster.local");
  EXPECT_EQ(a.issuer, a.subject);
  EXPECT_TRUE(a.is_ca);
  EXPECT_EQ(verify_chain(anchor.get(), {}, {anchor.get()}, kNow), "");

  const CertificateSummary i = summarize_certificate(issuer.get());
  EXPECT_EQ(i.subject, "CN=identity.linkerd.cluster.local");
  EXPECT_EQ(i.issuer, "CN=root.linkerd.cluster.local");
  EXPECT_TRUE(i.is_ca);
  EXPECT_EQ(i.key_algorithm, "ECDSA P-256");
  EXPECT_EQ(verify_chain(issuer.get(), {}, {anchor.get()}, kNow), "");
  EXPECT_TRUE(key_matches(issuer.get(), key->get()));
  EXPECT_EQ(i.not_after, kNow + hours(8760));

  // The key is readable by its owner only.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / kCaIssuerKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The output names the files, the anchor's fingerprint and the issuer's expiry.
  const std::string out = out_.str();
  EXPECT_NE(out.find((dir_ / kCaAnchorFile).string()), std::string::npos) << out;
  EXPECT_NE(out.find((dir_ / kCaIssuerKeyFile).string()), std::string::npos) << out;
  EXPECT_NE(out.find("fingerprint: " + a.sha256_fingerprint), std::string::npos) << out;
  EXPECT_NE(out.find("issuer expires: " + format_rfc3339(i.not_after) + " (in 365 days)"),
            std::string::npos)
      << out;
}

TEST_F(InstallCaTest, HonoursDomainAndLifetimes) {
  InstallCaOptions options;
  options.control_namespace = "mesh";
  options.trust_domain = "example.org";
  options.anchor_lifetime = "48h";
  options.issuer_lifetime = "72h";  // longer than the anchor: clamped
  ASSERT_EQ(run(options), 0) << err_.str();
  auto anchor = cert(kCaAnchorFile);
  auto issuer = cert(kCaIssuerCertFile);
  EXPECT_EQ(summarize_certificate(anchor.get()).subject, "CN=root.mesh.example.org");
  EXPECT_EQ(summarize_certificate(issuer.get()).subject, "CN=identity.mesh.example.org");
  EXPECT_EQ(tls::not_after(anchor.get()), kNow + hours(48));
  EXPECT_EQ(tls::not_after(issuer.get()), kNow + hours(48));
  EXPECT_NE(out_.str().find("clamped to the trust anchor's expiry"), std::string::npos);
}

TEST_F(InstallCaTest, RefusesToOverwriteWithoutForce) {
  ASSERT_EQ(run({}), 0);
  const std::string anchor_before = read(kCaAnchorFile);
  const std::string key_before = read(kCaIssuerKeyFile);
  EXPECT_EQ(run({}), 1);
  EXPECT_NE(err_.str().find("refusing to overwrite"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--force"), std::string::npos);
  EXPECT_EQ(read(kCaAnchorFile), anchor_before);
  EXPECT_EQ(read(kCaIssuerKeyFile), key_before);

  InstallCaOptions force;
  force.force = true;
  ASSERT_EQ(run(force), 0) << err_.str();
  EXPECT_NE(read(kCaAnchorFile), anchor_before);
  EXPECT_NE(read(kCaIssuerKeyFile), key_before);
}

TEST_F(InstallCaTest, OneExistingFileIsEnoughToRefuse) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / kCaIssuerKeyFile) << "mine";
  EXPECT_EQ(run({}), 1);
  EXPECT_FALSE(fs::exists(dir_ / kCaAnchorFile));
  EXPECT_EQ(read(kCaIssuerKeyFile), "mine");
}

TEST_F(InstallCaTest, RejectsBadArguments) {
  InstallCaOptions bad_lifetime;
  bad_lifetime.issuer_lifetime = "5";
  EXPECT_EQ(run(bad_lifetime), 2);
  EXPECT_NE(err_.str().find("--issuer-lifetime"), std::string::npos) << err_.str();

  InstallCaOptions negative;
  negative.anchor_lifetime = "-1h";
  EXPECT_EQ(run(negative), 2);

  InstallCaOptions bad_ns;
  bad_ns.control_namespace = "Not_Valid";
  EXPECT_EQ(run(bad_ns), 2);
  EXPECT_FALSE(fs::exists(dir_));
}

}  // namespace
}  // namespace trellis::cli
