#include "proxy/identity/identity_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "metrics/registry.h"
#include "proxy/control/test_control_plane.h"
#include "proxy/control/test_run.h"
#include "proxy/identity/mesh_credentials.h"
#include "tls/handshake.h"
#include "tls/pem.h"
#include "tls/test_support.h"
#include "tls/x509.h"

namespace trellis::proxy::identity {
namespace {

using namespace std::chrono_literals;
using proxy::testing::eventually;
using proxy::testing::run_task;
using tls::testing::take;

struct Fixture {
  tls::testing::Pki pki = tls::testing::Pki::create();
  control::testing::TestControlPlane cp{pki, "good-token"};
  net::asio::io_context io;
  std::string dir;
  ProxyConfig config;
  std::unique_ptr<MeshTls> mesh;
  metrics::Registry registry;
  IdentityState state{registry};
  std::unique_ptr<control::GrpcChannel> channel;

  Fixture() {
    char tmpl[] = "/tmp/trellis-p2-idclient-XXXXXX";
    dir = ::mkdtemp(tmpl);
    config.identity_name = tls::testing::web_identity().str();
    config.control_addr = cp.address();
    config.trust_anchors_file = dir + "/ca.crt";
    config.identity_token_file = dir + "/token";
    std::ofstream(config.trust_anchors_file) << take(tls::to_pem(pki.anchor.cert.get()));
    write_token("good-token\n");
    mesh = std::move(make_mesh_tls(config)).value();
    control::ChannelOptions options{cp.address(), control::testing::control_identity()};
    options.backoff_base = 20ms;
    options.backoff_max = 100ms;
    channel = std::make_unique<control::GrpcChannel>(io.get_executor(), options, *mesh->client);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  void write_token(const std::string& token) const {
    std::ofstream(config.identity_token_file, std::ios::trunc) << token;
  }

  IdentityClientOptions options() const {
    IdentityClientOptions o;
    o.token_file = config.identity_token_file;
    o.min_refresh = 100ms;
    o.retry_base = 20ms;
    o.retry_max = 100ms;
    return o;
  }
};

std::string leaf_pem(const std::optional<std::string>& chain) {
  if (!chain) return {};
  auto certs = take(tls::certificates_from_pem(*chain));
  return take(tls::to_pem(certs.front().get()));
}

TEST(IdentityClient, CertifiesAndInstallsTheCertificate) {
  Fixture f;
  IdentityClient client(*f.channel, *f.mesh, f.pki.anchors(), f.state, f.options());
  bool ready = false;
  f.state.on_certificate([&] { ready = true; });
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto r = co_await client.certify_once();
    EXPECT_TRUE(r) << r.error();
    if (r) {
      // 70% of an hour.
      EXPECT_GT(*r, 2500s);
      EXPECT_LE(*r, 2520s);
    }
    f.channel->close();
  }());
  EXPECT_TRUE(ready);
  EXPECT_EQ(f.cp.identity().last_version(), "0.1.0");
  ASSERT_TRUE(f.state.chain_pem());
  auto chain = take(tls::certificates_from_pem(*f.state.chain_pem()));
  ASSERT_EQ(chain.size(), 2u);  // leaf, issuer
  EXPECT_EQ(take(tls::identity_of(chain[0].get())), tls::testing::web_identity());
  EXPECT_EQ(f.state.identity(), tls::testing::web_identity().str());
  EXPECT_NE(f.registry.render().find("identity_cert_expiration_timestamp_seconds"),
            std::string::npos);
}

TEST(IdentityClient, RefreshesAndKeepsTheCertificateWhenRefused) {
  Fixture f;
  f.cp.identity().set_lifetime(2s);  // refresh at 1.4 s
  IdentityClient client(*f.channel, *f.mesh, f.pki.anchors(), f.state, f.options());
  run_task(f.io, [&]() -> net::awaitable<void> {
    net::asio::co_spawn(co_await net::asio::this_coro::executor, client.run(), net::asio::detached);
    EXPECT_TRUE(co_await eventually([&] { return f.cp.identity().issued() >= 2; }));
    const std::string second = leaf_pem(f.state.chain_pem());
    EXPECT_FALSE(second.empty());

    // Refused: the current certificate stays and the client retries with backoff.
    f.cp.identity().refuse(grpc::StatusCode::PERMISSION_DENIED, "no");
    const int calls = f.cp.identity().calls();
    EXPECT_TRUE(co_await eventually([&] { return f.cp.identity().calls() >= calls + 3; }));
    EXPECT_GE(client.failures(), 2u);
    const int issued = f.cp.identity().issued();
    EXPECT_EQ(leaf_pem(f.state.chain_pem()).empty(), false);
    EXPECT_EQ(f.cp.identity().issued(), issued);

    const uint64_t refreshes = f.state.refreshes();
    f.cp.identity().accept();
    EXPECT_TRUE(co_await eventually([&] { return f.state.refreshes() > refreshes; }));
    client.stop();
    f.channel->close();
  }());
  EXPECT_GE(f.state.refreshes(), 3u);
}

TEST(IdentityClient, TokenIsReadFreshEveryTime) {
  Fixture f;
  f.write_token("stale-token");
  IdentityClient client(*f.channel, *f.mesh, f.pki.anchors(), f.state, f.options());
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto r = co_await client.certify_once();
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_NE(r.error().find("UNAUTHENTICATED"), std::string::npos) << r.error();
      EXPECT_EQ(r.error().find("stale-token"), std::string::npos) << "the token leaked";
    }
    EXPECT_FALSE(f.state.chain_pem());
    f.write_token("good-token");
    r = co_await client.certify_once();
    EXPECT_TRUE(r) << r.error();
    std::filesystem::remove(f.config.identity_token_file);
    r = co_await client.certify_once();
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_NE(r.error().find(f.config.identity_token_file), std::string::npos);
    }
    f.channel->close();
  }());
  EXPECT_TRUE(f.state.chain_pem());  // the good one stays
}

