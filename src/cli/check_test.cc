#include "cli/check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "cli/cert_info.h"
#include "tls/ca.h"
#include "tls/identity.h"
#include "tls/pem.h"

namespace trellis::cli {
namespace {

using std::chrono::hours;
using ::testing::HasSubstr;

const SystemTime kNow = std::chrono::system_clock::from_time_t(1'900'000'000);
constexpr const char* kVersion = "0.1.0";
const hours kDays(24);

template <typename T>
T take(tls::Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
  return std::move(r).value();
}

struct Pki {
  tls::CertifiedKey anchor;
  tls::CertifiedKey issuer;
};

// An anchor valid [start, start + anchor_life) and an issuer valid [start, start + issuer_life).
Pki make_pki(SystemTime start, hours anchor_life, hours issuer_life,
             const char* issuer_cn = "identity.linkerd.cluster.local") {
  Pki pki;
  pki.anchor = take(tls::create_trust_anchor({"root.linkerd.cluster.local", anchor_life, start}));
  pki.issuer = take(tls::create_issuer(pki.anchor, {issuer_cn, issuer_life, start}));
  return pki;
}

CaMaterial material(const Pki& pki) {
  CaMaterial ca;
  ca.dir = "/ca";
  ca.anchors.push_back(tls::share(pki.anchor.cert.get()));
  ca.issuer = tls::share(pki.issuer.cert.get());
  ca.issuer_key = tls::share(pki.issuer.key.get());
  return ca;
}

// A proxy's /identity answer: leaf (issued at `issued`, valid for `life`) + issuer, PEM.
std::string leaf_chain_pem(const Pki& pki, SystemTime issued, hours life) {
  auto identity = take(tls::service_account_identity("web", "emojivoto"));
  auto key = take(tls::generate_p256_key());
  auto csr = take(tls::create_csr(identity, key.get()));
  tls::Issuer issuer{{tls::share(pki.issuer.cert.get()), tls::share(pki.issuer.key.get())}, {}};
  tls::LeafOptions options;
  options.lifetime = life;
  options.now = issued;
  auto leaf = take(tls::sign_leaf(issuer, csr.get(), identity, options));
  return take(tls::to_pem(leaf.get())) + take(tls::to_pem(pki.issuer.cert.get()));
}

nlohmann::json status_json(const Pki& pki) {
  return {
      {"version", kVersion},
      {"controlNamespace", "linkerd"},
      {"trustDomain", "cluster.local"},
      {"store", {{"dir", "/manifests"}, {"resources", 12}, {"errors", nlohmann::json::array()}}},
      {"ca",
       {{"anchors",
         {{{"subject", "root.linkerd.cluster.local"},
           {"notAfter", format_rfc3339(tls::not_after(pki.anchor.cert.get()))}}}},
        {"issuer",
         {{"subject", "identity.linkerd.cluster.local"},
          {"notAfter", format_rfc3339(tls::not_after(pki.issuer.cert.get()))}}}}},
      {"proxies", nlohmann::json::array()},
  };
}

ControlProbe healthy_control(const Pki& pki) {
  ControlProbe probe;
  probe.address = "127.0.0.1:9996";
  probe.ready_status = 200;
  probe.ready_body = "ready\n";
  probe.status_status = 200;
  probe.status = status_json(pki);
  return probe;
}

CheckInputs inputs() {
  CheckInputs in;
  in.now = kNow;
  in.cli_version = kVersion;
  return in;
}

const CheckResult* find(const std::vector<CheckCategory>& cats, const std::string& prefix) {
  for (const auto& cat : cats) {
    for (const auto& check : cat.checks) {
      if (check.description.rfind(prefix, 0) == 0) return &check;
    }
  }
  return nullptr;
}

std::string joined(const CheckResult& c) {
  std::string s;
  for (const auto& d : c.details) s += d + "\n";
  return s;
}

size_t count(const std::vector<CheckCategory>& cats, CheckStatus status) {
  size_t n = 0;
  for (const auto& cat : cats) {
    for (const auto& check : cat.checks) n += check.status == status;
  }
  return n;
}

class CheckTest : public ::testing::Test {
 protected:
  // Valid for a year from 10 days ago.
  Pki pki_ = make_pki(kNow - 10 * kDays, 365 * kDays, 365 * kDays);
};

TEST_F(CheckTest, AllGood) {
  CheckInputs in = inputs();
  in.control = healthy_control(pki_);
  in.ca = material(pki_);
  ProxyProbe proxy;
  proxy.address = "127.0.0.1:4191";
  proxy.identity_status = 200;
  proxy.identity_pem = leaf_chain_pem(pki_, kNow - hours(1), hours(24));
  proxy.version = kVersion;
  in.proxies.push_back(std::move(proxy));

  auto cats = evaluate_checks(in);
  EXPECT_TRUE(checks_passed(cats));
  EXPECT_EQ(count(cats, CheckStatus::kWarning), 0u);
  EXPECT_EQ(count(cats, CheckStatus::kError), 0u);
  ASSERT_EQ(cats.size(), 4u);
  EXPECT_EQ(cats[0].name, "trellis-control");
  EXPECT_EQ(cats[1].name, "trellis-identity");
  EXPECT_EQ(cats[2].name, "trellis-resources");
  EXPECT_EQ(cats[3].name, "trellis-data-plane");
  ASSERT_NE(find(cats, "issuer certificate is signed by a trust anchor"), nullptr);
  ASSERT_NE(find(cats, "control plane uses the issuer in /ca"), nullptr);
  ASSERT_NE(find(cats, "proxy at 127.0.0.1:4191 has a valid certificate"), nullptr);

  std::ostringstream text;
  print_checks_text(cats, text);
  EXPECT_THAT(text.str(), HasSubstr("\u221a can reach trellis-control admin at 127.0.0.1:9996\n"));
  EXPECT_THAT(text.str(), HasSubstr("Status check results are \u221a\n"));
  EXPECT_EQ(checks_to_json(cats)["success"], true);
}

TEST_F(CheckTest, IssuerExpiringWithin60DaysWarns) {
  Pki pki = make_pki(kNow - 10 * kDays, 365 * kDays, 40 * kDays);  // 30 days left
  CheckInputs in = inputs();
  in.ca = material(pki);
  auto cats = evaluate_checks(in);
  const CheckResult* soon = find(cats, "issuer certificate is valid for at least 60 days");
  ASSERT_NE(soon, nullptr);
  EXPECT_EQ(soon->status, CheckStatus::kWarning);
  EXPECT_THAT(joined(*soon), HasSubstr("(in 30 days)"));
  EXPECT_FALSE(soon->hint.empty());
  EXPECT_EQ(find(cats, "issuer certificate is within its validity period")->status,
            CheckStatus::kOk);
  EXPECT_EQ(find(cats, "trust anchors are valid for at least 60 days")->status, CheckStatus::kOk);
  EXPECT_TRUE(checks_passed(cats));  // warnings do not fail the check

  std::ostringstream text;
  print_checks_text(cats, text);
  EXPECT_THAT(text.str(), HasSubstr("\u203c issuer certificate is valid for at least 60 days\n"));
  EXPECT_THAT(text.str(), HasSubstr("    hint: "));
}

TEST_F(CheckTest, ExpiredIssuerFails) {
  Pki pki = make_pki(kNow - 10 * kDays, 365 * kDays, 5 * kDays);
  CheckInputs in = inputs();
  in.ca = material(pki);
  auto cats = evaluate_checks(in);
  const CheckResult* valid = find(cats, "issuer certificate is within its validity period");
  ASSERT_NE(valid, nullptr);
  EXPECT_EQ(valid->status, CheckStatus::kError);
  EXPECT_THAT(joined(*valid), HasSubstr("expired on"));
  EXPECT_EQ(find(cats, "issuer certificate is signed by a trust anchor")->status,
            CheckStatus::kError);
  EXPECT_FALSE(checks_passed(cats));
  std::ostringstream text;
  print_checks_text(cats, text);
  EXPECT_THAT(text.str(), HasSubstr("\u00d7 issuer certificate is within its validity period\n"));
  EXPECT_THAT(text.str(), HasSubstr("Status check results are \u00d7\n"));
}

TEST_F(CheckTest, AnchorExpiringSoonWarns) {
  Pki pki = make_pki(kNow - 300 * kDays, 310 * kDays, 310 * kDays);
  CheckInputs in = inputs();
  in.ca = material(pki);
  auto cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "trust anchors are valid for at least 60 days")->status,
            CheckStatus::kWarning);
  EXPECT_EQ(find(cats, "issuer certificate is valid for at least 60 days")->status,
            CheckStatus::kWarning);
  EXPECT_TRUE(checks_passed(cats));
}

TEST_F(CheckTest, IssuerFromAnotherAnchorAndWrongKeyFail) {
  Pki other = make_pki(kNow - kDays, 365 * kDays, 365 * kDays);
  CheckInputs in = inputs();
  in.ca = material(pki_);
  in.ca->issuer = tls::share(other.issuer.cert.get());  // signed by another anchor
  auto cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "issuer certificate is signed by a trust anchor")->status,
            CheckStatus::kError);
  // The key in the directory is pki_'s issuer key, not the other issuer's.
  EXPECT_EQ(find(cats, "issuer key matches the issuer certificate")->status, CheckStatus::kError);
  EXPECT_FALSE(checks_passed(cats));
}

