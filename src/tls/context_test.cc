// mTLS handshakes between ServerContext and ClientContext over real loopback sockets, and the
// ways they must fail.

#include "tls/context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tls/client_hello.h"
#include "tls/handshake.h"
#include "tls/test_support.h"
#include "tls/x509.h"

namespace trellis::tls {
namespace {

using namespace std::chrono_literals;
using testing::ClientRun;
using testing::EchoServer;
using testing::id;
using testing::Pki;
using testing::run_client;
using testing::run_on;
using testing::take;
using testing::web_identity;
namespace asio = net::asio;
using net::tcp;

const Identity& client_identity() {
  static const Identity kVote = id("vote.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  return kVote;
}

ErrorCode code_of(const std::optional<Result<PeerInfo>>& r) {
  if (!r.has_value()) return static_cast<ErrorCode>(254);
  if (r->ok()) return static_cast<ErrorCode>(255);
  return r->error().code;
}

// The error detail, or a marker when there is no error (so a failing expectation reports
// instead of tripping Result's assertion).
std::string detail_of(const Result<PeerInfo>& r) {
  return r.ok() ? "(no error)" : r.error().detail;
}

ErrorCode code_of(const Result<PeerInfo>& r) {
  return r.ok() ? static_cast<ErrorCode>(255) : r.error().code;
}

// One PKI, a server for web and a client for vote, both issued by it.
struct Mesh {
  Pki pki = Pki::create();
  Credentials server_creds = pki.leaf(web_identity());
  Credentials client_creds = pki.leaf(client_identity());
  std::unique_ptr<ServerContext> server =
      take(ServerContext::create({}, server_creds, pki.anchors()));
  std::unique_ptr<ClientContext> client =
      take(ClientContext::create({{"transport.l5d.io/v1"}}, &client_creds, pki.anchors()));
};

TEST(MeshTls, MutualHandshakeYieldsBothIdentities) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *m.client, server.endpoint(), web_identity());
    co_await server.wait_for_results(1);
    server.stop();
  });
  ASSERT_TRUE(run.handshake->ok()) << run.handshake->error().detail;
  EXPECT_EQ((*run.handshake)->identity, web_identity());  // the client verified the server
  EXPECT_EQ((*run.handshake)->alpn, "transport.l5d.io/v1");
  EXPECT_TRUE(run.exchanged()) << run.exchange_error.message();
  ASSERT_EQ(server.results().size(), 1u);
  ASSERT_TRUE(server.results()[0].ok()) << server.results()[0].error().detail;
  EXPECT_EQ(server.results()[0]->identity, client_identity());  // and the server the client
  EXPECT_EQ(server.results()[0]->alpn, "transport.l5d.io/v1");

  // The protocol profile actually negotiated.
  SSL* ssl = run.ssl();
  EXPECT_EQ(SSL_version(ssl), TLS1_3_VERSION);
  EXPECT_EQ(SSL_get_negotiated_group(ssl), NID_X25519);
  EXPECT_STREQ(SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl)), "TLS_AES_128_GCM_SHA256");
  int sig_nid = 0;
  ASSERT_EQ(SSL_get_peer_signature_type_nid(ssl, &sig_nid), 1);
  EXPECT_EQ(sig_nid, NID_X9_62_id_ecPublicKey);
  // No resumption: the server sent no ticket (the client read the echo after it would have),
  // and no early data was possible.
  EXPECT_EQ(SSL_SESSION_is_resumable(SSL_get0_session(ssl)), 0);
  EXPECT_EQ(SSL_get_early_data_status(ssl), SSL_EARLY_DATA_NOT_SENT);
  EXPECT_EQ(SSL_get_max_early_data(ssl), 0u);
  // The server sent its leaf and the issuer, not the anchor.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(sk_X509_num(chain), 2);
}

TEST(MeshTls, AlpnFollowsServerPreference) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun h2, none, unknown;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(h2, *m.client, server.endpoint(), web_identity(), [&](SSL* ssl) {
      SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>("\x08http/1.1\x02h2"), 12);
    });
    co_await run_client(none, *m.client, server.endpoint(), web_identity(), [&](SSL* ssl) {
      SSL_set_alpn_protos(ssl, nullptr, 0);
    });
    co_await run_client(unknown, *m.client, server.endpoint(), web_identity(), [&](SSL* ssl) {
      SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>("\x04smtp"), 5);
    });
    co_await server.wait_for_results(3);
    server.stop();
  });
  ASSERT_TRUE(h2.handshake->ok());
  EXPECT_EQ((*h2.handshake)->alpn, "h2");  // ours is transport, h2, http/1.1
  ASSERT_TRUE(none.handshake->ok());
  EXPECT_EQ((*none.handshake)->alpn, "");
  EXPECT_EQ(code_of(unknown.handshake), ErrorCode::kHandshakeFailed);
  EXPECT_THAT(detail_of(*unknown.handshake), ::testing::HasSubstr("no application protocol"));
}

