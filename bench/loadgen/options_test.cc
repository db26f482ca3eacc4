#include "loadgen/options.h"

#include <gtest/gtest.h>

namespace trellis::bench::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ParseUrl, HostPortAndPath) {
  auto t = parse_url("http://127.0.0.1:8080/path?q=1#frag");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->authority, "127.0.0.1:8080");
  EXPECT_EQ(t->path, "/path?q=1");  // the fragment is never sent
}

TEST(ParseUrl, Defaults) {
  auto t = parse_url("HTTP://localhost");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "localhost");
  EXPECT_EQ(t->port, 80);
  EXPECT_EQ(t->authority, "localhost");
  EXPECT_EQ(t->path, "/");
  t = parse_url("http://h?x=1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/?x=1");
}

TEST(ParseUrl, Ipv6Literal) {
  auto t = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 9000);
  EXPECT_EQ(t->authority, "[::1]:9000");
}

TEST(ParseUrl, Rejections) {
  for (const char* bad : {"https://127.0.0.1/", "ftp://h/", "127.0.0.1:80", "http://",
                          "http://:80/", "http://u:p@h/", "http://h:0/", "http://h:65536/",
                          "http://h:8x/", "http://h:/", "http://[::1/", "http://h/a b",
                          "http://h/\x7f"}) {
    EXPECT_FALSE(parse_url(bad).ok()) << bad;
  }
}

TEST(ParseHeader, NameAndTrimmedValue) {
  auto h = parse_header("X-Id:   42 ");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, (Header{"X-Id", "42"}));
  h = parse_header("X-Empty:");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->value, "");
}

TEST(ParseHeader, Rejections) {
  EXPECT_FALSE(parse_header("no colon").ok());
  EXPECT_FALSE(parse_header("bad name: v").ok());
  EXPECT_FALSE(parse_header(":authority: x").ok());
  EXPECT_FALSE(parse_header("X: a\rb").ok());
  auto host = parse_header("Host: other");
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.error().find("--host"), std::string::npos);
  for (const char* reserved : {"Content-Length: 1", "Transfer-Encoding: chunked",
                               "Connection: close", "TE: trailers", "Upgrade: h2c",
                               "Keep-Alive: 5"}) {
    EXPECT_FALSE(parse_header(reserved).ok()) << reserved;
  }
}

TEST(ParseOptions, OpenLoopHttp1) {
  auto o = parse_options({"--rate", "2500", "-c", "16", "-t", "2", "--duration", "30s",
                          "--warmup", "5s", "--timeout", "250ms", "--jitter", "0.5", "-H",
                          "X-A: 1", "--header", "X-B: 2", "http://127.0.0.1:4140/hello"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->protocol, Protocol::kHttp1);
  EXPECT_EQ(o->rate, 2500);
  EXPECT_FALSE(o->closed_loop());
  EXPECT_EQ(o->connections, 16u);
  EXPECT_EQ(o->threads, 2u);
  EXPECT_EQ(o->concurrency, 1u);
  EXPECT_EQ(o->duration, seconds(30));
  EXPECT_EQ(o->warmup, seconds(5));
  EXPECT_EQ(o->timeout, milliseconds(250));
  EXPECT_EQ(o->jitter, 0.5);
  EXPECT_EQ(o->method, "GET");
  EXPECT_EQ(o->authority, "127.0.0.1:4140");
  EXPECT_EQ(o->target.path, "/hello");
  EXPECT_EQ(o->headers, (std::vector<Header>{{"X-A", "1"}, {"X-B", "2"}}));
}

TEST(ParseOptions, ClosedLoopByFlagOrZeroRate) {
  auto o = parse_options({"--closed", "http://h/"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->closed_loop());
  o = parse_options({"--rate", "0", "http://h/"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->closed_loop());
  EXPECT_EQ(o->duration, seconds(10));  // defaults
  EXPECT_EQ(o->timeout, seconds(5));
  EXPECT_EQ(o->connections, 10u);
}

TEST(ParseOptions, H2cAndGrpc) {
  auto o = parse_options({"--protocol", "h2c", "--closed", "-m", "32", "http://h/"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->protocol, Protocol::kH2c);
  EXPECT_EQ(o->concurrency, 32u);
  o = parse_options({"--protocol", "h2c", "--closed", "http://h/"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->concurrency, 10u);  // the h2 default
  o = parse_options({"--protocol", "grpc", "--rate", "100", "--grpc-body-hex", "0a0141",
                     "--host", "echo.default.svc:50051", "http://127.0.0.1:4140/demo.Echo/Say"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->method, "POST");
  EXPECT_EQ(o->grpc_message, "\n\x01" "A");
  EXPECT_EQ(o->authority, "echo.default.svc:50051");
}

TEST(ParseOptions, UsageErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"http://h/"},                                             // neither rate nor --closed
      {"--rate", "10"},                                          // no URL
      {"--closed", "--rate", "5", "http://h/"},                  // contradiction
      {"--rate", "-1", "http://h/"},
      {"--closed", "--protocol", "h3", "http://h/"},
      {"--closed", "--concurrency", "4", "http://h/"},           // HTTP/1 has no pipelining
      {"--closed", "-c", "2", "-t", "3", "http://h/"},           // more threads than conns
      {"--closed", "-c", "0", "http://h/"},
      {"--closed", "--duration", "0s", "http://h/"},
      {"--closed", "--duration", "ten", "http://h/"},
      {"--closed", "--timeout", "0s", "http://h/"},
      {"--closed", "--warmup", "-1s", "http://h/"},
      {"--rate", "10", "--jitter", "1.5", "http://h/"},
      {"--closed", "--jitter", "0.1", "http://h/"},              // jitter is open loop only
      {"--closed", "-H", "Host: x", "http://h/"},
      {"--closed", "--host", "a b", "http://h/"},
      {"--closed", "--method", "G T", "http://h/"},
      {"--closed", "--grpc-body-hex", "00", "http://h/"},        // not gRPC
      {"--closed", "--protocol", "grpc", "--body", "x", "http://h/"},
      {"--closed", "--protocol", "grpc", "--method", "GET", "http://h/"},
      {"--closed", "--protocol", "grpc", "--grpc-body-hex", "0", "http://h/"},
      {"--closed", "https://h/"},
      {"--closed", "--bogus", "http://h/"},
  };
  for (const auto& args : bad) {
    auto o = parse_options(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    ASSERT_FALSE(o.ok()) << joined;
    EXPECT_EQ(o.error().exit_code, 2) << joined;
    EXPECT_FALSE(o.error().message.empty()) << joined;
  }
}

TEST(ParseOptions, HelpIsNotAnError) {
  auto o = parse_options({"--help"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().exit_code, 0);
  EXPECT_NE(o.error().message.find("--rate"), std::string::npos);
}

}  // namespace
}  // namespace trellis::bench::loadgen