TEST_F(CheckTest, IssuerWithWrongNameFails) {
  Pki pki = make_pki(kNow - kDays, 365 * kDays, 365 * kDays, "identity.other.example.org");
  CheckInputs in = inputs();
  in.ca = material(pki);
  auto cats = evaluate_checks(in);
  const CheckResult* sane = find(cats, "issuer certificate is an ECDSA P-256 CA");
  ASSERT_NE(sane, nullptr);
  EXPECT_EQ(sane->status, CheckStatus::kError);
  EXPECT_THAT(joined(*sane), HasSubstr("expected CN=identity.linkerd.cluster.local"));
}

TEST_F(CheckTest, UnreadableCaFilesAreListed) {
  CheckInputs in = inputs();
  in.ca = CaMaterial{};
  in.ca->dir = "/nowhere";
  in.ca->errors = {"cannot read /nowhere/ca.crt", "cannot read /nowhere/issuer.key"};
  auto cats = evaluate_checks(in);
  const CheckResult* files = find(cats, "CA files in /nowhere are readable");
  ASSERT_NE(files, nullptr);
  EXPECT_EQ(files->status, CheckStatus::kError);
  EXPECT_EQ(files->details.size(), 2u);
  EXPECT_EQ(find(cats, "issuer certificate is signed by a trust anchor"), nullptr);
}

