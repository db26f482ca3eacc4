#pragma once
// Test helpers for the TLS module (used only by *_test.cc): a throw-away PKI (anchor → issuer →
// leaves), raw certificate and CSR builders that deliberately break the rules (for the abuse
// cases: URI/IP SANs, NUL bytes, CA leaves, wrong EKU), and a loopback echo server.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <openssl/err.h>

#include "net/asio.h"
#include "tls/ca.h"
#include "tls/context.h"
#include "tls/handshake.h"
#include "tls/pem.h"

namespace trellis::tls::testing {

namespace asio = net::asio;
using net::tcp;

// Unwraps a Result in a test, failing loudly with the error if there is none.
template <typename T>
T take(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << to_string(r.error().code) << ": " << r.error().detail;
    std::abort();
  }
  return std::move(r).value();
}

inline Identity id(std::string_view name) { return take(Identity::parse(name)); }

inline const Identity& web_identity() {
  static const Identity kWeb = id("web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  return kWeb;
}

// A trust anchor and an issuer signed by it, valid for a year from `now` — by default three
// days ago, so tests can also issue leaves that have already expired.
struct Pki {
  CertifiedKey anchor;
  Issuer issuer;

  static Pki create(SystemTime now = std::chrono::system_clock::now() - std::chrono::hours(72)) {
    Pki pki;
    pki.anchor = take(create_trust_anchor({"root.linkerd.cluster.local",
                                           std::chrono::hours(24 * 365), now}));
    pki.issuer.ca = take(create_issuer(pki.anchor, {"identity.linkerd.cluster.local",
                                                    std::chrono::hours(24 * 365), now}));
    return pki;
  }

  TrustAnchors anchors() const {
    std::vector<X509Ptr> certs;
    certs.push_back(share(anchor.cert.get()));
    return take(TrustAnchors::from_certificates(std::move(certs)));
  }

  // The full CSR flow for `identity`: key, CSR, validation, signing.
  Credentials leaf(const Identity& identity, const LeafOptions& options = {}) const {
    EvpPkeyPtr key = take(generate_p256_key());
    X509ReqPtr csr = take(create_csr(identity, key.get()));
    X509Ptr cert = take(sign_leaf(issuer, csr.get(), identity, options));
    std::vector<X509Ptr> chain;
    chain.push_back(share(issuer.ca.cert.get()));
    return take(Credentials::create(std::move(cert), std::move(key), std::move(chain)));
  }
};

inline TrustAnchors bundle(const Pki& a, const Pki& b) {
  std::vector<X509Ptr> certs;
  certs.push_back(share(a.anchor.cert.get()));
  certs.push_back(share(b.anchor.cert.get()));
  return take(TrustAnchors::from_certificates(std::move(certs)));
}

// === Raw builders: no validation, so tests can make what a CA must never issue ===

struct RawName {
  int type;           // GEN_DNS, GEN_URI, GEN_EMAIL, GEN_IPADD, GEN_OTHERNAME (via conf below)
  std::string value;  // raw bytes (IP: 4 or 16 octets)
};

inline GeneralNamesPtr raw_general_names(const std::vector<RawName>& names) {
  GeneralNamesPtr out(GENERAL_NAMES_new());
  for (const auto& n : names) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_STRING* s = n.type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    ASN1_STRING_set(s, n.value.data(), static_cast<int>(n.value.size()));
    GENERAL_NAME_set0_value(gn, n.type, s);
    sk_GENERAL_NAME_push(out.get(), gn);
  }
  return out;
}

inline void add_conf(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  ASSERT_TRUE(ext) << drain_openssl_errors("conf");
  X509_add_ext(cert, ext.get(), -1);
}

struct RawCert {
  std::string cn;
  std::vector<RawName> sans;
  // (nid, config) extensions; the default is a well-formed mesh leaf.
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, "serverAuth,clientAuth"}};
  SystemTime not_before = std::chrono::system_clock::now() - std::chrono::minutes(1);
  SystemTime not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
};

// Signs `spec` for `key` with `issuer` (nullptr: self-signed with `key`).
inline X509Ptr raw_certificate(const RawCert& spec, EVP_PKEY* key, const CertifiedKey* issuer) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), std::rand() + 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                std::chrono::system_clock::to_time_t(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                std::chrono::system_clock::to_time_t(spec.not_after));
  X509_set_pubkey(cert.get(), key);
  if (!spec.cn.empty()) {
    X509_NAME_add_entry_by_NID(X509_get_subject_name(cert.get()), NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.data()),
                               static_cast<int>(spec.cn.size()), -1, 0);
  }
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert));
  add_conf(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  for (const auto& [nid, value] : spec.extensions) add_conf(cert.get(), issuer_cert, nid, value);
  add_conf(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (!spec.sans.empty()) {
    GeneralNamesPtr names = raw_general_names(spec.sans);
    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), spec.cn.empty() ? 1 : 0,
                      X509V3_ADD_DEFAULT);
  }
  X509_sign(cert.get(), issuer != nullptr ? issuer->key.get() : key, EVP_sha256());
  return cert;
}

