// Pool against serve_h1 and scripted servers: reuse, idle expiry, stale detection, the
// keep-alive-race retry (and when it must not happen), connect failures.

#include "http/h1conn/pool.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/h1conn/test_support.h"

namespace trellis::http::h1 {
namespace {

using namespace testing;

net::SocketAddress loopback(uint16_t port) {
  return net::SocketAddress::from_endpoint(tcp::endpoint(asio::ip::address_v4::loopback(), port));
}

awaitable<Response> hello(Request request) {
  co_await read_all(*request.body, 1 << 20);
  co_return make_response(200, "hello " + request.head.path);
}

// Sends through the pool and reads the whole body: "<status>:<body>" or "error:<kind>".
awaitable<std::string> fetch(Pool& pool, Request request) {
  auto response = co_await pool.send(std::move(request));
  if (!response) co_return std::string("error:") + to_string(response.error().kind);
  std::string error;
  std::string body = co_await read_body_string(*response->body, &error);
  co_return std::to_string(response->head.status) + ":" + body + error;
}

TEST(H1Pool, ReusesAnIdleConnection) {
  asio::io_context io;
  TestService service(hello);
  TestServer server(io, service);
  Pool pool(io.get_executor(), loopback(server.port()));
  std::vector<std::string> got;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 3; ++i) got.push_back(co_await fetch(pool, make_request("GET", "/x")));
  }));
  EXPECT_EQ(got, std::vector<std::string>(3, "200:hello /x"));
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.connects_total, 1u);
  EXPECT_EQ(s.reused_total, 2u);
  EXPECT_EQ(s.open, 1u);
  EXPECT_EQ(s.idle, 1u);
  EXPECT_EQ(server.accepted(), 1u);
}

TEST(H1Pool, ConcurrentRequestsOpenSeparateConnections) {
  asio::io_context io;
  TestService service([](Request request) -> awaitable<Response> {
    co_await sleep_for(20ms);
    co_return co_await hello(std::move(request));
  });
  TestServer server(io, service);
  Pool pool(io.get_executor(), loopback(server.port()));
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(io, [&]() -> awaitable<void> {
      EXPECT_EQ(co_await fetch(pool, make_request("GET", "/c")), "200:hello /c");
      ++done;
    }, asio::detached);
  }
  ASSERT_TRUE(run_until(io, [&] { return done == 3; }));
  EXPECT_EQ(pool.stats().connects_total, 3u);
  EXPECT_EQ(pool.stats().open, 3u);
  EXPECT_EQ(pool.stats().idle, 3u);
  EXPECT_EQ(service.max_in_flight, 3);
}

TEST(H1Pool, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  asio::io_context io;
  TestService service(hello);
  TestServer server(io, service);
  PoolOptions options;
  options.idle_timeout = 100ms;
  Pool pool(io.get_executor(), loopback(server.port()), options);
  std::string first, second;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    first = co_await fetch(pool, make_request("GET", "/1"));
  }));
  EXPECT_EQ(pool.stats().idle, 1u);
  ASSERT_TRUE(run_until(io, [&] { return pool.stats().idle == 0; }, 5s));
  EXPECT_EQ(pool.stats().idle_expired_total, 1u);
  EXPECT_EQ(pool.stats().open, 0u);
  // The server sees the connection end between requests.
  ASSERT_TRUE(server.wait_for_results(1));
  EXPECT_EQ(server.results()[0].reason, ServerClose::kClientClosed);
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    second = co_await fetch(pool, make_request("GET", "/2"));
  }));
  EXPECT_EQ(first, "200:hello /1");
  EXPECT_EQ(second, "200:hello /2");
  EXPECT_EQ(pool.stats().connects_total, 2u);
}

TEST(H1Pool, ConnectionClosedByTheServerWhileIdleIsNotReused) {
  asio::io_context io;
  TestService service(hello);
  ServerOptions server_options;
  server_options.idle_timeout = 50ms;  // the server ends idle connections first
  TestServer server(io, service, server_options);
  PoolOptions options;
  options.idle_timeout = 60s;
  Pool pool(io.get_executor(), loopback(server.port()), options);
  std::string first, second;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    first = co_await fetch(pool, make_request("POST", "/1"));
    while (server.results().empty()) co_await sleep_for(5ms);
    co_await sleep_for(20ms);  // let the FIN arrive
    second = co_await fetch(pool, make_request("POST", "/2"));
  }));
  EXPECT_EQ(first, "200:hello /1");
  EXPECT_EQ(second, "200:hello /2");  // a POST too: nothing was sent on the dead connection
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.stale_total, 1u);
  EXPECT_EQ(s.connects_total, 2u);
  EXPECT_EQ(s.retries_total, 0u);
  EXPECT_EQ(s.open, 1u);
}