TEST_F(CheckTest, UnreachableControlPlane) {
  CheckInputs in = inputs();
  ControlProbe probe;
  probe.address = "127.0.0.1:1";
  probe.unreachable = "connection refused";
  in.control = probe;
  auto cats = evaluate_checks(in);
  ASSERT_GE(cats.size(), 2u);
  ASSERT_EQ(cats[0].checks.size(), 1u);  // nothing else is tried
  const CheckResult& reach = cats[0].checks[0];
  EXPECT_EQ(reach.status, CheckStatus::kError);
  EXPECT_THAT(joined(reach),
              HasSubstr("cannot reach trellis-control admin at 127.0.0.1:1: connection refused"));
  EXPECT_THAT(reach.hint, HasSubstr("trellis-control --store-dir"));
  // Without the status and without --ca-dir nothing can be said about the CA.
  EXPECT_EQ(find(cats, "trust anchors and issuer can be checked")->status, CheckStatus::kError);
  EXPECT_FALSE(checks_passed(cats));

  // With --ca-dir the CA is still checked in full.
  in.ca = material(pki_);
  cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "issuer key matches the issuer certificate")->status, CheckStatus::kOk);
}

TEST_F(CheckTest, NotReadyAndVersionMismatch) {
  CheckInputs in = inputs();
  in.control = healthy_control(pki_);
  in.control->ready_status = 503;
  in.control->ready_body = "store not loaded\n";
  (*in.control->status)["version"] = "0.2.0";
  auto cats = evaluate_checks(in);
  const CheckResult* ready = find(cats, "control plane is ready");
  EXPECT_EQ(ready->status, CheckStatus::kError);
  EXPECT_THAT(joined(*ready), HasSubstr("HTTP 503: store not loaded"));
  const CheckResult* version = find(cats, "control plane and CLI versions match");
  EXPECT_EQ(version->status, CheckStatus::kWarning);
  EXPECT_THAT(joined(*version), HasSubstr("control plane is 0.2.0, CLI is 0.1.0"));
}

