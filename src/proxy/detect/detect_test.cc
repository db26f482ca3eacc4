#include "proxy/detect/detect.h"

#include <gtest/gtest.h>

#include <string>

namespace trellis::proxy::detect {
namespace {

struct Case {
  const char* name;
  std::string input;
  Protocol want;
};

TEST(Detect, Table) {
  const std::string client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  const Case cases[] = {
      {"empty", "", Protocol::kNeedMore},
      {"h1 get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", Protocol::kHttp1},
      {"h1 1.0", "POST /x?y=1 HTTP/1.0\r\n", Protocol::kHttp1},
      {"h1 absolute form", "GET http://a/b HTTP/1.1\r\n", Protocol::kHttp1},
      {"h1 partial method", "GE", Protocol::kNeedMore},
      {"h1 partial target", "GET /abc", Protocol::kNeedMore},
      {"h1 partial version", "GET / HTTP/1.", Protocol::kNeedMore},
      {"h1 missing CR", "GET / HTTP/1.1\n", Protocol::kOpaque},
      {"h1 bad version", "GET / HTTP/2.0\r\n", Protocol::kOpaque},
      {"h1 lower-case protocol", "GET / http/1.1\r\n", Protocol::kOpaque},
      {"h1 two spaces", "GET  / HTTP/1.1\r\n", Protocol::kOpaque},
      {"h1 control in target", std::string("GET /\x01 HTTP/1.1\r\n"), Protocol::kOpaque},
      {"h2 preface", std::string(kHttp2Preface), Protocol::kHttp2},
      {"h2 preface with frames", std::string(kHttp2Preface) + std::string("\0\0\0\4\0\0\0\0\0", 9), Protocol::kHttp2},
      {"h2 partial preface", "PRI * HTTP/2.0\r\n", Protocol::kNeedMore},
      {"h2 lookalike", "PRI * HTTP/2.0\r\n\r\nXX", Protocol::kOpaque},
      {"tls client hello", client_hello, Protocol::kTls},
      {"tls partial", std::string("\x16\x03", 2), Protocol::kNeedMore},
      {"tls alert record", std::string("\x15\x03\x03\x00\x02\x01", 6), Protocol::kOpaque},
      {"tls handshake not hello", std::string("\x16\x03\x03\x00\x10\x02", 6), Protocol::kOpaque},
      {"mysql greeting bytes", std::string("\x4a\x00\x00\x00\x0a\x38", 6), Protocol::kOpaque},
      {"redis ping", "*1\r\n$4\r\nPING\r\n", Protocol::kOpaque},
      {"ssh banner", "SSH-2.0-OpenSSH_9.2\r\n", Protocol::kOpaque},
      {"long token", std::string(40, 'A'), Protocol::kOpaque},
      {"long target is still http1", "GET /" + std::string(2000, 'a'), Protocol::kHttp1},
      {"long target reaching the limit", "GET /" + std::string(1019, 'a'), Protocol::kHttp1},
      {"long target under the limit", "GET /" + std::string(1000, 'a'), Protocol::kNeedMore},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(detect(c.input), c.want) << c.name;
  }
}

TEST(Detect, EveryPrefixOfARequestIsNeedMoreUntilTheLineEnds) {
  const std::string req = "GET /path HTTP/1.1\r\n";
  for (size_t i = 0; i < req.size(); ++i) {
    EXPECT_EQ(detect(req.substr(0, i)), Protocol::kNeedMore) << i;
  }
  EXPECT_EQ(detect(req), Protocol::kHttp1);
  const std::string preface(kHttp2Preface);
  for (size_t i = 1; i < preface.size(); ++i) {
    EXPECT_EQ(detect(preface.substr(0, i)), Protocol::kNeedMore) << i;
  }
}

}  // namespace
}  // namespace trellis::proxy::detect
