#include "proxy/detect/read.h"

#include <gtest/gtest.h>

namespace trellis::proxy::detect {
namespace {

namespace asio = net::asio;
using net::tcp;

// Sends `chunks` (with a short pause between them) to a fresh connection and runs
// read_and_detect on the server side.
Detected run(std::vector<std::string> chunks, std::chrono::milliseconds timeout, bool close_after) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Detected out;
  tcp::socket client(io);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    out = co_await read_and_detect(s, timeout);
    client.close();
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    asio::steady_timer pause(io);
    for (const auto& c : chunks) {
      co_await asio::async_write(client, asio::buffer(c), asio::use_awaitable);
      pause.expires_after(std::chrono::milliseconds(5));
      co_await pause.async_wait(asio::use_awaitable);
    }
    if (close_after) client.shutdown(tcp::socket::shutdown_send);
  }, asio::detached);
  io.run();
  return out;
}

TEST(ReadAndDetect, HttpRequestSplitAcrossReads) {
  auto d = run({"GE", "T /x HT", "TP/1.1\r\nHost: a\r\n\r\n"}, std::chrono::seconds(10), false);
  EXPECT_EQ(d.protocol, Protocol::kHttp1);
  EXPECT_EQ(d.bytes.substr(0, 16), "GET /x HTTP/1.1\r");
  EXPECT_FALSE(d.timed_out);
}

TEST(ReadAndDetect, SilentClientTimesOutAsOpaque) {
  auto d = run({"GET /"}, std::chrono::milliseconds(50), false);
  EXPECT_EQ(d.protocol, Protocol::kOpaque);
  EXPECT_TRUE(d.timed_out);
  EXPECT_EQ(d.bytes, "GET /");
}

TEST(ReadAndDetect, CloseBeforeDecisionIsOpaqueWithTheBytes) {
  auto d = run({"PRI * HTTP/2.0"}, std::chrono::seconds(10), true);
  EXPECT_EQ(d.protocol, Protocol::kOpaque);
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(d.bytes, "PRI * HTTP/2.0");
}

TEST(ReadAndDetect, BinaryIsOpaqueWithoutWaitingForTheTimeout) {
  auto d = run({std::string(2000, '\x01')}, std::chrono::seconds(60), false);
  EXPECT_EQ(d.protocol, Protocol::kOpaque);
  EXPECT_FALSE(d.timed_out);
  EXPECT_LE(d.bytes.size(), kMaxDetectBytes);
}

}  // namespace
}  // namespace trellis::proxy::detect