TEST_F(CheckTest, StoreErrorsAreListedWithPositions) {
  CheckInputs in = inputs();
  in.control = healthy_control(pki_);
  (*in.control->status)["store"]["errors"] = {
      {{"file", "a.yaml"}, {"line", 3}, {"column", 5}, {"severity", "error"},
       {"message", "spec.port: must be 1..65535"}},
      {{"file", "b.yaml"}, {"line", 1}, {"column", 1}, {"severity", "warning"},
       {"object", "TrafficSplit/demo/web"}, {"message", "deprecated"}}};
  auto cats = evaluate_checks(in);
  const CheckResult* store = find(cats, "resources in the store have no errors");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->status, CheckStatus::kError);
  EXPECT_EQ(joined(*store),
            "a.yaml:3:5: spec.port: must be 1..65535\n"
            "b.yaml:1:1: warning: TrafficSplit/demo/web: deprecated\n");
  EXPECT_THAT(store->hint, HasSubstr("trellis validate -f /manifests"));
  EXPECT_FALSE(checks_passed(cats));

  // Warnings alone do not fail.
  (*in.control->status)["store"]["errors"].erase(0);
  cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "resources in the store have no errors")->status, CheckStatus::kWarning);
  EXPECT_TRUE(checks_passed(cats));
}

TEST_F(CheckTest, CaFromStatusOnly) {
  Pki pki = make_pki(kNow - 10 * kDays, 365 * kDays, 50 * kDays);  // issuer: 40 days left
  CheckInputs in = inputs();
  in.control = healthy_control(pki);
  auto cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "issuer certificate is valid for at least 60 days")->status,
            CheckStatus::kWarning);
  EXPECT_EQ(find(cats, "trust anchors are within their validity period")->status,
            CheckStatus::kOk);
  EXPECT_EQ(find(cats, "issuer certificate is signed by a trust anchor"), nullptr);
  EXPECT_TRUE(checks_passed(cats));

  (*in.control->status)["ca"]["anchors"][0]["notAfter"] = "2020-01-01T00:00:00Z";
  cats = evaluate_checks(in);
  const CheckResult* anchors = find(cats, "trust anchors are within their validity period");
  EXPECT_EQ(anchors->status, CheckStatus::kError);
  EXPECT_THAT(joined(*anchors), HasSubstr("expired on 2020-01-01T00:00:00Z"));

  in.control->status->erase("ca");  // no CA loaded
  cats = evaluate_checks(in);
  const CheckResult* none = find(cats, "trust anchors and issuer can be checked");
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->status, CheckStatus::kError);
  EXPECT_THAT(joined(*none), HasSubstr("the control plane reports no CA"));
}

TEST_F(CheckTest, ControlPlaneUsingAnotherIssuerWarns) {
  Pki other = make_pki(kNow - kDays, 365 * kDays, 200 * kDays);
  CheckInputs in = inputs();
  in.control = healthy_control(other);
  in.ca = material(pki_);
  auto cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "control plane uses the issuer in /ca")->status, CheckStatus::kWarning);
}

TEST_F(CheckTest, ReportedProxies) {
  CheckInputs in = inputs();
  in.control = healthy_control(pki_);
  (*in.control->status)["proxies"] = {
      {{"identity", "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"},
       {"notAfter", format_rfc3339(kNow + hours(20))},
       {"version", kVersion},
       {"lastCertified", format_rfc3339(kNow - hours(4))}},
      {{"identity", "emoji.emojivoto.serviceaccount.identity.linkerd.cluster.local"},
       {"notAfter", format_rfc3339(kNow + hours(20))},
       {"version", "0.0.9"}}};
  auto cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "certified proxies have valid certificates")->status, CheckStatus::kOk);
  const CheckResult* versions = find(cats, "certified proxies run the CLI's version");
  EXPECT_EQ(versions->status, CheckStatus::kWarning);
  EXPECT_EQ(joined(*versions),
            "emoji.emojivoto.serviceaccount.identity.linkerd.cluster.local runs 0.0.9, CLI is "
            "0.1.0\n");

  (*in.control->status)["proxies"][0]["notAfter"] = format_rfc3339(kNow - hours(1));
  cats = evaluate_checks(in);
  const CheckResult* certs = find(cats, "certified proxies have valid certificates");
  EXPECT_EQ(certs->status, CheckStatus::kError);
  EXPECT_THAT(joined(*certs), HasSubstr("web.emojivoto.serviceaccount.identity.linkerd."
                                        "cluster.local: certificate expired on"));
  EXPECT_FALSE(checks_passed(cats));
}