// Credentials for a raw leaf signed by `pki`'s issuer, bypassing Credentials::create's checks
// where needed (a leaf whose SAN has a NUL is not a valid identity, by design).
inline X509Ptr raw_leaf(const Pki& pki, const RawCert& spec, EVP_PKEY* key) {
  return raw_certificate(spec, key, &pki.issuer.ca);
}

struct RawCsr {
  std::string cn;
  std::vector<std::vector<RawName>> san_extensions;  // one entry per subjectAltName extension
  std::vector<std::pair<int, const char*>> extensions;  // extra requested extensions
};

inline X509ReqPtr raw_csr(const RawCsr& spec, EVP_PKEY* key, const EVP_MD* md = EVP_sha256()) {
  X509ReqPtr csr(X509_REQ_new());
  X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1);
  X509_REQ_set_pubkey(csr.get(), key);
  if (!spec.cn.empty()) {
    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(csr.get()), NID_commonName,
                               MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.data()),
                               static_cast<int>(spec.cn.size()), -1, 0);
  }
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  for (const auto& names : spec.san_extensions) {
    GeneralNamesPtr gns = raw_general_names(names);
    sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_subject_alt_name, 0, gns.get()));
  }
  for (const auto& [nid, value] : spec.extensions) {
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, nid, value));
  }
  if (sk_X509_EXTENSION_num(exts) > 0) X509_REQ_add_extensions(csr.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(csr.get(), key, md);
  return csr;
}

// === Loopback TLS echo server ===

// Accepts connections with a ServerContext (the snapshot current at accept time), records each
// server-side handshake result, and echoes bytes on successful connections until EOF.
class EchoServer {
 public:
  EchoServer(asio::io_context& io, const ServerContext& context,
             std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5))
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        context_(context), timeout_(handshake_timeout) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  // Stops accepting and closes the connections still open, so io_context::run() can return
  // while tests keep their client streams around for inspection.
  void stop() {
    net::error_code ignored;
    acceptor_.close(ignored);
    for (TlsStream* s : live_) s->lowest_layer().close(ignored);
  }
  const std::vector<Result<PeerInfo>>& results() const { return results_; }

  // Waits (on the io_context) until `n` handshakes have finished on the server side.
  asio::awaitable<void> wait_for_results(size_t n) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 500 && results_.size() < n; ++i) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(net::use_nothrow);
    }
  }

 private:
  asio::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    auto stream = make_server_stream(context_, std::move(socket));
    if (!stream) {
      results_.push_back(base::unexpected(stream.error()));
      co_return;
    }
    live_.insert(&*stream);
    auto peer = co_await server_handshake(*stream, timeout_);
    results_.push_back(peer);
    char buf[1024];
    while (peer.ok()) {
      auto [rec, n] = co_await stream->async_read_some(asio::buffer(buf), net::use_nothrow);
      if (rec) break;
      auto [wec, m] = co_await asio::async_write(*stream, asio::buffer(buf, n), net::use_nothrow);
      if (wec) break;
    }
    live_.erase(&*stream);
    ERR_clear_error();
  }

  tcp::acceptor acceptor_;
  const ServerContext& context_;
  std::chrono::milliseconds timeout_;
  std::vector<Result<PeerInfo>> results_;
  std::set<TlsStream*> live_;
};

// One client connection: handshake, then "ping" → expects "ping" echoed. Keeps the stream so
// tests can look at the SSL afterwards.
struct ClientRun {
  std::optional<TlsStream> stream;
  std::optional<Result<PeerInfo>> handshake;
  net::error_code exchange_error;  // set when the ping/echo failed after a handshake
  std::string echoed;

  bool exchanged() const { return echoed == "ping"; }
  SSL* ssl() { return stream->native_handle(); }
};

// By value: a coroutine's reference parameters would outlive the caller's temporaries.
inline asio::awaitable<void> run_client(ClientRun& run, const ClientContext& context,
                                        tcp::endpoint server, Identity expected,
                                        std::function<void(SSL*)> tweak = {}) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(server, asio::use_awaitable);
  auto stream = make_client_stream(context, std::move(socket), expected);
  if (!stream) {
    run.handshake = base::unexpected(stream.error());
    co_return;
  }
  run.stream.emplace(std::move(*stream));
  if (tweak) tweak(run.ssl());
  run.handshake = co_await client_handshake(*run.stream, std::chrono::seconds(5));
  if (!*run.handshake) co_return;
  auto [wec, w] = co_await asio::async_write(*run.stream, asio::buffer(std::string("ping")),
                                             net::use_nothrow);
  run.echoed.resize(4);
  auto [rec, r] = co_await asio::async_read(*run.stream, asio::buffer(run.echoed),
                                            net::use_nothrow);
  run.echoed.resize(r);
  run.exchange_error = wec ? wec : rec;
  ERR_clear_error();
}

// Runs `body` on `io` to completion; rethrows what it throws.
inline void run_on(asio::io_context& io, std::function<asio::awaitable<void>()> body) {
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace trellis::tls::testing