TEST(MeshTls, WrongServerIdentityIsRefusedByTheClient) {
  Mesh m;
  asio::io_context io;
  // A server without the SNI check, so only the client-side SAN check stands in the way.
  auto lax = take(ServerContext::create({.require_sni_match = false}, m.server_creds,
                                        m.pki.anchors()));
  EchoServer server(io, *lax);
  ClientRun run;
  const Identity api = id("api.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *m.client, server.endpoint(), api);
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(run.handshake), ErrorCode::kPeerIdentityMismatch);
  EXPECT_THAT(detail_of(*run.handshake), ::testing::HasSubstr(api.str()));
  EXPECT_NE(code_of(server.results().at(0)), static_cast<ErrorCode>(255));  // not a success
}

TEST(MeshTls, ServerRefusesSniThatIsNotItsIdentity) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun run;
  const Identity api = id("api.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *m.client, server.endpoint(), api);
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(run.handshake), ErrorCode::kHandshakeFailed);
  EXPECT_THAT(detail_of(*run.handshake), ::testing::HasSubstr("unrecognized name"));
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kHandshakeFailed);
}

TEST(MeshTls, ClientWithoutCertificateIsRefused) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  auto anonymous = take(ClientContext::create({}, nullptr, m.pki.anchors()));
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *anonymous, server.endpoint(), web_identity());
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kPeerCertificateRequired);
  // In TLS 1.3 the client's handshake ends before the server has judged its (absent)
  // certificate; the refusal arrives as an alert on its first read, and no data flows.
  EXPECT_FALSE(run.exchanged());
}

TEST(MeshTls, IdentityServiceAcceptsClientsWithoutCertificates) {
  Mesh m;
  auto identity_server = take(ServerContext::create(
      {.alpn = {"h2"}, .require_client_certificate = false}, m.server_creds, m.pki.anchors()));
  auto anonymous = take(ClientContext::create({{"h2"}}, nullptr, m.pki.anchors()));
  asio::io_context io;
  EchoServer server(io, *identity_server);
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *anonymous, server.endpoint(), web_identity());
    co_await server.wait_for_results(1);
    server.stop();
  });
  ASSERT_TRUE(run.handshake->ok());
  EXPECT_EQ((*run.handshake)->identity, web_identity());  // the client still checks the server
  EXPECT_TRUE(run.exchanged());
  ASSERT_TRUE(server.results().at(0).ok());
  EXPECT_FALSE(server.results()[0]->identity.has_value());
}

TEST(MeshTls, CertificateFromAnotherAnchorIsRefused) {
  Mesh m;
  Pki other = Pki::create();
  Credentials stranger = other.leaf(client_identity());
  auto client = take(ClientContext::create({}, &stranger, m.pki.anchors()));
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *client, server.endpoint(), web_identity());
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kPeerCertificateInvalid);
  EXPECT_THAT(detail_of(server.results()[0]), ::testing::HasSubstr("local issuer"));
  EXPECT_FALSE(run.exchanged());

  // And the other way: a client trusting only the other anchor refuses our server.
  auto wary = take(ClientContext::create({}, &stranger, other.anchors()));
  asio::io_context io2;
  EchoServer server2(io2, *m.server);
  ClientRun run2;
  run_on(io2, [&]() -> asio::awaitable<void> {
    co_await run_client(run2, *wary, server2.endpoint(), web_identity());
    co_await server2.wait_for_results(1);
    server2.stop();
  });
  EXPECT_EQ(code_of(run2.handshake), ErrorCode::kPeerCertificateInvalid);
}