TEST(IdentityClient, FirstCertificateReconnectsTheControlChannelWithIt) {
  Fixture f;
  IdentityClient client(*f.channel, *f.mesh, f.pki.anchors(), f.state, f.options());
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto r = co_await client.certify_once();
    EXPECT_TRUE(r);
    // The next call goes over a new connection that presents the new certificate.
    auto again = co_await f.channel->unary(std::string(kCertifyPath), "", {}, 5s);
    EXPECT_FALSE(again);
    f.channel->close();
  }());
  const auto peers = f.cp.peers();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0], "");
  EXPECT_EQ(peers[1], tls::testing::web_identity().str());
}

// An anchor rotation: a bundle with the old and a new anchor is picked up from the file, with
// the current certificate kept; a broken bundle leaves the anchors in force.
TEST(IdentityClient, ReloadsTheTrustAnchorsFile) {
  Fixture f;
  auto options = f.options();
  options.anchors_file = f.config.trust_anchors_file;
  options.anchors_poll = 10ms;
  IdentityClient client(*f.channel, *f.mesh, f.pki.anchors(), f.state, options);

  // A peer from another CA, which trusts both CAs (it already has the new bundle).
  const tls::testing::Pki other = tls::testing::Pki::create();
  const tls::Identity emoji =
      tls::testing::id("emoji.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  auto peer_context = take(tls::ServerContext::create({}, other.leaf(emoji),
                                                      tls::testing::bundle(f.pki, other)));
  tls::testing::EchoServer peer(f.io, *peer_context);
  auto connect = [&]() -> net::awaitable<bool> {
    tls::testing::ClientRun run;
    co_await tls::testing::run_client(run, *f.mesh->client, peer.endpoint(), emoji);
    co_return run.exchanged();
  };
  const std::string bundle_pem = take(tls::to_pem(f.pki.anchor.cert.get())) +
                                 take(tls::to_pem(other.anchor.cert.get()));

  run_task(f.io, [&]() -> net::awaitable<void> {
    auto r = co_await client.certify_once();
    EXPECT_TRUE(r) << r.error();
    const std::string leaf = leaf_pem(f.state.chain_pem());
    EXPECT_FALSE(co_await connect());  // the other CA is not trusted yet
    auto polled = client.poll_anchors();
    EXPECT_TRUE(polled && !*polled);  // nothing changed

    {
      std::ofstream out(f.config.trust_anchors_file + ".tmp");
      out << bundle_pem;
    }
    std::filesystem::rename(f.config.trust_anchors_file + ".tmp", f.config.trust_anchors_file);
    polled = client.poll_anchors();
    EXPECT_TRUE(polled && *polled) << (polled ? "" : polled.error());
    EXPECT_TRUE(co_await connect());  // verified to the new anchor, our certificate presented
    EXPECT_EQ(leaf_pem(f.state.chain_pem()), leaf);  // no new certificate needed for that

    std::ofstream(f.config.trust_anchors_file, std::ios::trunc) << "not a bundle\n";
    polled = client.poll_anchors();
    EXPECT_FALSE(polled);
    if (!polled) {
      EXPECT_NE(polled.error().find(f.config.trust_anchors_file), std::string::npos)
          << polled.error();
    }
    EXPECT_TRUE(co_await connect());  // the anchors in force stay

    // The watch runs inside run(): a good bundle again is installed without a call to poll.
    {
      std::ofstream out(f.config.trust_anchors_file + ".tmp");
      out << take(tls::to_pem(f.pki.anchor.cert.get()));
    }
    std::filesystem::rename(f.config.trust_anchors_file + ".tmp", f.config.trust_anchors_file);
    net::asio::co_spawn(co_await net::asio::this_coro::executor, client.run(),
                        net::asio::detached);
    bool refused_again = false;
    for (int i = 0; i < 200 && !refused_again; ++i) {
      refused_again = !(co_await connect());
    }
    EXPECT_TRUE(refused_again);  // back to the single old anchor
    client.stop();
    peer.stop();
    f.channel->close();
  }());
}

}  // namespace
}  // namespace trellis::proxy::identity
