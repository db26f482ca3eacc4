// Workers on loopback ports, in process: HTTP/1 and h2c on one port, gRPC through GrpcChannel,
// one worker calling another as its upstreams, TCP echo, and graceful shutdown ending run().
#include "demoapp/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/h1conn/pool.h"
#include "http/h2/client.h"
#include "http/h2/transport.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::demoapp {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// A worker running on its own thread until shutdown.
class RunningWorker {
 public:
  explicit RunningWorker(ServeOptions options) : options_(std::move(options)) {
    worker_ = std::make_unique<Worker>(options_, "w", 0, 1);
    worker_->listen();
    thread_ = std::thread([this] {
      worker_->run();
      done_.set_value();
    });
  }
  ~RunningWorker() { stop(); }
  // True when run() returned within `timeout` of the shutdown.
  bool stop(std::chrono::seconds timeout = 10s) {
    if (!thread_.joinable()) return true;
    worker_->shutdown();
    const bool ok = done_future_.wait_for(timeout) == std::future_status::ready;
    if (!ok) std::abort();  // a hung shutdown would otherwise hang the test binary
    thread_.join();
    return ok;
  }
  Worker::Ports ports() const { return worker_->bound_ports(); }
  ServeOptions& options() { return options_; }

 private:
  ServeOptions options_;
  std::unique_ptr<Worker> worker_;
  std::promise<void> done_;
  std::future<void> done_future_ = done_.get_future();
  std::thread thread_;
};

ServeOptions local(std::string version) {
  ServeOptions o;
  o.bind = "127.0.0.1";
  o.http_port = 0;
  o.version = std::move(version);
  return o;
}

// Runs `body` on a fresh io_context on this thread.
void run_client(const std::function<net::awaitable<void>(net::asio::any_io_executor)>& body) {
  net::asio::io_context io;
  bool finished = false;
  net::asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        co_await body(io.get_executor());
        finished = true;
      },
      net::asio::detached);
  io.run_for(20s);
  ASSERT_TRUE(finished);
}

net::SocketAddress loopback(uint16_t port) {
  return net::SocketAddress::from_endpoint(
      net::tcp::endpoint(net::asio::ip::address_v4::loopback(), port));
}

http::Request get(std::string path) {
  http::Request r;
  r.head.method = "GET";
  r.head.scheme = "http";
  r.head.authority = "demo";
  r.head.path = std::move(path);
  r.body = http::make_empty_body();
  return r;
}

TEST(Worker, Http1AndH2cOnOnePort) {
  RunningWorker w(local("v5"));
  const uint16_t port = w.ports().http;
  ASSERT_NE(port, 0);
  std::string h1_body, h2_body;
  int h1_status = 0, h2_status = 0;
  run_client([&](net::asio::any_io_executor ex) -> net::awaitable<void> {
    {
      http::h1::Pool pool(ex, loopback(port));
      auto r = co_await pool.send(get("/one"));
      if (!r) co_return;
      h1_status = r->head.status;
      auto body = co_await http::read_all(*r->body, 1 << 20);
      if (body) h1_body = body->data;
    }
    net::tcp::socket socket(ex);
    auto [ec] = co_await socket.async_connect(loopback(port).endpoint(), net::use_nothrow);
    if (ec) co_return;
    http::h2::StreamTransport<net::tcp::socket> transport(socket);
    http::h2::H2Settings settings;
    http::h2::H2Counters counters;
    http::h2::ClientSession session(transport, settings, counters);
    auto drive = [&]() -> net::awaitable<void> {
      auto r = co_await session.send(get("/two"));
      if (r) {
        h2_status = r->head.status;
        auto body = co_await http::read_all(*r->body, 1 << 20);
        if (body) h2_body = body->data;
      }
      session.close();
    };
    using namespace net::asio::experimental::awaitable_operators;
    co_await (session.run() && drive());
  });
  EXPECT_EQ(h1_status, 200);
  EXPECT_EQ(json::parse(h1_body)["path"], "/one");
  EXPECT_EQ(json::parse(h1_body)["version"], "v5");
  EXPECT_EQ(h2_status, 200);
  EXPECT_EQ(json::parse(h2_body)["path"], "/two");
  EXPECT_TRUE(w.stop());
}