TEST(MeshTls, ExpiredLeafIsRefused) {
  Mesh m;
  // Signed two days ago for 24 hours: NotAfter is a day in the past.
  Credentials expired =
      m.pki.leaf(client_identity(), {24h, 20s, std::chrono::system_clock::now() - 48h});
  ASSERT_LT(not_after(expired.leaf()), std::chrono::system_clock::now());
  auto client = take(ClientContext::create({}, &expired, m.pki.anchors()));
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(run, *client, server.endpoint(), web_identity());
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kPeerCertificateInvalid);
  EXPECT_THAT(detail_of(server.results()[0]), ::testing::HasSubstr("expired"));
  EXPECT_FALSE(run.exchanged());
}

TEST(MeshTls, Tls12ClientIsRefused) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  net::error_code client_ec;
  run_on(io, [&]() -> asio::awaitable<void> {
    asio::ssl::context ctx(asio::ssl::context::tlsv12_client);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    asio::ssl::stream<tcp::socket> stream(co_await asio::this_coro::executor, ctx);
    co_await stream.next_layer().async_connect(server.endpoint(), asio::use_awaitable);
    SSL_set_tlsext_host_name(stream.native_handle(), web_identity().str().c_str());
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, net::use_nothrow);
    client_ec = ec;
    ERR_clear_error();
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_TRUE(client_ec);
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kUnsupportedProtocol);
  EXPECT_THAT(detail_of(server.results()[0]), ::testing::HasSubstr("unsupported protocol"));
}

TEST(MeshTls, P256IsTheFallbackGroupAndNothingElse) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun p256, p384;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(p256, *m.client, server.endpoint(), web_identity(),
                        [](SSL* ssl) { SSL_set1_groups_list(ssl, "P-256"); });
    co_await run_client(p384, *m.client, server.endpoint(), web_identity(),
                        [](SSL* ssl) { SSL_set1_groups_list(ssl, "P-384"); });
    co_await server.wait_for_results(2);
    server.stop();
  });
  ASSERT_TRUE(p256.handshake->ok());
  EXPECT_EQ(SSL_get_negotiated_group(p256.ssl()), NID_X9_62_prime256v1);
  EXPECT_FALSE(p384.handshake->ok());
  EXPECT_EQ(code_of(server.results().at(1)), ErrorCode::kUnsupportedProtocol);
}

TEST(MeshTls, SanWithEmbeddedNulIsRefused) {
  Mesh m;
  // "web...local\0.evil.com": a C-string comparison would see exactly web's identity.
  testing::RawCert spec;
  spec.sans = {{GEN_DNS, web_identity().str() + std::string("\0.evil.com", 10)}};
  EvpPkeyPtr key = take(generate_p256_key());
  X509Ptr leaf = testing::raw_leaf(m.pki, spec, key.get());
  // Credentials refuses such a leaf for itself...
  EXPECT_EQ(Credentials::create(share(leaf.get()), share(key.get()), {}).error().code,
            ErrorCode::kInvalidIdentity);
  // ...so serve it through a raw SSL_CTX with the same chain.
  asio::io_context io;
  asio::ssl::context raw(asio::ssl::context::tls_server);
  SSL_CTX_use_certificate(raw.native_handle(), leaf.get());
  SSL_CTX_use_PrivateKey(raw.native_handle(), key.get());
  SSL_CTX_add1_chain_cert(raw.native_handle(), m.pki.issuer.ca.cert.get());
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      asio::ssl::stream<tcp::socket> s(co_await acceptor.async_accept(asio::use_awaitable), raw);
      co_await s.async_handshake(asio::ssl::stream_base::server, net::use_nothrow);
      ERR_clear_error();
    }, asio::detached);
    co_await run_client(run, *m.client, acceptor.local_endpoint(), web_identity());
  });
  EXPECT_EQ(code_of(run.handshake), ErrorCode::kPeerIdentityMismatch);

  // The same leaf as a client certificate: the server finds no valid identity in it.
  asio::io_context io2;
  EchoServer server(io2, *m.server);
  asio::ssl::context raw_client(asio::ssl::context::tls_client);
  SSL_CTX_use_certificate(raw_client.native_handle(), leaf.get());
  SSL_CTX_use_PrivateKey(raw_client.native_handle(), key.get());
  SSL_CTX_add1_chain_cert(raw_client.native_handle(), m.pki.issuer.ca.cert.get());
  run_on(io2, [&]() -> asio::awaitable<void> {
    asio::ssl::stream<tcp::socket> s(co_await asio::this_coro::executor, raw_client);
    co_await s.next_layer().async_connect(server.endpoint(), asio::use_awaitable);
    SSL_set_tlsext_host_name(s.native_handle(), web_identity().str().c_str());
    co_await s.async_handshake(asio::ssl::stream_base::client, net::use_nothrow);
    ERR_clear_error();
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kNoPeerIdentity);
}

