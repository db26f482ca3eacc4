#include "net/prefixed_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "net/asio.h"

namespace trellis::net {
namespace {

using namespace asio::experimental::awaitable_operators;

// A connected loopback pair: `ours` is wrapped by the tests, `peer` plays the remote side.
struct Pair {
  asio::io_context io;
  tcp::socket ours{io};
  tcp::socket peer{io};

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    ours = acceptor.accept();
  }
};

TEST(PrefixedStream, ServesThePrefixThenTheSocket) {
  Pair p;
  PrefixedStream<tcp::socket> s(std::move(p.ours), "hello ");
  asio::write(p.peer, asio::buffer(std::string("world")));
  std::string got(11, '\0');
  asio::co_spawn(p.io, [&]() -> awaitable<void> {
    co_await asio::async_read(s, asio::buffer(got), use_awaitable);
  }, asio::detached);
  p.io.run();
  EXPECT_EQ(got, "hello world");
  EXPECT_TRUE(s.pending_prefix().empty());
}

TEST(PrefixedStream, AReadWithPrefixLeftNeverTouchesTheSocket) {
  Pair p;
  PrefixedStream<tcp::socket> s(std::move(p.ours), "abc");
  asio::write(p.peer, asio::buffer(std::string("XYZ")));
  std::string buf(64, '\0');
  size_t first = 0, second = 0, third = 0;
  asio::co_spawn(p.io, [&]() -> awaitable<void> {
    first = co_await s.async_read_some(asio::buffer(buf.data(), 2), use_awaitable);
    second = co_await s.async_read_some(asio::buffer(buf.data() + 2, 62), use_awaitable);
    third = co_await s.async_read_some(asio::buffer(buf.data() + 3, 61), use_awaitable);
  }, asio::detached);
  p.io.run();
  EXPECT_EQ(first, 2u);   // bounded by the buffer
  EXPECT_EQ(second, 1u);  // the rest of the prefix only, although "XYZ" is waiting
  EXPECT_EQ(third, 3u);   // now the socket
  EXPECT_EQ(buf.substr(0, 6), "abcXYZ");
}

TEST(PrefixedStream, PrefixCompletionIsPostedNotInline) {
  Pair p;
  PrefixedStream<tcp::socket> s(std::move(p.ours), "abc");
  char buf[8];
  bool done = false;
  size_t n = 0;
  s.async_read_some(asio::buffer(buf), [&](error_code ec, size_t bytes) {
    EXPECT_FALSE(ec);
    n = bytes;
    done = true;
  });
  EXPECT_FALSE(done);  // invoking the handler inside the initiating call would break callers
  p.io.run();
  EXPECT_TRUE(done);
  EXPECT_EQ(n, 3u);
}

TEST(PrefixedStream, SynchronousReadAndWrite) {
  Pair p;
  PrefixedStream<tcp::socket> s(std::move(p.ours), "pre");
  asio::write(p.peer, asio::buffer(std::string("post")));
  std::string got(7, '\0');
  asio::read(s, asio::buffer(got));
  EXPECT_EQ(got, "prepost");
  asio::write(s, asio::buffer(std::string("back")));
  std::string echoed(4, '\0');
  asio::read(p.peer, asio::buffer(echoed));
  EXPECT_EQ(echoed, "back");
  error_code ec;
  char empty_read[1];
  p.peer.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(s.read_some(asio::buffer(empty_read), ec), 0u);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(PrefixedStream, AsyncWritesGoToTheSocketAndEofPropagates) {
  Pair p;
  PrefixedStream<tcp::socket> s(std::move(p.ours), "x");
  std::string got, peer_got;
  error_code read_ec;
  asio::co_spawn(p.io, [&]() -> awaitable<void> {
    co_await asio::async_write(s, asio::buffer(std::string("to-peer")), use_awaitable);
    s.next_layer().shutdown(tcp::socket::shutdown_send);
    auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(got), use_nothrow);
    read_ec = ec;
  }, asio::detached);
  asio::co_spawn(p.io, [&]() -> awaitable<void> {
    co_await asio::async_read(p.peer, asio::dynamic_buffer(peer_got), use_nothrow);
    co_await asio::async_write(p.peer, asio::buffer(std::string("reply")), use_awaitable);
    p.peer.shutdown(tcp::socket::shutdown_send);
  }, asio::detached);
  p.io.run();
  EXPECT_EQ(peer_got, "to-peer");
  EXPECT_EQ(got, "xreply");
  EXPECT_EQ(read_ec, asio::error::eof);
}

TEST(PrefixedStream, PerOperationCancellationReachesTheSocket) {
  Pair p;
  PrefixedStream<tcp::socket> s(std::move(p.ours));
  bool timer_won = false;
  asio::co_spawn(p.io, [&]() -> awaitable<void> {
    char buf[8];
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    auto r = co_await (s.async_read_some(asio::buffer(buf), use_nothrow) ||
                       timer.async_wait(use_nothrow));
    timer_won = r.index() == 1;
  }, asio::detached);
  // Without cancellation reaching the socket, the read would stay pending and the group would
  // never complete: run_for returns with timer_won still false.
  p.io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(timer_won);
}

TEST(PrefixedStream, LayersAndMoves) {
  Pair p;
  const auto local = p.ours.local_endpoint();
  PrefixedStream<tcp::socket> a(std::move(p.ours), "pending");
  PrefixedStream<tcp::socket> b(std::move(a));
  EXPECT_EQ(b.lowest_layer().local_endpoint(), local);
  EXPECT_EQ(b.next_layer().local_endpoint(), local);
  EXPECT_EQ(b.pending_prefix(), "pending");
  // A reference-typed next layer leaves ownership with the caller.
  tcp::socket& sock = b.next_layer();
  PrefixedStream<tcp::socket&> c(sock, "r");
  EXPECT_EQ(&c.next_layer(), &sock);
  char one;
  EXPECT_EQ(c.read_some(asio::buffer(&one, 1)), 1u);
  EXPECT_EQ(one, 'r');
}

}  // namespace
}  // namespace trellis::net