TEST(Worker, FrontendCallsBackendOverHttpAndGrpc) {
  ServeOptions backend_options = local("v1");
  backend_options.grpc_port = 0;
  RunningWorker backend(backend_options);
  const auto bp = backend.ports();
  ASSERT_NE(bp.grpc, 0);

  // GrpcChannel + grpc_hello directly, twice over one connection.
  run_client([&](net::asio::any_io_executor ex) -> net::awaitable<void> {
    Target t = *parse_target("grpc://127.0.0.1:" + std::to_string(bp.grpc));
    GrpcChannel channel(ex, t, 2s);
    for (int i = 0; i < 2; ++i) {
      UpstreamResult r = co_await grpc_hello(channel, t, "me", 2s);
      EXPECT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.grpc_status, 0);
      EXPECT_EQ(r.version, "v1");
    }
    channel.close();
  });

  ServeOptions frontend_options = local("frontend");
  frontend_options.upstreams.push_back(
      *parse_target("http://localhost:" + std::to_string(bp.http) + "/api/users"));
  frontend_options.upstreams.push_back(
      *parse_target("grpc://127.0.0.1:" + std::to_string(bp.grpc)));
  RunningWorker frontend(frontend_options);
  std::vector<std::string> bodies;
  run_client([&](net::asio::any_io_executor ex) -> net::awaitable<void> {
    http::h1::Pool pool(ex, loopback(frontend.ports().http));
    for (int i = 0; i < 3; ++i) {
      auto r = co_await pool.send(get("/"));
      if (!r) co_return;
      auto body = co_await http::read_all(*r->body, 1 << 20);
      if (body) bodies.push_back(body->data);
    }
  });
  ASSERT_EQ(bodies.size(), 3u);
  for (const auto& b : bodies) {
    auto j = json::parse(b);
    EXPECT_EQ(j["status"], 200) << b;
    ASSERT_EQ(j["upstreams"].size(), 2u);
    EXPECT_EQ(j["upstreams"][0]["version"], "v1");
    EXPECT_EQ(j["upstreams"][0]["status"], 200);
    EXPECT_EQ(j["upstreams"][1]["version"], "v1");
    EXPECT_EQ(j["upstreams"][1]["grpcStatus"], 0);
  }
  // Shutting down the frontend with idle upstream connections open must not hang.
  EXPECT_TRUE(frontend.stop());
  EXPECT_TRUE(backend.stop());
}

TEST(Worker, TcpEchoWithBanner) {
  ServeOptions o = local("v1");
  o.tcp_port = 0;
  o.tcp_banner = "HELLO";
  RunningWorker w(o);
  std::string got;
  run_client([&](net::asio::any_io_executor ex) -> net::awaitable<void> {
    net::tcp::socket s(ex);
    auto [ec] = co_await s.async_connect(loopback(w.ports().tcp).endpoint(), net::use_nothrow);
    if (ec) co_return;
    co_await net::asio::async_write(s, net::asio::buffer(std::string_view("abc")),
                                    net::use_nothrow);
    s.shutdown(net::tcp::socket::shutdown_send);
    char buf[64];
    while (true) {
      auto [rec, n] = co_await s.async_read_some(net::asio::buffer(buf), net::use_nothrow);
      got.append(buf, n);
      if (rec) break;
    }
  });
  EXPECT_EQ(got, "HELLO\nabc");
}

TEST(Worker, ShutdownWaitsForInFlightRequest) {
  RunningWorker w(local("v1"));
  int status = 0;
  std::optional<http::h1::ClientError::Kind> second;
  auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(150ms);
    w.stop();
  });
  run_client([&](net::asio::any_io_executor ex) -> net::awaitable<void> {
    http::h1::Pool pool(ex, loopback(w.ports().http));
    auto r = co_await pool.send(get("/delay/400ms"));
    if (!r) co_return;
    status = r->head.status;
    co_await http::read_all(*r->body, 1 << 20);
    // The connection closed after that response and the listener is gone.
    auto again = co_await pool.send(get("/"));
    if (!again) second = again.error().kind;
  });
  stopper.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(second, http::h1::ClientError::Kind::kConnect);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);
}

}  // namespace
}  // namespace trellis::demoapp