// A raw client presenting `leaf` (then `intermediates`) to the mesh server; returns the server's
// verdict.
Result<PeerInfo> present_client_certificate(const Mesh& m, X509* leaf, EVP_PKEY* key,
                                            const std::vector<X509*>& intermediates) {
  asio::io_context io;
  EchoServer server(io, *m.server);
  asio::ssl::context raw(asio::ssl::context::tls_client);
  SSL_CTX_use_certificate(raw.native_handle(), leaf);
  SSL_CTX_use_PrivateKey(raw.native_handle(), key);
  for (X509* c : intermediates) SSL_CTX_add1_chain_cert(raw.native_handle(), c);
  run_on(io, [&]() -> asio::awaitable<void> {
    asio::ssl::stream<tcp::socket> s(co_await asio::this_coro::executor, raw);
    co_await s.next_layer().async_connect(server.endpoint(), asio::use_awaitable);
    SSL_set_tlsext_host_name(s.native_handle(), web_identity().str().c_str());
    co_await s.async_handshake(asio::ssl::stream_base::client, net::use_nothrow);
    ERR_clear_error();
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(server.results().size(), 1u);
  return server.results().at(0);
}

TEST(MeshTls, ClientCertificateMustBeForClientAuth) {
  Mesh m;
  EvpPkeyPtr key = take(generate_p256_key());
  testing::RawCert server_only;
  server_only.sans = {{GEN_DNS, client_identity().str()}};
  server_only.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, "critical,digitalSignature"},
                            {NID_ext_key_usage, "serverAuth"}};
  X509Ptr leaf = testing::raw_leaf(m.pki, server_only, key.get());
  auto r = present_client_certificate(m, leaf.get(), key.get(), {m.pki.issuer.ca.cert.get()});
  EXPECT_EQ(code_of(r), ErrorCode::kPeerCertificateInvalid);
  EXPECT_THAT(detail_of(r), ::testing::HasSubstr("purpose"));

  // Control: the same recipe with clientAuth is accepted.
  testing::RawCert both = server_only;
  both.extensions[2] = {NID_ext_key_usage, "serverAuth,clientAuth"};
  X509Ptr good = testing::raw_leaf(m.pki, both, key.get());
  auto ok = present_client_certificate(m, good.get(), key.get(), {m.pki.issuer.ca.cert.get()});
  ASSERT_TRUE(ok.ok()) << ok.error().detail;
  EXPECT_EQ(ok->identity, client_identity());
}

TEST(MeshTls, CaCertificateCannotAuthenticate) {
  Mesh m;
  EvpPkeyPtr key = take(generate_p256_key());
  testing::RawCert ca_leaf;
  ca_leaf.cn = "vote";  // strict X.509 wants a subject on CA certificates
  ca_leaf.sans = {{GEN_DNS, client_identity().str()}};
  ca_leaf.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
                        {NID_ext_key_usage, "serverAuth,clientAuth"}};
  // Signed by the anchor directly (the issuer's pathlen 0 forbids CAs below it).
  X509Ptr leaf = testing::raw_certificate(ca_leaf, key.get(), &m.pki.anchor);
  auto r = present_client_certificate(m, leaf.get(), key.get(), {});
  EXPECT_EQ(code_of(r), ErrorCode::kPeerCertificateInvalid) << detail_of(r);
}

// anchor -> `depth` intermediate CAs -> a client leaf; returns the server's verdict.
Result<PeerInfo> present_chain_of_depth(const Mesh& m, int depth) {
  std::vector<CertifiedKey> cas;
  cas.reserve(depth);  // `parent` points into the vector: no reallocation
  const CertifiedKey* parent = &m.pki.anchor;
  for (int i = 0; i < depth; ++i) {
    testing::RawCert ca;
    ca.cn = "ca" + std::to_string(i);
    ca.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"}};
    EvpPkeyPtr key = take(generate_p256_key());
    X509Ptr cert = testing::raw_certificate(ca, key.get(), parent);
    cas.push_back({std::move(cert), std::move(key)});
    parent = &cas.back();
  }
  EvpPkeyPtr key = take(generate_p256_key());
  testing::RawCert spec;
  spec.sans = {{GEN_DNS, client_identity().str()}};
  X509Ptr leaf = testing::raw_certificate(spec, key.get(), parent);
  std::vector<X509*> intermediates;
  for (auto it = cas.rbegin(); it != cas.rend(); ++it) intermediates.push_back(it->cert.get());
  return present_client_certificate(m, leaf.get(), key.get(), intermediates);
}

