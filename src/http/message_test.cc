#include "http/message.h"

#include <gtest/gtest.h>

#include "http/body.h"
#include "http/service.h"

namespace trellis::http {
namespace {

TEST(Headers, CaseInsensitiveAndOrdered) {
  Headers h;
  h.add("Content-Type", "text/plain");
  h.add("X-A", "1");
  h.add("x-a", "2");
  EXPECT_EQ(*h.get("content-type"), "text/plain");
  EXPECT_EQ(h.get_all("X-A").size(), 2u);
  h.set("x-a", "3");
  EXPECT_EQ(h.get_all("x-a").size(), 1u);
  EXPECT_EQ(*h.get("x-a"), "3");
  EXPECT_EQ(h.remove("X-A"), 1u);
  EXPECT_FALSE(h.contains("x-a"));
  EXPECT_EQ(h.begin()->name, "content-type");
}

TEST(Headers, Tokens) {
  Headers h{{"Connection", "keep-alive, Upgrade"}};
  EXPECT_TRUE(h.has_token("connection", "upgrade"));
  EXPECT_TRUE(h.has_token("connection", "Keep-Alive"));
  EXPECT_FALSE(h.has_token("connection", "close"));
}

TEST(Message, ReasonAndIdempotence) {
  EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
  EXPECT_EQ(reason_phrase(299), "");
  EXPECT_TRUE(is_idempotent("GET"));
  EXPECT_FALSE(is_idempotent("POST"));
}

TEST(Body, BufferedAndReadAll) {
  net::asio::io_context io;
  std::string got;
  bool too_large = false;
  net::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    auto body = make_buffered_body("hello", Headers{{"grpc-status", "0"}});
    auto all = co_await read_all(*body, 100);
    got = all->data + "|" + std::string(*all->trailers.get("grpc-status"));
    auto big = make_buffered_body(std::string(200, 'x'));
    too_large = !(co_await read_all(*big, 100)).ok();
  }, net::asio::detached);
  io.run();
  EXPECT_EQ(got, "hello|0");
  EXPECT_TRUE(too_large);
  EXPECT_TRUE(make_empty_body()->is_empty());
  EXPECT_EQ(make_response(503, "x").head.headers.get("content-type"), "text/plain; charset=utf-8");
}

}  // namespace
}  // namespace trellis::http
