#pragma once
// Tests only: an in-process control plane made of real gRPC C++ services (Destination and
// Identity from api/*.proto) behind a TLS 1.3 front built from our own tls::ServerContext, as
// trellis-control does (gRPC runs over plaintext h2; the front terminates TLS, requests an
// optional client certificate and records the verified identity of every connection).
//
//   TestControlPlane cp(pki);          // serves on 127.0.0.1:<port>
//   cp.destination().set("web.emojivoto.svc.cluster.local:80", update);
//   cp.identity().refuse(grpc::StatusCode::UNAUTHENTICATED, "bad token");
//   cp.go_down(); cp.restart();        // drops every connection and refuses new ones; serves again

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/destination.grpc.pb.h"
#include "api/identity.grpc.pb.h"
#include "net/asio.h"
#include "tls/ca.h"
#include "tls/handshake.h"
#include "tls/pem.h"
#include "tls/test_support.h"

namespace trellis::proxy::control::testing {

namespace pb_dst = api::destination::v1;
namespace pb_id = api::identity::v1;
using tls::testing::take;

inline const tls::Identity& control_identity() {
  static const tls::Identity kControl =
      tls::testing::id("trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local");
  return kControl;
}

class FakeDestination final : public pb_dst::Destination::Service {
 public:
  // The answer for a path ("web:80"); unknown paths get exists=false.
  void set(const std::string& path, pb_dst::Update update) {
    std::lock_guard lock(mu_);
    answers_[path] = std::move(update);
    ++generation_;
    cv_.notify_all();
  }
  void end_all_streams() {
    std::lock_guard lock(mu_);
    ++epoch_;
    cv_.notify_all();
  }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::string last_namespace() const {
    std::lock_guard lock(mu_);
    return last_ns_;
  }
  int open_streams() const { return open_.load(); }

  grpc::Status Get(grpc::ServerContext* context, const pb_dst::GetDestination* request,
                   grpc::ServerWriter<pb_dst::Update>* writer) override {
    ++open_;
    std::unique_lock lock(mu_);
    requests_.push_back(request->path());
    last_ns_ = request->context_namespace();
    const uint64_t epoch = epoch_;
    uint64_t sent = UINT64_MAX;
    std::string last;
    while (!context->IsCancelled() && epoch == epoch_ && !stopping_) {
      if (sent != generation_) {
        sent = generation_;
        pb_dst::Update update;
        auto it = answers_.find(request->path());
        if (it != answers_.end()) update = it->second;
        std::string bytes;
        update.SerializeToString(&bytes);
        if (bytes != last || last.empty()) {
          last = bytes;
          lock.unlock();
          const bool ok = writer->Write(update);
          lock.lock();
          if (!ok) break;
        }
      }
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    --open_;
    return grpc::Status::OK;
  }

  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  void resume() {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, pb_dst::Update> answers_;
  std::vector<std::string> requests_;
  std::string last_ns_;
  uint64_t generation_ = 0;
  uint64_t epoch_ = 0;
  bool stopping_ = false;
  std::atomic<int> open_{0};
};

class FakeIdentity final : public pb_id::Identity::Service {
 public:
  FakeIdentity(const tls::testing::Pki& pki, std::string token)
      : pki_(pki), token_(std::move(token)) {}

  void set_lifetime(std::chrono::seconds lifetime) { lifetime_.store(lifetime.count()); }
  void set_delay(std::chrono::milliseconds delay) { delay_ms_.store(delay.count()); }
  void refuse(grpc::StatusCode code, std::string message) {
    std::lock_guard lock(mu_);
    refusal_ = grpc::Status(code, std::move(message));
  }
  void accept() {
    std::lock_guard lock(mu_);
    refusal_.reset();
  }
  int calls() const { return calls_.load(); }
  int issued() const { return issued_.load(); }
  std::string last_version() const {
    std::lock_guard lock(mu_);
    return last_version_;
  }

  grpc::Status Certify(grpc::ServerContext* context, const pb_id::CertifyRequest* request,
                       pb_id::CertifyResponse* response) override {
    ++calls_;
    if (const auto delay = delay_ms_.load(); delay > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
    {
      std::lock_guard lock(mu_);
      auto md = context->client_metadata().find("trellis-proxy-version");
      last_version_ = md == context->client_metadata().end()
                          ? std::string()
                          : std::string(md->second.data(), md->second.size());
      if (refusal_) return *refusal_;
    }
    if (request->token() != token_) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad token");
    }
    auto identity = tls::Identity::parse(request->identity());
    if (!identity) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad identity");
    auto csr = tls::csr_from_der(request->certificate_signing_request());
    if (!csr) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad csr");
    tls::LeafOptions options;
    options.lifetime = std::chrono::seconds(lifetime_.load());
    options.clock_skew = std::chrono::seconds(0);
    auto leaf = tls::sign_leaf(pki_.issuer, csr->get(), *identity, options);
    if (!leaf) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, leaf.error().detail);
    response->set_leaf_certificate(der(leaf->get()));
    response->add_intermediate_certificates(der(pki_.issuer.ca.cert.get()));
    ++issued_;
    return grpc::Status::OK;
  }

 private:
  static std::string der(X509* cert) {
    unsigned char* out = nullptr;
    const int n = i2d_X509(cert, &out);
    std::string s(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    OPENSSL_free(out);
    return s;
  }

  const tls::testing::Pki& pki_;
  const std::string token_;
  std::atomic<int64_t> lifetime_{3600};
  std::atomic<int64_t> delay_ms_{0};
  mutable std::mutex mu_;
  std::optional<grpc::Status> refusal_;
  std::string last_version_;
  std::atomic<int> calls_{0};
  std::atomic<int> issued_{0};
};

// TLS front + gRPC server on loopback.
class TestControlPlane {
 public:
  explicit TestControlPlane(const tls::testing::Pki& pki, std::string token = "good-token")
      : pki_(pki), identity_(pki, std::move(token)) {
    tls::ServerOptions options;
    options.alpn = {"h2"};
    options.require_client_certificate = false;
    server_ctx_ = take(tls::ServerContext::create(options, pki_.leaf(control_identity()),
                                                  pki_.anchors()));
    acceptor_ = std::make_unique<net::tcp::acceptor>(
        io_, net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 0));
    port_ = acceptor_->local_endpoint().port();
    start_grpc();
    net::asio::co_spawn(io_, accept_loop(), net::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TestControlPlane() {
    stop_grpc();
    net::asio::post(io_, [this] {
      net::error_code ec;
      acceptor_->close(ec);
      for (auto& close : closers_) close();
    });
    io_.stop();
    thread_.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  FakeDestination& destination() { return destination_; }
  FakeIdentity& identity() { return identity_; }

  // Identities of the clients that presented a certificate, per accepted connection ("" none).
  std::vector<std::string> peers() const {
    std::lock_guard lock(mu_);
    return peers_;
  }
  int connections() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(peers_.size());
  }

  // Drops every connection and refuses new ones until restart() (the control plane is down).
  // (gRPC keeps running behind the front: its calls are cancelled when their connection goes.)
  void go_down() {
    down_.store(true);
    net::asio::post(io_, [this] {
      for (auto& close : closers_) close();
      closers_.clear();
    });
  }
  void restart() { down_.store(false); }

 private:
  void start_grpc() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&destination_);
    builder.RegisterService(&identity_);
    grpc_ = builder.BuildAndStart();
    grpc_port_.store(port);
  }
  void stop_grpc() {
    if (!grpc_) return;
    destination_.stop();
    grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc_->Wait();
    grpc_.reset();
  }

  net::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_->async_accept(net::use_nothrow);
      if (ec) co_return;
      if (down_.load()) continue;  // refused: the socket closes here
      net::asio::co_spawn(io_, serve(std::move(socket)), net::asio::detached);
    }
  }