TEST(MeshTls, ChainDepthIsCapped) {
  Mesh m;
  auto at_cap = present_chain_of_depth(m, kMaxVerifyDepth);
  ASSERT_TRUE(at_cap.ok()) << at_cap.error().detail;
  EXPECT_EQ(at_cap->identity, client_identity());
  auto beyond = present_chain_of_depth(m, kMaxVerifyDepth + 1);
  EXPECT_EQ(code_of(beyond), ErrorCode::kPeerCertificateInvalid);
  EXPECT_THAT(detail_of(beyond), ::testing::HasSubstr("too long"));
}

TEST(MeshTls, HandshakeDeadline) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server, 50ms);
  tcp::socket silent(io);
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await silent.async_connect(server.endpoint(), asio::use_awaitable);  // and says nothing
    co_await server.wait_for_results(1);
    server.stop();
  });
  EXPECT_EQ(code_of(server.results().at(0)), ErrorCode::kHandshakeTimeout);
}

TEST(MeshTls, RotationOnALiveServer) {
  Mesh m;
  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun before, after, established_echo;
  Credentials rotated = m.pki.leaf(web_identity());
  bool established_still_works = false;
  run_on(io, [&]() -> asio::awaitable<void> {
    // A connection made before the rotation...
    co_await run_client(before, *m.client, server.endpoint(), web_identity());
    EXPECT_TRUE(m.server->update(rotated).ok());
    // ...a new one after it...
    co_await run_client(after, *m.client, server.endpoint(), web_identity());
    // ...and the first keeps working on the certificate it started with.
    co_await asio::async_write(*before.stream, asio::buffer(std::string("again")),
                               asio::use_awaitable);
    std::string got(5, '\0');
    co_await asio::async_read(*before.stream, asio::buffer(got), asio::use_awaitable);
    established_still_works = got == "again";
    before.stream->next_layer().next_layer().close();
    after.stream->next_layer().next_layer().close();
    co_await server.wait_for_results(2);
    server.stop();
  });
  ASSERT_TRUE(before.handshake->ok());
  ASSERT_TRUE(after.handshake->ok());
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(before.ssl()), m.server_creds.leaf()), 0);
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(after.ssl()), rotated.leaf()), 0);
  EXPECT_TRUE(established_still_works);
}

TEST(MeshTls, RotationRacesWithNewSessions) {
  // update() on a control thread while a worker creates sessions: every session must come from
  // a complete snapshot (run under the sanitizer build to catch lifetime bugs).
  Mesh m;
  Credentials a = m.pki.leaf(web_identity());
  Credentials b = m.pki.leaf(web_identity());
  std::atomic<bool> done{false};
  std::thread rotator([&] {
    for (int i = 0; i < 200; ++i) EXPECT_TRUE(m.server->update(i % 2 == 0 ? a : b).ok());
    done = true;
  });
  int sessions = 0;
  while (!done || sessions < 200) {
    SslPtr ssl = take(m.server->new_session());
    X509* cert = SSL_get_certificate(ssl.get());
    ASSERT_NE(cert, nullptr);
    ASSERT_TRUE(X509_cmp(cert, a.leaf()) == 0 || X509_cmp(cert, b.leaf()) == 0 ||
                X509_cmp(cert, m.server_creds.leaf()) == 0);
    ++sessions;
  }
  rotator.join();
  EXPECT_EQ(m.server->identity(), web_identity());
}

