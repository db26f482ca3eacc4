#include "proxy/tcp/forward.h"

#include <gtest/gtest.h>

#include "net/socket_options.h"
#include "proxy/transport.h"

namespace trellis::proxy::tcp {
namespace {

namespace asio = net::asio;
using net::tcp;

// client <-> [proxy_in ... forward ... proxy_out] <-> server, all on loopback.
struct Harness {
  asio::io_context io;
  tcp::acceptor front{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::acceptor back{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  ForwardResult result;

  // Accepts one client, connects to the backend, forwards.
  asio::awaitable<void> proxy_once(std::string prefix, ForwardOptions options) {
    tcp::socket client = co_await front.async_accept(asio::use_awaitable);
    tcp::socket server(io);
    co_await server.async_connect(back.local_endpoint(), asio::use_awaitable);
    result = co_await forward(client, server, std::move(prefix), options);
  }
};

TEST(Forward, CopiesBothWaysAndPropagatesHalfClose) {
  Harness h;
  std::string server_got, client_got;
  asio::co_spawn(h.io, h.proxy_once("pre:", {}), asio::detached);
  // Backend: read until EOF (the client's half-close must arrive), then answer and close.
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket s = co_await h.back.async_accept(asio::use_awaitable);
    co_await asio::async_read(s, asio::dynamic_buffer(server_got), net::use_nothrow);
    co_await asio::async_write(s, asio::buffer("reply:" + server_got), asio::use_awaitable);
    s.close();
  }, asio::detached);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket c(h.io);
    co_await c.async_connect(h.front.local_endpoint(), asio::use_awaitable);
    co_await asio::async_write(c, asio::buffer(std::string("hello")), asio::use_awaitable);
    c.shutdown(tcp::socket::shutdown_send);
    co_await asio::async_read(c, asio::dynamic_buffer(client_got), net::use_nothrow);
  }, asio::detached);
  h.io.run();
  EXPECT_EQ(server_got, "pre:hello");
  EXPECT_EQ(client_got, "reply:pre:hello");
  EXPECT_EQ(h.result.client_to_server_bytes, 9u);
  EXPECT_EQ(h.result.server_to_client_bytes, 15u);
  EXPECT_FALSE(h.result.idle_timeout);
  EXPECT_FALSE(h.result.error);
}

TEST(Forward, ServerSpeaksFirst) {
  Harness h;
  std::string client_got;
  asio::co_spawn(h.io, h.proxy_once("", {}), asio::detached);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket s = co_await h.back.async_accept(asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(std::string("220 banner\r\n")), asio::use_awaitable);
    s.close();
  }, asio::detached);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket c(h.io);
    co_await c.async_connect(h.front.local_endpoint(), asio::use_awaitable);
    co_await asio::async_read(c, asio::dynamic_buffer(client_got), net::use_nothrow);
  }, asio::detached);
  h.io.run();
  EXPECT_EQ(client_got, "220 banner\r\n");
}

TEST(Forward, IdleTimeoutClosesBothSides) {
  Harness h;
  bool client_saw_close = false;
  ForwardOptions opts;
  opts.idle_timeout = std::chrono::milliseconds(50);
  asio::co_spawn(h.io, h.proxy_once("", opts), asio::detached);
  tcp::socket backend(h.io);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    backend = co_await h.back.async_accept(asio::use_awaitable);
  }, asio::detached);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket c(h.io);
    co_await c.async_connect(h.front.local_endpoint(), asio::use_awaitable);
    char b;
    auto [ec, n] = co_await c.async_read_some(asio::buffer(&b, 1), net::use_nothrow);
    client_saw_close = ec == asio::error::eof || ec == asio::error::connection_reset;
    backend.close();
  }, asio::detached);
  h.io.run();
  EXPECT_TRUE(h.result.idle_timeout);
  EXPECT_TRUE(client_saw_close);
}

// Tunnels: bytes each side sent before the forward started (the client's after its upgrade
// request, the upstream's after its 101) go out first, and the transports count the bytes.
TEST(Forward, TransportsWithBothPrefixes) {
  Harness h;
  std::string server_got, client_got;
  uint64_t client_read = 0, client_written = 0;
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    TcpConnectionTransport client(co_await h.front.async_accept(asio::use_awaitable));
    tcp::socket upstream(h.io);
    co_await upstream.async_connect(h.back.local_endpoint(), asio::use_awaitable);
    TcpConnectionTransport server(std::move(upstream));
    h.result = co_await forward(client, server, "early-client:", {}, "early-server:");
    client_read = client.bytes_read();
    client_written = client.bytes_written();
  }, asio::detached);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket s = co_await h.back.async_accept(asio::use_awaitable);
    co_await asio::async_read(s, asio::dynamic_buffer(server_got), net::use_nothrow);
    co_await asio::async_write(s, asio::buffer(std::string("bye")), asio::use_awaitable);
    s.close();
  }, asio::detached);
  asio::co_spawn(h.io, [&]() -> asio::awaitable<void> {
    tcp::socket c(h.io);
    co_await c.async_connect(h.front.local_endpoint(), asio::use_awaitable);
    co_await asio::async_write(c, asio::buffer(std::string("data")), asio::use_awaitable);
    c.shutdown(tcp::socket::shutdown_send);
    co_await asio::async_read(c, asio::dynamic_buffer(client_got), net::use_nothrow);
  }, asio::detached);
  h.io.run();
  EXPECT_EQ(server_got, "early-client:data");
  EXPECT_EQ(client_got, "early-server:bye");
  EXPECT_EQ(h.result.client_to_server_bytes, 17u);
  EXPECT_EQ(h.result.server_to_client_bytes, 16u);
  EXPECT_EQ(client_read, 4u);
  EXPECT_EQ(client_written, 16u);
}

}  // namespace
}  // namespace trellis::proxy::tcp
