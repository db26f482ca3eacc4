// trellis-control in-process: Identity.Certify over real TLS with a gRPC C++ client, the
// Destination/Policy streams (authentication, exists=false → true, updates after file changes),
// the admin API, and the listener's TLS version floor.

#include "control/server/control_plane.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/destination.grpc.pb.h"
#include "api/identity.grpc.pb.h"
#include "api/policy.grpc.pb.h"
#include "api/traffic.pb.h"
#include "control/identity/token.h"
#include "tls/ca.h"
#include "tls/pem.h"
#include "tls/test_support.h"
#include "tls/x509.h"

namespace trellis::control::server {
namespace {

namespace fs = std::filesystem;
namespace dst = trellis::api::destination::v1;
namespace idn = trellis::api::identity::v1;
namespace pol = trellis::api::policy::v1;
using ::testing::HasSubstr;

constexpr char kWebIdentity[] = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local";

template <typename T>
T take(tls::Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << tls::to_string(r.error().code) << ": " << r.error().detail;
    std::abort();
  }
  return std::move(r).value();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  // Atomic, as an editor or the runtime would.
  std::ofstream(path + ".tmp") << content;
  fs::rename(path + ".tmp", path);
}

std::string der_to_pem(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  tls::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_TRUE(cert);
  return take(tls::to_pem(cert.get()));
}

constexpr char kNamespace[] = R"(apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
  annotations:
    linkerd.io/inject: enabled
)";

constexpr char kWebService[] = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: emojivoto}
spec:
  clusterIP: 198.19.0.10
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
)";