// The keep-alive race: the server takes the request on a reused connection and closes without
// answering (as if its idle timer fired as the request arrived).
struct RaceServer {
  explicit RaceServer(asio::io_context& io)
      : server(io, [this](tcp::socket& s, int index) -> awaitable<void> {
          std::string buffer;
          int served = 0;
          while (true) {
            RawRequest r = co_await read_request(s, buffer);
            if (!r.ok) co_return;
            requests.push_back(r);
            if (index == 0 && served == 1) {
              s.close();  // the race: the second request on the first connection is lost
              co_return;
            }
            ++served;
            co_await write_str(s, "HTTP/1.1 200 OK\r\nContent-Length: " +
                                      std::to_string(r.body.size() + 3) + "\r\n\r\nok:" + r.body);
          }
        }) {}
  std::vector<RawRequest> requests;
  ScriptedServer server;
};

TEST(H1Pool, IdempotentRequestIsRetriedOnceOnAFreshConnection) {
  asio::io_context io;
  RaceServer race(io);
  Pool pool(io.get_executor(), loopback(race.server.port()));
  std::string first, second;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    first = co_await fetch(pool, make_request("GET", "/1"));
    second = co_await fetch(pool, make_request("PUT", "/2", make_buffered_body("replayed")));
  }));
  EXPECT_EQ(first, "200:ok:");
  EXPECT_EQ(second, "200:ok:replayed");
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.retries_total, 1u);
  EXPECT_EQ(s.connects_total, 2u);
  EXPECT_EQ(s.reused_total, 1u);
  ASSERT_EQ(race.requests.size(), 3u);
  EXPECT_EQ(race.requests[1].body, "replayed");
  EXPECT_EQ(race.requests[2].body, "replayed");
}

TEST(H1Pool, StreamedIdempotentBodyIsReplayedFromItsRecording) {
  asio::io_context io;
  RaceServer race(io);
  Pool pool(io.get_executor(), loopback(race.server.port()));
  std::string second;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    co_await fetch(pool, make_request("GET", "/1"));
    second = co_await fetch(
        pool, make_request("PUT", "/2", std::make_unique<GeneratedBody>(20000, 3000, false)));
  }));
  EXPECT_EQ(second, "200:ok:" + pattern(20000));
  EXPECT_EQ(pool.stats().retries_total, 1u);
}

TEST(H1Pool, NonIdempotentRequestIsNotRetriedOnceSent) {
  asio::io_context io;
  RaceServer race(io);
  Pool pool(io.get_executor(), loopback(race.server.port()));
  std::string second;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    co_await fetch(pool, make_request("GET", "/1"));
    second = co_await fetch(pool, make_request("POST", "/2", make_buffered_body("once")));
  }));
  EXPECT_EQ(second, "error:closed_before_response");
  EXPECT_EQ(pool.stats().retries_total, 0u);
  EXPECT_EQ(race.requests.size(), 2u);
}

TEST(H1Pool, BodyTooLargeToReplayIsNotRetried) {
  asio::io_context io;
  RaceServer race(io);
  PoolOptions options;
  options.max_replay_bytes = 1000;
  Pool pool(io.get_executor(), loopback(race.server.port()), options);
  std::string second;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    co_await fetch(pool, make_request("GET", "/1"));
    second = co_await fetch(
        pool, make_request("PUT", "/2", std::make_unique<GeneratedBody>(5000, 1000, true)));
  }));
  EXPECT_EQ(second, "error:closed_before_response");
  EXPECT_EQ(pool.stats().retries_total, 0u);
}

TEST(H1Pool, ConnectFailureIsReported) {
  asio::io_context io;
  uint16_t port;
  {
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = closed.local_endpoint().port();
  }
  Pool pool(io.get_executor(), loopback(port));
  std::string got;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    got = co_await fetch(pool, make_request("GET", "/"));
  }));
  EXPECT_EQ(got, "error:connect");
  EXPECT_EQ(pool.stats().connect_failures_total, 1u);
  EXPECT_EQ(pool.stats().open, 0u);
}