TEST(MeshTls, TrustAnchorRotationWithABundle) {
  Mesh m;
  Pki next = Pki::create();
  Credentials next_server = next.leaf(web_identity());
  Credentials next_client = next.leaf(client_identity());
  const TrustAnchors both = testing::bundle(m.pki, next);

  // Step 2 of the rotation: everyone trusts old+new, the server still presents the old leaf.
  ASSERT_TRUE(m.server->update(m.server_creds, both).ok());
  auto old_client = take(ClientContext::create({}, &m.client_creds, both));
  auto new_client = take(ClientContext::create({}, &next_client, both));
  auto old_only = take(ClientContext::create({}, &m.client_creds, m.pki.anchors()));

  asio::io_context io;
  EchoServer server(io, *m.server);
  ClientRun a, b, c, d;
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await run_client(a, *old_client, server.endpoint(), web_identity());
    co_await run_client(b, *new_client, server.endpoint(), web_identity());
    // Step 5: the server gets a leaf from the new issuer.
    EXPECT_TRUE(m.server->update(next_server).ok());
    co_await run_client(c, *new_client, server.endpoint(), web_identity());
    // A client that never got the bundle cannot verify the new leaf.
    co_await run_client(d, *old_only, server.endpoint(), web_identity());
    co_await server.wait_for_results(4);
    server.stop();
  });
  EXPECT_TRUE(a.exchanged());
  EXPECT_TRUE(b.exchanged());
  EXPECT_TRUE(c.exchanged());
  EXPECT_EQ(code_of(d.handshake), ErrorCode::kPeerCertificateInvalid);
}

TEST(MeshTls, PeekThenTerminateOverAPrefixedStream) {
  // The inbound flow: read the ClientHello, decide on its SNI, then hand the bytes already
  // read to the TLS stream through PrefixedStream.
  Mesh m;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<Result<PeerInfo>> server_result;
  std::string sni, server_got;
  ClientRun run;
  run_on(io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
      std::string peeked;
      HelloParse hello;
      while (hello.status == HelloStatus::kNeedMore) {
        char buf[256];  // small reads, so the hello arrives in pieces
        const size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::use_awaitable);
        peeked.append(buf, n);
        hello = parse_client_hello(peeked);
      }
      EXPECT_EQ(hello.status, HelloStatus::kClientHello);
      sni = hello.hello.server_name;
      if (sni != m.server->identity().str()) co_return;  // would be passed through opaque
      auto stream = take(make_server_stream(*m.server, std::move(socket), std::move(peeked)));
      server_result = co_await server_handshake(stream, 5s);
      server_got.resize(4);
      co_await asio::async_read(stream, asio::buffer(server_got), asio::use_awaitable);
      co_await asio::async_write(stream, asio::buffer(server_got), asio::use_awaitable);
    }, asio::detached);
    co_await run_client(run, *m.client, acceptor.local_endpoint(), web_identity());
  });
  EXPECT_EQ(sni, web_identity().str());
  ASSERT_TRUE(server_result.has_value());
  ASSERT_TRUE(server_result->ok()) << server_result->error().detail;
  EXPECT_EQ((*server_result)->identity, client_identity());
  EXPECT_EQ(server_got, "ping");
  EXPECT_TRUE(run.exchanged());
}

TEST(MeshTls, ContextConstructionErrors) {
  Mesh m;
  EXPECT_EQ(TrustAnchors::from_pem("").error().code, ErrorCode::kInvalidPem);
  // A leaf is not an anchor, nor is an intermediate.
  std::vector<X509Ptr> leaf;
  leaf.push_back(share(m.server_creds.leaf()));
  EXPECT_EQ(TrustAnchors::from_certificates(std::move(leaf)).error().code, ErrorCode::kNotCa);
  std::vector<X509Ptr> issuer;
  issuer.push_back(share(m.pki.issuer.ca.cert.get()));
  EXPECT_EQ(TrustAnchors::from_certificates(std::move(issuer)).error().code, ErrorCode::kNotCa);
  EXPECT_EQ(TrustAnchors::from_certificates({}).error().code, ErrorCode::kInvalidArgument);
  // A key that is not the leaf's.
  EXPECT_EQ(Credentials::create(share(m.server_creds.leaf()), take(generate_p256_key()), {})
                .error()
                .code,
            ErrorCode::kKeyMismatch);
  // ALPN names are 1..255 bytes.
  EXPECT_EQ(ServerContext::create({.alpn = {""}}, m.server_creds, m.pki.anchors()).error().code,
            ErrorCode::kInvalidArgument);
  // PEM round trip of credentials, as the identity service hands them out.
  std::vector<X509Ptr> chain;
  chain.push_back(share(m.server_creds.leaf()));
  chain.push_back(share(m.pki.issuer.ca.cert.get()));
  auto creds = Credentials::from_pem(take(to_pem(chain)),
                                     take(private_key_to_pem(m.server_creds.key())));
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->identity(), web_identity());
  EXPECT_EQ(creds->chain().size(), 1u);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace trellis::tls