std::string web_pod(const std::string& ip) {
  return R"(apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: emojivoto
  labels: {app: web}
spec:
  serviceAccountName: web
  containers: [{name: app, image: demo, ports: [{containerPort: 8080}]}]
status:
  phase: Running
  podIP: )" + ip + "\n";
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trellis-control-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    const auto now = std::chrono::system_clock::now() - std::chrono::hours(1);
    anchor_ = take(tls::create_trust_anchor({"root.linkerd.cluster.local",
                                             std::chrono::hours(48), now}));
    auto issuer = take(tls::create_issuer(anchor_, {"identity.linkerd.cluster.local",
                                                    std::chrono::hours(48), now}));
    anchors_pem_ = take(tls::to_pem(anchor_.cert.get()));
    write_file(root_ + "/ca/ca.crt", anchors_pem_);
    write_file(root_ + "/ca/issuer.crt", take(tls::to_pem(issuer.cert.get())));
    write_file(root_ + "/ca/issuer.key", take(tls::private_key_to_pem(issuer.key.get())));
    write_file(root_ + "/store/ns.yaml", kNamespace);
    write_file(root_ + "/store/broken.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: "
                                             "bad\nspec:\n  ports: [{port: 99999}]\n");

    ControlPlaneOptions options;
    options.store_dir = root_ + "/store";
    options.ca_dir = root_ + "/ca";
    options.listen = "127.0.0.1:0";
    options.admin_listen = "127.0.0.1:0";
    options.token_dir = root_ + "/tokens";
    options.token_key_file = root_ + "/token.key";
    options.cert_ttl = std::chrono::seconds(60);
    options.ca_poll_interval = std::chrono::milliseconds(50);
    auto cp = ControlPlane::start(options);
    ASSERT_TRUE(cp.ok()) << cp.error();
    cp_ = std::move(*cp);
  }

  void TearDown() override {
    cp_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::shared_ptr<grpc::Channel> channel(const std::string& key_pem = "",
                                         const std::string& chain_pem = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = anchors_pem_;
    ssl.pem_private_key = key_pem;
    ssl.pem_cert_chain = chain_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(cp_->identity().str());
    return grpc::CreateCustomChannel(cp_->grpc_address().to_string(), grpc::SslCredentials(ssl),
                                     args);
  }

  std::string token(const std::string& ns, const std::string& sa) {
    return read_file(root_ + "/tokens/" + ns + "/" + sa + "/token");
  }

  // Certifies `identity` with `token` and a fresh key; returns the status and fills the PEMs.
  grpc::Status certify(const std::string& identity, const std::string& token_text,
                       std::string* key_pem = nullptr, std::string* chain_pem = nullptr,
                       idn::CertifyResponse* out = nullptr) {
    auto key = take(tls::generate_p256_key());
    auto id = take(tls::Identity::parse(identity));
    auto csr = take(tls::create_csr(id, key.get()));
    idn::CertifyRequest req;
    req.set_identity(identity);
    req.set_token(token_text);
    req.set_certificate_signing_request(take(tls::csr_to_der(csr.get())));
    idn::CertifyResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("trellis-proxy-version", "9.9.9");
    auto stub = idn::Identity::NewStub(channel());
    grpc::Status status = stub->Certify(&ctx, req, &resp);
    if (status.ok()) {
      if (key_pem) *key_pem = take(tls::private_key_to_pem(key.get()));
      if (chain_pem) {
        *chain_pem = der_to_pem(resp.leaf_certificate());
        for (const auto& c : resp.intermediate_certificates()) *chain_pem += der_to_pem(c);
      }
    }
    if (out) *out = resp;
    return status;
  }

  std::shared_ptr<grpc::Channel> meshed_channel() {
    std::string key, chain;
    auto status = certify(kWebIdentity, token("emojivoto", "web"), &key, &chain);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return channel(key, chain);
  }

  std::string http_get(const std::string& path) {
    net::asio::io_context io;
    net::tcp::socket s(io);
    s.connect(cp_->admin_address().endpoint());
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    net::asio::write(s, net::asio::buffer(req));
    std::string out;
    net::error_code ec;
    net::asio::read(s, net::asio::dynamic_buffer(out), ec);
    return out;
  }

  std::string root_;
  tls::CertifiedKey anchor_;
  std::string anchors_pem_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ControlPlaneTest, WritesTokensAndCertifiesTheTokensIdentity) {
  // `default` of the namespace is implied by the Namespace object.
  EXPECT_FALSE(token("emojivoto", "default").empty());
  idn::CertifyResponse resp;
  auto status = certify("default.emojivoto.serviceaccount.identity.linkerd.cluster.local",
                        token("emojivoto", "default"), nullptr, nullptr, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(resp.leaf_certificate().data());
  tls::X509Ptr leaf(d2i_X509(nullptr, &p, static_cast<long>(resp.leaf_certificate().size())));
  ASSERT_TRUE(leaf);
  auto id = tls::identity_of(leaf.get());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->str(), "default.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(resp.intermediate_certificates_size(), 1);
  const auto lifetime = tls::not_after(leaf.get()) - std::chrono::system_clock::now();
  EXPECT_GT(lifetime, std::chrono::seconds(50));
  EXPECT_LE(lifetime, std::chrono::seconds(61));
  EXPECT_EQ(resp.valid_until().seconds(),
            std::chrono::duration_cast<std::chrono::seconds>(
                tls::not_after(leaf.get()).time_since_epoch())
                .count());
  // Listed for `trellis check`, with the version the proxy sent.
  const auto body = http_get("/api/v1/status");
  EXPECT_THAT(body, HasSubstr("default.emojivoto.serviceaccount.identity.linkerd.cluster.local"));
  EXPECT_THAT(body, HasSubstr("\"version\": \"9.9.9\""));
}

TEST_F(ControlPlaneTest, CertifyRefusals) {
  // The web service account appears once a pod references it.
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.7"));
  for (int i = 0; i < 100 && !fs::exists(root_ + "/tokens/emojivoto/web/token"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string web_token = token("emojivoto", "web");
  ASSERT_FALSE(web_token.empty());

  auto s = certify(kWebIdentity, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("no service-account token"));

  s = certify(kWebIdentity, "v1.bm9wZQ.bm9wZQ");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("signature"));

  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string expired =
      identity::issue_token(cp_->token_key(), {"web", "emojivoto", now - 100, now - 1});
  s = certify(kWebIdentity, expired);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));

  // web's token cannot get the default account's identity.
  s = certify("default.emojivoto.serviceaccount.identity.linkerd.cluster.local", web_token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("cannot certify"));

  // A CSR for another name than the identity asked for.
  {
    auto key = take(tls::generate_p256_key());
    auto csr = take(tls::create_csr(
        take(tls::Identity::parse("evil.emojivoto.serviceaccount.identity.linkerd.cluster.local")),
        key.get()));
    idn::CertifyRequest req;
    req.set_identity(kWebIdentity);
    req.set_token(web_token);
    req.set_certificate_signing_request(take(tls::csr_to_der(csr.get())));
    idn::CertifyResponse resp;
    grpc::ClientContext ctx;
    auto status = idn::Identity::NewStub(channel())->Certify(&ctx, req, &resp);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("csr_san_mismatch"));
  }
  const auto metrics = http_get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("identity_certify_refused_total{reason=\"no_token\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("identity_certify_refused_total{reason=\"bad_signature\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("identity_certify_refused_total{reason=\"expired_token\"} 1"));
  EXPECT_THAT(metrics,
              HasSubstr("identity_certify_refused_total{reason=\"identity_mismatch\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("identity_certify_refused_total{reason=\"invalid_csr\"} 1"));
}

TEST_F(ControlPlaneTest, DestinationNeedsAClientCertificate) {
  auto stub = dst::Destination::NewStub(channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  dst::GetDestination req;
  req.set_path("web.emojivoto.svc.cluster.local:80");
  auto reader = stub->Get(&ctx, req);
  dst::Update u;
  EXPECT_FALSE(reader->Read(&u));
  const auto status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ControlPlaneTest, DestinationStreamFollowsTheStore) {
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.7"));
  for (int i = 0; i < 100 && !fs::exists(root_ + "/tokens/emojivoto/web/token"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto stub = dst::Destination::NewStub(meshed_channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  dst::GetDestination req;
  req.set_path("web.emojivoto.svc.cluster.local:80");
  auto reader = stub->Get(&ctx, req);
  dst::Update u;
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_FALSE(u.exists());  // no such service yet

  // The service appears: exists=true with the pod, within a second of the file change.
  auto changed_at = std::chrono::steady_clock::now();
  write_file(root_ + "/store/svc.yaml", kWebService);
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, std::chrono::seconds(1));
  EXPECT_TRUE(u.exists());
  ASSERT_EQ(u.endpoints_size(), 1);
  EXPECT_EQ(u.endpoints(0).address(), "198.18.0.7:8080");
  EXPECT_EQ(u.endpoints(0).identity(), kWebIdentity);

  // The pod moves.
  changed_at = std::chrono::steady_clock::now();
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.8"));
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, std::chrono::seconds(1));
  ASSERT_EQ(u.endpoints_size(), 1);
  EXPECT_EQ(u.endpoints(0).address(), "198.18.0.8:8080");

  // A change elsewhere sends nothing; removing the service sends exists=false.
  write_file(root_ + "/store/other.yaml",
             "apiVersion: v1\nkind: Namespace\nmetadata: {name: unrelated}\n");
  fs::remove(root_ + "/store/svc.yaml");
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_FALSE(u.exists());
  ctx.TryCancel();
  reader->Finish().ok();
}

TEST_F(ControlPlaneTest, GetProfileSendsThePolicyWhenItChanges) {
  write_file(root_ + "/store/svc.yaml", kWebService);
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.7"));  // the web SA's token
  for (int i = 0; i < 100 && !fs::exists(root_ + "/tokens/emojivoto/web/token"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string kProfilePath =
      "/api/v1/profile?path=web.emojivoto.svc.cluster.local%3A80&ns=emojivoto";
  auto stub = dst::Destination::NewStub(meshed_channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  dst::GetDestination req;
  req.set_path("web.emojivoto.svc.cluster.local:80");
  req.set_context_namespace("emojivoto");
  auto reader = stub->GetProfile(&ctx, req);
  dst::Profile p;
  // An empty Profile first if the Service is not loaded yet.
  do {
    ASSERT_TRUE(reader->Read(&p));
  } while (p.fully_qualified_name().empty());
  EXPECT_EQ(p.fully_qualified_name(), "web.emojivoto.svc.cluster.local");
  EXPECT_EQ(p.policy().source(), trellis::api::traffic::v1::TrafficPolicy::SOURCE_DEFAULT);
  EXPECT_EQ(p.policy().default_route().backends(0).authority(),
            "web.emojivoto.svc.cluster.local:80");

  // A change that leaves the policy as it is sends nothing: the next message is the one for
  // the split written afterwards.
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.8"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  write_file(root_ + "/store/split.yaml", R"(apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: web-split, namespace: emojivoto}
spec:
  service: web
  backends: [{service: web, weight: 0}, {service: web-v2, weight: 1}]
)");
  ASSERT_TRUE(reader->Read(&p));
  EXPECT_EQ(p.policy().source(),
            trellis::api::traffic::v1::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  ASSERT_EQ(p.policy().default_route().backends_size(), 2);
  EXPECT_EQ(p.policy().default_route().backends(1).authority(),
            "web-v2.emojivoto.svc.cluster.local:80");
  EXPECT_EQ(p.policy().default_route().backends(1).weight(), 1000u);
  EXPECT_THAT(p.policy_json(), HasSubstr("TrafficSplit/emojivoto/web-split"));

  // The admin API shows the same Profile; its status lists the compiler's problems.
  const std::string profile = http_get(kProfilePath);
  EXPECT_THAT(profile, HasSubstr("\"fullyQualifiedName\": \"web.emojivoto.svc.cluster.local\""));
  EXPECT_THAT(profile, HasSubstr("\"source\": \"SOURCE_SERVICE_PROFILE\""));
  EXPECT_THAT(http_get("/api/v1/profile"), HasSubstr("400"));
  const std::string status = http_get("/api/v1/status");
  EXPECT_THAT(status, HasSubstr("split.yaml"));
  EXPECT_THAT(status,
              HasSubstr("Service \\\"web-v2\\\" does not exist in namespace emojivoto"));
  ctx.TryCancel();
  reader->Finish().ok();
}

TEST_F(ControlPlaneTest, InboundPolicyDefaultsAndServer) {
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.7"));
  for (int i = 0; i < 100 && !fs::exists(root_ + "/tokens/emojivoto/web/token"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto stub = pol::InboundServerPolicies::NewStub(meshed_channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  pol::InboundPort req;
  req.set_workload("emojivoto:web-1");
  req.set_port(8080);
  auto reader = stub->WatchPort(&ctx, req);
  pol::InboundServer s;
  ASSERT_TRUE(reader->Read(&s));
  EXPECT_EQ(s.server(), "default");
  EXPECT_EQ(s.default_policy(), "all-unauthenticated");
  EXPECT_EQ(s.protocol(), "unknown");

  write_file(root_ + "/store/server.yaml", R"(apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: emojivoto}
spec:
  podSelector: {matchLabels: {app: web}}
  port: 8080
  proxyProtocol: HTTP/1
)");
  ASSERT_TRUE(reader->Read(&s));
  EXPECT_EQ(s.server(), "Server/emojivoto/web-http");
  EXPECT_EQ(s.protocol(), "HTTP/1");
  EXPECT_EQ(s.default_policy(), "deny");
  ctx.TryCancel();
  reader->Finish().ok();
}

TEST_F(ControlPlaneTest, AdminApi) {
  EXPECT_THAT(http_get("/ready"), HasSubstr("200 OK"));
  EXPECT_THAT(http_get("/live"), HasSubstr("live"));
  const std::string status = http_get("/api/v1/status");
  const auto body = nlohmann::json::parse(status.substr(status.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["controlNamespace"], "linkerd");
  EXPECT_EQ(body["trustDomain"], "cluster.local");
  EXPECT_EQ(body["store"]["resources"], 1);  // the Namespace; the broken Service is not in force
  ASSERT_FALSE(body["store"]["errors"].empty());
  EXPECT_EQ(body["store"]["errors"][0]["file"], "broken.yaml");
  EXPECT_EQ(body["store"]["errors"][0]["severity"], "error");
  EXPECT_EQ(body["ca"]["issuer"]["subject"], "identity.linkerd.cluster.local");
  EXPECT_EQ(body["ca"]["anchors"].size(), 1u);

  write_file(root_ + "/store/svc.yaml", kWebService);
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.7"));
  std::string endpoints;
  for (int i = 0; i < 100; ++i) {
    endpoints = http_get("/api/v1/endpoints?path=web.emojivoto.svc.cluster.local%3A80&ns=default");
    if (endpoints.find("198.18.0.7:8080") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(endpoints, HasSubstr("\"exists\": true"));
  EXPECT_THAT(endpoints, HasSubstr("198.18.0.7:8080"));
  EXPECT_THAT(http_get("/api/v1/endpoints?path=nope:80"), HasSubstr("\"exists\": false"));
}

TEST_F(ControlPlaneTest, GrpcListenerIsTls13Only) {
  auto handshake = [&](int max_version) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(ctx, max_version);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    net::asio::io_context io;
    net::tcp::socket sock(io);
    sock.connect(cp_->grpc_address().endpoint());
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, sock.native_handle());
    static const unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn);
    const bool ok = SSL_connect(ssl) == 1 && SSL_version(ssl) == TLS1_3_VERSION;
    std::string alpn;
    if (ok) {
      const unsigned char* p = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(ssl, &p, &len);
      alpn.assign(reinterpret_cast<const char*>(p), len);
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ok ? alpn : std::string("refused");
  };
  EXPECT_EQ(handshake(TLS1_2_VERSION), "refused");
  EXPECT_EQ(handshake(TLS1_3_VERSION), "h2");
}

// The CSR abuse cases not covered by CertifyRefusals: each refused with its gRPC code and the
// tls::validate_csr reason, and counted.
TEST_F(ControlPlaneTest, CertifyRefusesCsrAbuse) {
  write_file(root_ + "/store/pod.yaml", web_pod("198.18.0.7"));
  for (int i = 0; i < 100 && !fs::exists(root_ + "/tokens/emojivoto/web/token"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string web_token = token("emojivoto", "web");
  ASSERT_FALSE(web_token.empty());
  auto send = [&](const std::string& token_text, X509_REQ* csr) {
    idn::CertifyRequest req;
    req.set_identity(kWebIdentity);
    req.set_token(token_text);
    req.set_certificate_signing_request(take(tls::csr_to_der(csr)));
    idn::CertifyResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return idn::Identity::NewStub(channel())->Certify(&ctx, req, &resp);
  };
  using tls::testing::RawName;
  auto ec_key = take(tls::generate_p256_key());

  // Two DNS SANs: ours and another.
  auto two = tls::testing::raw_csr(
      {"", {{RawName{GEN_DNS, kWebIdentity},
             RawName{GEN_DNS, "emoji.emojivoto.serviceaccount.identity.linkerd.cluster.local"}}},
       {}},
      ec_key.get());
  auto s = send(web_token, two.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("csr_san_count"));

  // An RSA key with the right SAN.
  tls::EvpPkeyPtr rsa(EVP_RSA_gen(2048));
  ASSERT_TRUE(rsa);
  auto rsa_csr = tls::testing::raw_csr({"", {{RawName{GEN_DNS, kWebIdentity}}}, {}}, rsa.get());
  s = send(web_token, rsa_csr.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("csr_key_not_ecdsa"));

  // A URI SAN next to the DNS one (SPIFFE-style): never in a mesh certificate.
  auto uri = tls::testing::raw_csr(
      {"", {{RawName{GEN_DNS, kWebIdentity}, RawName{GEN_URI, "spiffe://cluster.local/ns/x"}}},
       {}},
      ec_key.get());
  s = send(web_token, uri.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A well-formed CSR with a malformed token: the token is checked first.
  auto good = take(tls::create_csr(take(tls::Identity::parse(kWebIdentity)), ec_key.get()));
  s = send("not-a-token", good.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("malformed"));

  // A token signed with another key (another control plane's) for the right account.
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  s = send(identity::issue_token(std::string(identity::kTokenKeyBytes, 'k'),
                                 {"web", "emojivoto", now, now + 3600}),
           good.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Nothing was issued, and every refusal was counted under its reason.
  const auto metrics = http_get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("identity_certify_refused_total{reason=\"invalid_csr\"} 3"));
  EXPECT_THAT(metrics,
              HasSubstr("identity_certify_refused_total{reason=\"malformed_token\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("identity_certify_refused_total{reason=\"bad_signature\"} 1"));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("identity_certify_total 1")));
  // And the good CSR with the right token passes (the refusals were about the abuse only).
  s = send(web_token, good.get());
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// Issuer rotation without a restart: the CA directory is polled; while its files do not fit
// together (new key, old certificate) the old issuer stays; then Certify signs with the new one
// and the gRPC listener serves a certificate of the new issuer.
TEST_F(ControlPlaneTest, ReloadsTheIssuerWhenTheCaDirectoryChanges) {
  const std::string id = "default.emojivoto.serviceaccount.identity.linkerd.cluster.local";
  auto issuer_of_answer = [&]() -> std::string {
    idn::CertifyResponse resp;
    auto status = certify(id, token("emojivoto", "default"), nullptr, nullptr, &resp);
    if (!status.ok()) return "refused: " + status.error_message();
    if (resp.intermediate_certificates_size() < 1) return "no intermediate";
    return der_to_pem(resp.intermediate_certificates(0));
  };
  auto served_issuer = [&]() -> std::string {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    net::asio::io_context io;
    net::tcp::socket sock(io);
    sock.connect(cp_->grpc_address().endpoint());
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, sock.native_handle());
    std::string pem = "no handshake";
    if (SSL_connect(ssl) == 1) {
      STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);  // leaf first on the client side
      pem = chain != nullptr && sk_X509_num(chain) >= 2
                ? take(tls::to_pem(sk_X509_value(chain, 1)))
                : std::string("no issuer sent");
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return pem;
  };
  const std::string old_issuer = read_file(root_ + "/ca/issuer.crt");
  ASSERT_EQ(issuer_of_answer(), old_issuer);
  ASSERT_EQ(served_issuer(), old_issuer);

  const auto now = std::chrono::system_clock::now() - std::chrono::hours(1);
  auto issuer2 = take(tls::create_issuer(anchor_, {"identity.linkerd.cluster.local",
                                                   std::chrono::hours(48), now}));
  const std::string new_issuer = take(tls::to_pem(issuer2.cert.get()));
  write_file(root_ + "/ca/issuer.key", take(tls::private_key_to_pem(issuer2.key.get())));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several polls
  EXPECT_EQ(issuer_of_answer(), old_issuer);  // the pair does not fit yet: nothing changes
  write_file(root_ + "/ca/issuer.crt", new_issuer);
  std::string got;
  for (int i = 0; i < 100 && (got = issuer_of_answer()) != new_issuer; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(got, new_issuer);
  for (int i = 0; i < 100 && (got = served_issuer()) != new_issuer; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(got, new_issuer);
  EXPECT_EQ(cp_->ca()->anchors.certificates().size(), 1u);
}

}  // namespace
}  // namespace trellis::control::server