TEST(H1Pool, ConnectTimeoutIsReported) {
  // A listener whose backlog is full never completes new handshakes; fill it first.
  asio::io_context io;
  tcp::acceptor full(io);
  tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
  full.open(ep.protocol());
  full.bind(ep);
  full.listen(0);
  // Raw non-blocking connects: Asio's synchronous connect would wait for the handshake.
  std::vector<int> fillers;
  const auto target = full.local_endpoint();
  for (int i = 0; i < 8; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, target.data(), static_cast<socklen_t>(target.size()));
    fillers.push_back(fd);
  }
  PoolOptions options;
  options.connect_timeout = 200ms;
  Pool pool(io.get_executor(), loopback(full.local_endpoint().port()), options);
  std::optional<ClientError> error;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    auto response = co_await pool.send(make_request("GET", "/"));
    if (!response) error = response.error();
  }));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ClientError::Kind::kConnect);
  EXPECT_EQ(error->io_error, asio::error::timed_out);
  EXPECT_TRUE(error->retryable());
  for (int fd : fillers) ::close(fd);
}

TEST(H1Pool, UnfinishedResponseBodyDoesNotReturnTheConnection) {
  asio::io_context io;
  TestService service([](Request) -> awaitable<Response> {
    Response r;
    r.body = std::make_unique<GeneratedBody>(1 << 20, 16384, true);
    co_return r;
  });
  TestServer server(io, service);
  Pool pool(io.get_executor(), loopback(server.port()));
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    auto response = co_await pool.send(make_request("GET", "/"));
    EXPECT_TRUE(response.ok());
    if (!response) co_return;
    auto chunk = co_await response->body->next();  // one chunk, then give up
    EXPECT_TRUE(chunk.ok());
  }));
  EXPECT_EQ(pool.stats().idle, 0u);
  EXPECT_EQ(pool.stats().open, 0u);
}

TEST(H1Pool, ResponseBodyOutlivesThePool) {
  asio::io_context io;
  TestService service(hello);
  TestServer server(io, service);
  std::string body;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    Response response;
    {
      Pool pool(io.get_executor(), loopback(server.port()));
      auto r = co_await pool.send(make_request("GET", "/late"));
      EXPECT_TRUE(r.ok());
      if (!r) co_return;
      response = std::move(*r);
    }
    body = co_await read_body_string(*response.body);
  }));
  EXPECT_EQ(body, "hello /late");
}

// A 101 leaves the pool with the response: its body is a TunnelBody carrying the upgraded
// stream and the bytes the server sent after the head; the pool neither reuses nor counts it.
TEST(H1Pool, UpgradeResponseCarriesTheTunnel) {
  asio::io_context io;
  std::string tunnel_received;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    co_await read_request(s, buffer);
    co_await write_str(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: upgrade\r\n\r\nFROM-SERVER");
    char tmp[64];
    size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
    tunnel_received.assign(tmp, n);
  });
  Pool pool(io.get_executor(), loopback(server.port()));
  std::string buffered;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    Request r = make_request("GET", "/ws");
    r.head.headers.add("upgrade", "websocket");
    auto response = co_await pool.send(std::move(r));
    EXPECT_TRUE(response.ok());
    if (!response) co_return;
    EXPECT_EQ(response->head.status, 101);
    auto* body = dynamic_cast<TunnelBody*>(response->body.get());
    EXPECT_NE(body, nullptr);
    if (!body) co_return;
    EXPECT_TRUE(body->is_empty());
    buffered = body->tunnel().buffered;
    const asio::const_buffer b = asio::buffer("FROM-CLIENT", 11);
    co_await body->tunnel().transport->write(std::span(&b, 1));
    while (server.finished() == 0) co_await sleep_for(5ms);
  }));
  EXPECT_EQ(buffered, "FROM-SERVER");
  EXPECT_EQ(tunnel_received, "FROM-CLIENT");
  EXPECT_EQ(pool.stats().idle, 0u);
  EXPECT_EQ(pool.stats().open, 0u);
}

}  // namespace
}  // namespace trellis::http::h1