  net::awaitable<void> serve(net::tcp::socket socket) {
    auto stream = tls::make_server_stream(*server_ctx_, std::move(socket));
    if (!stream) co_return;
    // As trellis-control: a client certificate is requested, not required (Certify callers
    // have none), and verified against the anchors when sent.
    SSL_set_verify(stream->native_handle(), SSL_VERIFY_PEER, nullptr);
    auto tls_stream = std::make_shared<tls::TlsStream>(std::move(stream).value());
    auto peer = co_await tls::server_handshake(*tls_stream, std::chrono::seconds(5));
    if (!peer) co_return;
    {
      std::lock_guard lock(mu_);
      peers_.push_back(peer->identity ? peer->identity->str() : std::string());
    }
    auto upstream = std::make_shared<net::tcp::socket>(io_);
    auto [ec] = co_await upstream->async_connect(
        net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"),
                           static_cast<uint16_t>(grpc_port_.load())),
        net::use_nothrow);
    if (ec) co_return;
    closers_.push_back([upstream, tls_stream] {
      net::error_code e;
      upstream->close(e);
      tls_stream->lowest_layer().close(e);
    });
    using namespace net::asio::experimental::awaitable_operators;
    co_await (pump_tls_to_tcp(tls_stream, upstream) || pump_tcp_to_tls(upstream, tls_stream));
    net::error_code ignored;
    upstream->close(ignored);
    tls_stream->lowest_layer().close(ignored);
  }

  static net::awaitable<void> pump_tls_to_tcp(std::shared_ptr<tls::TlsStream> from,
                                              std::shared_ptr<net::tcp::socket> to) {
    std::vector<char> buf(16384);
    while (true) {
      auto [ec, n] = co_await from->async_read_some(net::asio::buffer(buf), net::use_nothrow);
      if (ec) co_return;
      auto [wec, w] = co_await net::asio::async_write(*to, net::asio::buffer(buf.data(), n),
                                                      net::use_nothrow);
      if (wec) co_return;
    }
  }
  static net::awaitable<void> pump_tcp_to_tls(std::shared_ptr<net::tcp::socket> from,
                                              std::shared_ptr<tls::TlsStream> to) {
    std::vector<char> buf(16384);
    while (true) {
      auto [ec, n] = co_await from->async_read_some(net::asio::buffer(buf), net::use_nothrow);
      if (ec) co_return;
      auto [wec, w] = co_await net::asio::async_write(*to, net::asio::buffer(buf.data(), n),
                                                      net::use_nothrow);
      if (wec) co_return;
    }
  }

  const tls::testing::Pki& pki_;
  FakeDestination destination_;
  FakeIdentity identity_;
  std::unique_ptr<tls::ServerContext> server_ctx_;
  std::unique_ptr<grpc::Server> grpc_;
  std::atomic<int> grpc_port_{0};
  net::asio::io_context io_;
  std::unique_ptr<net::tcp::acceptor> acceptor_;
  std::vector<std::function<void()>> closers_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> down_{false};
  mutable std::mutex mu_;
  std::vector<std::string> peers_;
};

}  // namespace trellis::proxy::control::testing