TEST_F(CheckTest, ProbedProxies) {
  Pki other = make_pki(kNow - kDays, 365 * kDays, 365 * kDays);
  CheckInputs in = inputs();
  in.ca = material(pki_);
  ProxyProbe good;
  good.address = "a:4191";
  good.identity_status = 200;
  good.identity_pem = leaf_chain_pem(pki_, kNow - hours(1), hours(24));
  good.version = kVersion;
  ProxyProbe foreign = good;
  foreign.address = "b:4191";
  foreign.identity_pem = leaf_chain_pem(other, kNow - hours(1), hours(24));
  ProxyProbe expired = good;
  expired.address = "c:4191";
  expired.identity_pem = leaf_chain_pem(pki_, kNow - hours(30), hours(24));
  ProxyProbe none;
  none.address = "d:4191";
  none.identity_status = 404;
  ProxyProbe down;
  down.address = "e:4191";
  down.unreachable = "connection refused";
  ProxyProbe old = good;
  old.address = "f:4191";
  old.version = "";
  in.proxies = {good, foreign, expired, none, down, old};

  auto cats = evaluate_checks(in);
  EXPECT_EQ(find(cats, "proxy at a:4191 has a valid certificate")->status, CheckStatus::kOk);
  const CheckResult* b = find(cats, "proxy at b:4191 has a valid certificate");
  EXPECT_EQ(b->status, CheckStatus::kError);
  EXPECT_THAT(joined(*b), HasSubstr("chain does not verify to the anchors in /ca"));
  const CheckResult* c = find(cats, "proxy at c:4191 has a valid certificate");
  EXPECT_EQ(c->status, CheckStatus::kError);
  EXPECT_THAT(joined(*c), HasSubstr("certificate expired on"));
  const CheckResult* d = find(cats, "proxy at d:4191 has a valid certificate");
  EXPECT_EQ(d->status, CheckStatus::kError);
  EXPECT_THAT(joined(*d), HasSubstr("has no certificate"));
  EXPECT_EQ(find(cats, "proxy at d:4191 runs"), nullptr);
  const CheckResult* e = find(cats, "proxy at e:4191 has a valid certificate");
  EXPECT_EQ(e->status, CheckStatus::kError);
  EXPECT_THAT(joined(*e), HasSubstr("cannot reach the proxy admin at e:4191: connection refused"));
  EXPECT_EQ(find(cats, "proxy at f:4191 runs the CLI's version")->status, CheckStatus::kWarning);
  EXPECT_EQ(find(cats, "proxy at a:4191 runs the CLI's version")->status, CheckStatus::kOk);

  // Without anchors the chain cannot be verified: a warning, not a pass.
  in.ca.reset();
  in.proxies = {good};
  cats = evaluate_checks(in);
  const CheckResult* unverified = find(cats, "proxy at a:4191 has a valid certificate");
  EXPECT_EQ(unverified->status, CheckStatus::kWarning);
  EXPECT_THAT(unverified->hint, HasSubstr("--ca-dir"));
}

TEST(CheckJson, ShapeAndResults) {
  std::vector<CheckCategory> cats = {
      {"c", {{"fine", CheckStatus::kOk, {}, {}}, {"bad", CheckStatus::kError, {"why"}, "fix"}}}};
  auto j = checks_to_json(cats);
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(j["categories"][0]["categoryName"], "c");
  EXPECT_EQ(j["categories"][0]["checks"][0]["result"], "success");
  EXPECT_EQ(j["categories"][0]["checks"][1]["result"], "error");
  EXPECT_EQ(j["categories"][0]["checks"][1]["hint"], "fix");
  EXPECT_EQ(j["categories"][0]["checks"][1]["details"][0], "why");
}

TEST(ProxyVersionFromMetrics, ReadsBuildInfo) {
  EXPECT_EQ(
      proxy_version_from_metrics("# HELP proxy_build_info x\n"
                                 "# TYPE proxy_build_info gauge\n"
                                 "proxy_build_info{version=\"0.1.0\",vendor=\"trellis\"} 1\n"),
      "0.1.0");
  EXPECT_EQ(proxy_version_from_metrics("proxy_build_info{vendor=\"t\",version=\"1.2.3\"} 1\n"),
            "1.2.3");
  EXPECT_EQ(proxy_version_from_metrics("proxy_build_info{xversion=\"9\"} 1\n"), "");
  EXPECT_EQ(proxy_version_from_metrics("request_total{version=\"9\"} 1\n"), "");
}

}  // namespace
}  // namespace trellis::cli
