// serve_h1 against raw scripted clients over loopback: keep-alive, framing both ways, Expect,
// HEAD, HTTP/1.0, pipelining, deadlines, every smuggling vector, limits, streaming, tunnels,
// draining and graceful shutdown.

#include "http/h1conn/server_connection.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "http/h1conn/test_support.h"

namespace trellis::http::h1 {
namespace {

using namespace testing;

// Echoes what it saw of the request in response headers, and the body as the response body.
awaitable<Response> echo(Request request) {
  std::string error;
  std::string body = co_await read_body_string(*request.body, &error);
  Response r = make_response(200, body);
  r.head.headers.add("x-method", request.head.method);
  r.head.headers.add("x-authority", request.head.authority);
  r.head.headers.add("x-path", request.head.path);
  r.head.headers.add("x-scheme", request.head.scheme);
  r.head.headers.add("x-version", to_string(request.head.version));
  r.head.headers.add("x-stream-id", std::to_string(request.stream_id));
  r.head.headers.add("x-connection-id", std::to_string(request.connection->id));
  if (!error.empty()) r.head.headers.add("x-body-error", error);
  std::string names;
  for (const auto& h : request.head.headers) names += h.name + ",";
  r.head.headers.add("x-header-names", names);
  co_return r;
}

struct Fixture {
  explicit Fixture(TestService::Handler handler = echo, ServerOptions options = {})
      : service(std::move(handler)), server(io, service, std::move(options)) {}
  asio::io_context io;
  TestService service;
  TestServer server;
};

TEST(H1Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  Fixture f;
  std::vector<RawResponse> got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    std::string buffer;
    for (int i = 0; i < 3; ++i) {
      co_await write_str(s, "GET /r" + std::to_string(i) + "?q=1 HTTP/1.1\r\nHost: a.test\r\n\r\n");
      got.push_back(co_await read_response(s, buffer));
    }
  }));
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(got[i].ok) << got[i].error;
    EXPECT_EQ(got[i].status, 200);
    EXPECT_TRUE(got[i].keep_alive);
    EXPECT_EQ(got[i].field("connection"), std::nullopt);
    EXPECT_EQ(got[i].field("x-path"), "/r" + std::to_string(i) + "?q=1");
    EXPECT_EQ(got[i].field("x-authority"), "a.test");
    EXPECT_EQ(got[i].field("x-method"), "GET");
    EXPECT_EQ(got[i].field("x-scheme"), "http");
    EXPECT_EQ(got[i].field("x-version"), "HTTP/1.1");
    EXPECT_EQ(got[i].field("x-stream-id"), std::to_string(i + 1));
    EXPECT_EQ(got[i].field("content-length"), "0");
  }
  EXPECT_EQ(f.server.accepted(), 1u);
  EXPECT_EQ(f.service.calls, 3);
  EXPECT_EQ(f.server.counters().requests_total.load(), 3u);
  EXPECT_EQ(f.server.counters().responses_total.load(), 3u);
}

TEST(H1Server, HopByHopAndConnectionNamedFieldsAreStripped) {
  Fixture f;
  RawResponse got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: x-secret, keep-alive\r\n"
                       "Keep-Alive: timeout=5\r\nX-Secret: 1\r\nTE: trailers, deflate\r\n"
                       "Proxy-Connection: x\r\nX-Kept: yes\r\nExpect: 100-continue\r\n\r\n");
    got = co_await read_response(s);
  }));
  ASSERT_TRUE(got.ok) << got.error;
  // Host moves to the authority; TE is reduced to "trailers"; Expect is handled by the server.
  EXPECT_EQ(got.field("x-header-names"), "te,x-kept,");
}

TEST(H1Server, AbsoluteFormTargetGivesAuthorityAndPath) {
  Fixture f;
  RawResponse got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET http://b.test:8080?x=1 HTTP/1.1\r\nHost: b.test:8080\r\n\r\n");
    got = co_await read_response(s);
  }));
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.field("x-authority"), "b.test:8080");
  EXPECT_EQ(got.field("x-path"), "/?x=1");
}

TEST(H1Server, ChunkedRequestAndResponseWithTrailers) {
  Fixture f([](Request request) -> awaitable<Response> {
    auto all = co_await read_all(*request.body, 1 << 20);
    Response r;
    r.head.status = 200;
    Headers trailers;
    trailers.add("x-checksum", all ? std::to_string(all->data.size()) : "error");
    trailers.add("x-req-trailer", all ? std::string(all->trailers.get("x-t").value_or("none"))
                                      : "error");
    trailers.add("content-length", "7");  // forbidden in trailers: dropped
    r.body = std::make_unique<GeneratedBody>(100000, 7000, false, trailers);
    co_return r;
  });
  RawResponse got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: tv\r\n\r\n");
    got = co_await read_response(s);
  }));
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.field("transfer-encoding"), "chunked");
  EXPECT_EQ(got.field("content-length"), std::nullopt);
  EXPECT_EQ(got.body, pattern(100000));
  ASSERT_EQ(got.trailers.size(), 2u);
  EXPECT_EQ(got.trailers[0], (std::pair<std::string, std::string>("x-checksum", "11")));
  EXPECT_EQ(got.trailers[1], (std::pair<std::string, std::string>("x-req-trailer", "tv")));
  EXPECT_EQ(f.server.counters().dropped_trailers_total.load(), 1u);
}

TEST(H1Server, ExpectContinueIsSentWhenTheServiceReadsTheBody) {
  Fixture f;
  RawResponse interim, final_response;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n");
    // Nothing but the 100 may arrive before we send the body.
    std::string buffer;
    char tmp[256];
    while (buffer.find("\r\n\r\n") == std::string::npos) {
      size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
      buffer.append(tmp, n);
    }
    interim.head = buffer;
    co_await write_str(s, "hello");
    buffer.erase(0, buffer.find("\r\n\r\n") + 4);
    final_response = co_await read_response(s, buffer);
  }));
  EXPECT_EQ(interim.head, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(final_response.ok) << final_response.error;
  EXPECT_EQ(final_response.status, 200);
  EXPECT_EQ(final_response.body, "hello");
  EXPECT_TRUE(final_response.keep_alive);
  EXPECT_EQ(f.server.counters().continues_sent_total.load(), 1u);
}

TEST(H1Server, ExpectContinueUnreadBodyGetsNoContinueAndCloses) {
  Fixture f([](Request) -> awaitable<Response> { co_return make_response(401, "no"); });
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n");
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("100 Continue"), std::string::npos) << raw;
  EXPECT_EQ(f.server.counters().continues_sent_total.load(), 0u);
}

TEST(H1Server, HeadResponseAnnouncesLengthButSendsNoBody) {
  Fixture f([](Request) -> awaitable<Response> { co_return make_response(200, "hello"); });
  RawResponse head, get;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    std::string buffer;
    co_await write_str(s, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    head = co_await read_response(s, buffer, true);
    // If the HEAD response had carried a body, it would be parsed as this response's head.
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    get = co_await read_response(s, buffer);
  }));
  ASSERT_TRUE(head.ok) << head.error;
  EXPECT_EQ(head.field("content-length"), "5");
  EXPECT_EQ(head.body, "");
  ASSERT_TRUE(get.ok) << get.error;
  EXPECT_EQ(get.body, "hello");
}

TEST(H1Server, NoContentAndNotModifiedHaveNoBody) {
  Fixture f([](Request request) -> awaitable<Response> {
    co_return make_response(request.head.path == "/204" ? 204 : 304, "ignored body");
  });
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "GET /204 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw,
            "HTTP/1.1 204 No Content\r\ncontent-type: text/plain; charset=utf-8\r\n\r\n"
            "HTTP/1.1 304 Not Modified\r\ncontent-type: text/plain; charset=utf-8\r\n"
            "Content-Length: 12\r\nConnection: close\r\n\r\n");
}

TEST(H1Server, Http10WithoutKeepAliveClosesAndUsesCloseDelimitedBody) {
  Fixture f([](Request) -> awaitable<Response> {
    Response r;
    r.body = std::make_unique<GeneratedBody>(5000, 1000, false);  // size unknown
    co_return r;
  });
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET / HTTP/1.0\r\n\r\n");
    raw = co_await read_to_eof(s);
  }));
  const std::string head = "HTTP/1.0 200 OK\r\n\r\n";
  ASSERT_EQ(raw.substr(0, head.size()), head);
  EXPECT_EQ(raw.substr(head.size()), pattern(5000));
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kNotPersistent);
}

TEST(H1Server, Http10KeepAliveGetsContentLengthAndKeepAlive) {
  Fixture f;
  RawResponse a, b;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    std::string buffer;
    co_await write_str(
        s, "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi");
    a = co_await read_response(s, buffer);
    co_await write_str(s, "GET /b HTTP/1.0\r\n\r\n");
    b = co_await read_response(s, buffer);
  }));
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.head.substr(0, 17), "HTTP/1.0 200 OK\r\n");
  EXPECT_EQ(a.field("connection"), "keep-alive");
  EXPECT_EQ(a.body, "hi");
  EXPECT_EQ(a.field("x-version"), "HTTP/1.0");
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(b.field("x-path"), "/b");
  EXPECT_FALSE(b.keep_alive);
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].requests, 2u);
}

TEST(H1Server, PipelinedRequestsAreAnsweredInOrderOneAtATime) {
  Fixture f([](Request request) -> awaitable<Response> {
    co_await sleep_for(request.head.path == "/1" ? 30ms : 1ms);  // the first is the slowest
    co_return co_await echo(std::move(request));
  });
  std::vector<RawResponse> got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                       "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\nxy\r\n0\r\n\r\n"
                       "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    std::string buffer;
    for (int i = 0; i < 4; ++i) got.push_back(co_await read_response(s, buffer));
    EXPECT_EQ(co_await read_to_eof(s), "");
  }));
  ASSERT_EQ(got.size(), 4u);
  const char* bodies[] = {"", "abc", "xy", ""};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(got[i].ok) << got[i].error;
    EXPECT_EQ(got[i].field("x-path"), "/" + std::to_string(i + 1));
    EXPECT_EQ(got[i].body, bodies[i]);
  }
  EXPECT_EQ(f.service.max_in_flight, 1);
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kNotPersistent);
  EXPECT_EQ(f.server.results()[0].requests, 4u);
}

TEST(H1Server, SlowHeadGets408AndClose) {
  ServerOptions options;
  options.header_read_timeout = 200ms;
  Fixture f(echo, options);
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ");  // and then nothing
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(f.service.calls, 0);
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kHeaderTimeout);
  EXPECT_EQ(f.server.counters().rejected_for(ParseError::kHeaderReadTimeout), 1u);
}

TEST(H1Server, HeaderDeadlineIsTotalNotPerRead) {
  // A byte every 50 ms keeps the connection busy but must not extend a 300 ms head deadline.
  ServerOptions options;
  options.header_read_timeout = 300ms;
  Fixture f(echo, options);
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; ++i) {
      auto [ec, n] = co_await asio::async_write(s, asio::buffer("X", 1), net::use_nothrow);
      if (ec) break;
      if (s.available() > 0) break;
      co_await sleep_for(50ms);
    }
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw.rfind("HTTP/1.1 408 ", 0), 0u) << raw;
}

TEST(H1Server, SilentConnectionIsClosedWithoutAResponse) {
  ServerOptions options;
  options.header_read_timeout = 100ms;
  Fixture f(echo, options);
  std::string raw = "unset";
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw, "");
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kIdleTimeout);
  EXPECT_EQ(f.server.counters().idle_timeouts_total.load(), 1u);
}

TEST(H1Server, IdleKeepAliveConnectionTimesOut) {
  ServerOptions options;
  options.idle_timeout = 100ms;
  Fixture f(echo, options);
  RawResponse first;
  std::string rest = "unset";
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    std::string buffer;
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    first = co_await read_response(s, buffer);
    rest = co_await read_to_eof(s);
  }));
  EXPECT_TRUE(first.ok) << first.error;
  EXPECT_EQ(rest, "");  // closed silently, no 408 for a request that never started
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kIdleTimeout);
}

// Every request-smuggling vector: answered with the parser's status, the connection closed,
// the smuggled follow-up request never served, and the service never called.
struct SmugglingCase {
  const char* name;
  std::string request;
  int status;
  ParseError error;
};

class H1ServerSmuggling : public ::testing::TestWithParam<SmugglingCase> {};

TEST_P(H1ServerSmuggling, RejectedClosedAndServiceNotCalled) {
  const SmugglingCase& c = GetParam();
  Fixture f;
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    // A follow-up request that would be served if the server mis-framed the first one.
    co_await write_str(s, c.request + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
    raw = co_await read_to_eof(s);
  }));
  const std::string status_line = "HTTP/1.1 " + std::to_string(c.status) + " ";
  EXPECT_EQ(raw.rfind(status_line, 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("/smuggled"), std::string::npos);
  EXPECT_EQ(raw.find("HTTP/1.1", 1), std::string::npos) << "exactly one response: " << raw;
  EXPECT_EQ(f.service.calls, 0);
  EXPECT_EQ(f.server.counters().rejected_for(c.error), 1u) << to_string(c.error);
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kParseError);
}

// Request heads start with this unless they test the start line or Host.
const std::string kPost = "POST / HTTP/1.1\r\nHost: a\r\n";

const SmugglingCase kSmugglingCases[] = {
    {"cl_te", kPost + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 400,
     ParseError::kClTeConflict},
    {"te_cl",
     kPost + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
     400, ParseError::kClTeConflict},
    {"duplicate_cl", kPost + "Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc", 400,
     ParseError::kConflictingContentLength},
    {"cl_list", kPost + "Content-Length: 3, 30\r\n\r\nabc", 400,
     ParseError::kConflictingContentLength},
    {"cl_signed", kPost + "Content-Length: +3\r\n\r\nabc", 400, ParseError::kInvalidContentLength},
    {"cl_overflow", kPost + "Content-Length: 99999999999999999999\r\n\r\n", 400,
     ParseError::kContentLengthOverflow},
    {"te_not_chunked_final", kPost + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400,
     ParseError::kTeNotChunkedFinal},
    {"te_unknown", kPost + "Transfer-Encoding: xchunked\r\n\r\n", 501,
     ParseError::kUnknownTransferCoding},
    {"te_chunked_twice", kPost + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
     ParseError::kChunkedTwice},
    {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     ParseError::kTransferEncodingHttp10},
    {"te_space_before_colon", kPost + "Transfer-Encoding : chunked\r\n\r\n", 400,
     ParseError::kWhitespaceBeforeColon},
    {"te_obs_fold", kPost + "X: y\r\n Transfer-Encoding: chunked\r\n\r\n", 400,
     ParseError::kObsFold},
    {"bare_lf", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, ParseError::kBareLf},
    {"bare_cr", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400, ParseError::kBareCr},
    {"nul_in_value", std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a") + '\0' + "b\r\n\r\n", 400,
     ParseError::kNulInFieldValue},
    {"space_after_start_line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400,
     ParseError::kWhitespaceAfterStartLine},
    {"missing_host", "GET / HTTP/1.1\r\n\r\n", 400, ParseError::kMissingHost},
    {"double_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, ParseError::kMultipleHost},
    {"host_authority_mismatch", "GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
     ParseError::kHostAuthorityMismatch},
    {"connect_with_body", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n\r\nhello",
     400, ParseError::kConnectWithBody},
    {"http2_version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, ParseError::kUnsupportedVersion},
    {"fragment_in_target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400,
     ParseError::kInvalidRequestTarget},
};


INSTANTIATE_TEST_SUITE_P(Vectors, H1ServerSmuggling, ::testing::ValuesIn(kSmugglingCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Smuggling through the chunked body itself: the service gets kMalformed, the connection
// closes, and the request hidden after the bad chunk line is never served.
TEST(H1Server, MalformedChunkedBodyFailsTheBodyAndCloses) {
  struct Case {
    const char* body;
    ParseError error;
  };
  const Case cases[] = {
      {"3\nabc\r\n0\r\n\r\n", ParseError::kBareLfInChunkLine},
      // LF inside a chunk extension: Kestrel CVE-2025-55315.
      {"3;x=\"a\nb\"\r\nabc\r\n0\r\n\r\n", ParseError::kBareLfInChunkLine},
      {"3;=v\r\nabc\r\n0\r\n\r\n", ParseError::kInvalidChunkExtension},
      {"0x3\r\nabc\r\n0\r\n\r\n", ParseError::kInvalidChunkSize},
      {" 3\r\nabc\r\n0\r\n\r\n", ParseError::kInvalidChunkSize},
      {"3\r\nabcX\r\n0\r\n\r\n", ParseError::kMissingChunkCrlf},
      {"11111111111111111\r\n", ParseError::kChunkSizeOverflow},
      {"0\r\nContent-Length: 5\r\n\r\n", ParseError::kForbiddenTrailerField},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Fixture f;
    RawResponse got;
    std::string rest;
    ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
      auto s = co_await connect_to(f.server.port());
      co_await write_str(s, std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                                        "\r\n\r\n") +
                                c.body + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
      std::string buffer;
      got = co_await read_response(s, buffer);
      rest = buffer + co_await read_to_eof(s);
    }));
    ASSERT_TRUE(got.ok) << got.error;
    EXPECT_EQ(got.field("x-body-error"), "malformed");
    EXPECT_FALSE(got.keep_alive);
    EXPECT_EQ(rest, "");
    EXPECT_EQ(f.service.calls, 1);
    EXPECT_EQ(f.server.counters().rejected_for(c.error), 1u) << to_string(c.error);
    ASSERT_TRUE(f.server.wait_for_results(1));
    EXPECT_EQ(f.server.results()[0].reason, ServerClose::kBodyError);
  }
}

TEST(H1Server, LimitsAnswer431And414) {
  ServerOptions options;
  options.limits.max_header_bytes = 4096;
  options.limits.max_header_count = 10;
  options.limits.max_start_line = 256;
  struct Case {
    std::string request;
    int status;
    ParseError error;
  };
  std::string many;
  for (int i = 0; i < 11; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(5000, 'x') + "\r\n\r\n", 431,
       ParseError::kHeaderBlockTooLarge},
      {"GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", 431, ParseError::kTooManyHeaders},
      {"GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414,
       ParseError::kRequestLineTooLong},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(to_string(c.error));
    Fixture f(echo, options);
    std::string raw;
    ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
      auto s = co_await connect_to(f.server.port());
      co_await write_str(s, c.request);
      raw = co_await read_to_eof(s);
    }));
    EXPECT_EQ(raw.rfind("HTTP/1.1 " + std::to_string(c.status) + " ", 0), 0u) << raw;
    EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos);
    EXPECT_EQ(f.service.calls, 0);
    EXPECT_EQ(f.server.counters().rejected_for(c.error), 1u);
  }
}

TEST(H1Server, LargeBodiesStreamInBoundedChunks) {
  // 8 MiB each way. The service sees the request body in chunks no larger than the server's
  // bound while the client is still sending, and the response is produced chunk by chunk.
  constexpr uint64_t kSize = 8 << 20;
  BodyStats seen;
  Fixture f([&](Request request) -> awaitable<Response> {
    seen = co_await drain_body(*request.body);
    Response r;
    r.body = std::make_unique<GeneratedBody>(kSize, 50000, /*known_size=*/true);
    co_return r;
  });
  RawResponse got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                              std::to_string(kSize) + "\r\n\r\n");
    const std::string body = pattern(kSize);
    for (size_t off = 0; off < kSize; off += 1 << 20) {
      co_await write_str(s, std::string_view(body).substr(off, 1 << 20));
    }
    got = co_await read_response(s);
  }));
  EXPECT_EQ(seen.error, "");
  EXPECT_EQ(seen.bytes, kSize);
  EXPECT_TRUE(seen.pattern_ok);
  EXPECT_LE(seen.max_chunk, 64u * 1024);
  EXPECT_GE(seen.chunks, kSize / (64 * 1024));
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.field("content-length"), std::to_string(kSize));
  EXPECT_EQ(got.body.size(), kSize);
  EXPECT_TRUE(got.body == pattern(kSize));
}

TEST(H1Server, UnreadSmallBodyIsDrainedAndTheConnectionKept) {
  Fixture f([](Request) -> awaitable<Response> { co_return make_response(404, "nope"); });
  RawResponse a, b;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    std::string buffer;
    co_await write_str(s, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" +
                              std::string(100000, 'z'));
    a = co_await read_response(s, buffer);
    co_await write_str(s, "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n0\r\n\r\n");
    b = co_await read_response(s, buffer);
  }));
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_TRUE(a.keep_alive);
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(b.status, 404);
  EXPECT_EQ(f.service.calls, 2);
  EXPECT_EQ(f.server.counters().bodies_drained_total.load(), 2u);
}

TEST(H1Server, UnreadLargeBodyClosesTheConnection) {
  ServerOptions options;
  options.max_drain_bytes = 1000;
  Fixture f([](Request) -> awaitable<Response> { co_return make_response(413, "too big"); },
            options);
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" +
                              std::string(100000, 'z'));
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos);
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kUndrained);
}

TEST(H1Server, ChunkedBodyTruncatedByClientFailsWithPeerReset) {
  std::string body_error;
  Fixture f([&](Request request) -> awaitable<Response> {
    co_await read_body_string(*request.body, &body_error);
    co_return make_response(200);
  });
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "10\r\nonly-ten-b");
    s.shutdown(tcp::socket::shutdown_send);
    co_await read_to_eof(s);
  }));
  EXPECT_EQ(body_error, "peer_reset");
  EXPECT_EQ(f.server.counters().body_errors_total.load(), 1u);
}

TEST(H1Server, StalledBodyTimesOut) {
  ServerOptions options;
  options.body_read_timeout = 150ms;
  std::string body_error;
  Fixture f([&](Request request) -> awaitable<Response> {
    co_await read_body_string(*request.body, &body_error);
    co_return make_response(200);
  }, options);
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    co_await read_to_eof(s);
  }));
  EXPECT_EQ(body_error, "timeout");
  EXPECT_EQ(f.server.counters().body_read_timeouts_total.load(), 1u);
}

TEST(H1Server, ResponseBodyFailingBeforeTheFirstByteBecomes502) {
  struct FailingBody final : Body {
    awaitable<base::Result<BodyChunk, BodyError>> next() override {
      co_return base::unexpected(BodyError::kPeerReset);
    }
  };
  Fixture f([](Request) -> awaitable<Response> {
    Response r;
    r.body = std::make_unique<FailingBody>();
    co_return r;
  });
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u) << raw;
  EXPECT_EQ(f.server.counters().response_body_errors_total.load(), 1u);
}

TEST(H1Server, ResponseBodyFailingMidStreamTruncatesTheChunkedResponse) {
  struct HalfBody final : Body {
    int calls = 0;
    awaitable<base::Result<BodyChunk, BodyError>> next() override {
      if (calls++ == 0) co_return BodyChunk{"first", false, {}};
      co_return base::unexpected(BodyError::kPeerReset);
    }
  };
  Fixture f([](Request) -> awaitable<Response> {
    Response r;
    r.body = std::make_unique<HalfBody>();
    co_return r;
  });
  RawResponse got;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    got = co_await read_response(s);
  }));
  EXPECT_FALSE(got.ok);
  EXPECT_EQ(got.error, "eof_in_body");  // no last chunk: the client knows it is incomplete
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kResponseError);
}

TEST(H1Server, InvalidResponseHeaderBecomes502) {
  Fixture f([](Request) -> awaitable<Response> {
    Response r = make_response(200, "x");
    r.head.headers.add("x-bad", "a\r\nInjected: yes");
    co_return r;
  });
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    raw = co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw.rfind("HTTP/1.1 502 ", 0), 0u) << raw;
  EXPECT_EQ(raw.find("Injected"), std::string::npos);
  EXPECT_EQ(f.server.counters().invalid_responses_total.load(), 1u);
}

TEST(H1Server, UpgradeHandsBackTheStreamAndBufferedBytes) {
  Fixture f([](Request request) -> awaitable<Response> {
    Response r;
    r.head.status = 101;
    r.head.headers.add("upgrade", request.head.headers.get("upgrade").value_or("?"));
    r.body = make_empty_body();
    co_return r;
  });
  f.server.on_tunnel([](tcp::socket& s, ServerResult& r) -> awaitable<void> {
    // The tunnel's owner: echo what arrived with the head, then one more read.
    std::string reply = "early=" + r.tunnel_bytes;
    char buf[64];
    size_t n = co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
    reply += ";late=" + std::string(buf, n);
    co_await write_str(s, reply);
  });
  std::string raw;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s,
                       "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                       "Upgrade: websocket\r\n\r\nEARLY");
    std::string buffer;
    char tmp[256];
    while (buffer.find("\r\n\r\n") == std::string::npos) {
      size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
      buffer.append(tmp, n);
    }
    co_await write_str(s, "LATE");
    raw = buffer + co_await read_to_eof(s);
  }));
  EXPECT_EQ(raw,
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nConnection: upgrade\r\n"
            "\r\nearly=EARLY;late=LATE");
  ASSERT_TRUE(f.server.wait_for_results(1));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kTunnel);
  ASSERT_TRUE(f.server.results()[0].tunnel_response.has_value());
  EXPECT_EQ(f.server.results()[0].tunnel_response->head.status, 101);
  EXPECT_EQ(f.server.counters().tunnels_total.load(), 1u);
}

TEST(H1Server, ConnectTwoHundredIsATunnelAndRefusalCloses) {
  Fixture f([](Request request) -> awaitable<Response> {
    co_return make_response(request.head.authority == "ok.test:443" ? 200 : 403);
  });
  std::string accepted, refused;
  ASSERT_TRUE(run_test(f.io, [&]() -> awaitable<void> {
    auto s = co_await connect_to(f.server.port());
    co_await write_str(s, "CONNECT ok.test:443 HTTP/1.1\r\nHost: ok.test:443\r\n\r\nTLSBYTES");
    accepted = co_await read_to_eof(s);
    auto t = co_await connect_to(f.server.port());
    co_await write_str(t, "CONNECT no.test:443 HTTP/1.1\r\nHost: no.test:443\r\n\r\nTLSBYTES");
    refused = co_await read_to_eof(t);
  }));
  // 2xx to CONNECT carries no framing fields at all (RFC 9110 §9.3.6).
  EXPECT_EQ(accepted, "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_NE(refused.find("Connection: close\r\n"), std::string::npos);
  ASSERT_TRUE(f.server.wait_for_results(2));
  EXPECT_EQ(f.server.results()[0].reason, ServerClose::kTunnel);
  EXPECT_EQ(f.server.results()[0].tunnel_bytes, "TLSBYTES");
}

TEST(H1Server, ShutdownClosesIdleConnectionsAndFinishesBusyOnesWithClose) {
  asio::io_context io;
  bool release = false;
  TestService service([&](Request request) -> awaitable<Response> {
    while (!release) co_await sleep_for(5ms);
    co_return co_await echo(std::move(request));
  });
  TestServer server(io, service);
  std::string idle_raw = "unset";
  RawResponse busy;
  std::string busy_rest = "unset";
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    auto idle = co_await connect_to(server.port());
    auto busy_socket = co_await connect_to(server.port());
    co_await write_str(busy_socket, "GET /busy HTTP/1.1\r\nHost: a\r\n\r\n");
    while (service.calls == 0) co_await sleep_for(5ms);
    server.shutdown().trigger();
    idle_raw = co_await read_to_eof(idle);
    release = true;
    std::string buffer;
    busy = co_await read_response(busy_socket, buffer);
    busy_rest = buffer + co_await read_to_eof(busy_socket);
  }));
  EXPECT_EQ(idle_raw, "");
  ASSERT_TRUE(busy.ok) << busy.error;
  EXPECT_EQ(busy.status, 200);
  EXPECT_EQ(busy.field("connection"), "close");
  EXPECT_EQ(busy_rest, "");
  ASSERT_TRUE(server.wait_for_results(2));
  EXPECT_EQ(server.results()[0].reason, ServerClose::kShutdown);
  EXPECT_EQ(server.results()[1].reason, ServerClose::kShutdown);
  EXPECT_EQ(server.counters().shutdown_closes_total.load(), 2u);
}

TEST(H1Server, InitialBytesFromDetectionAreParsedFirst) {
  asio::io_context io;
  TestService service(echo);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  std::optional<ServerResult> result;
  RawResponse got;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    auto client = co_await connect_to(acceptor.local_endpoint().port());
    auto server_socket = co_await acceptor.async_accept(asio::use_awaitable);
    // The detector already consumed "GET /det" from the socket.
    co_await write_str(client, "ected HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    asio::co_spawn(io, [&]() -> awaitable<void> {
      result = co_await serve_h1(server_socket, "GET /det", service, ServerOptions{},
                                 std::make_shared<ConnectionInfo>());
    }, asio::detached);
    got = co_await read_response(client);
    co_await read_to_eof(client);
    client.close();
    while (!result) co_await sleep_for(5ms);  // server_socket lives in this frame
  }));
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.field("x-path"), "/detected");
  EXPECT_EQ(result->reason, ServerClose::kNotPersistent);
  EXPECT_EQ(result->requests, 1u);
}


// --- Interop with a real peer: curl ----------------------------------------------------------

// Runs a shell command on another thread while the io_context serves on this one.
struct Command {
  std::string output;
  int status = -1;
};
bool run_command(asio::io_context& io, const std::string& command, Command& result) {
  std::atomic<bool> done{false};
  std::thread runner([&] {
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) result.output.append(buf, n);
      result.status = ::pclose(p);
    }
    done = true;
  });
  const bool finished = run_until(io, [&] { return done.load(); }, 60s);
  runner.join();
  return finished;
}

bool have_curl() { return std::system("curl --version > /dev/null 2>&1") == 0; }

TEST(H1ServerInterop, CurlKeepAlivePostsChunkedAndExpectContinue) {
  if (!have_curl()) GTEST_SKIP() << "curl not installed";
  Fixture f;
  const std::string base = "http://127.0.0.1:" + std::to_string(f.server.port());
  const std::string file = ::testing::TempDir() + "h1conn_curl_body.bin";
  {
    std::ofstream out(file, std::ios::binary);
    out << pattern(300000);
  }
  // One curl process, three transfers: it reuses the connection for all of them. The second
  // uploads chunked; the third waits for 100 Continue (for up to 30 s if we never sent it).
  Command cmd;
  ASSERT_TRUE(run_command(
      f.io,
      "curl -sS --http1.1 -o /dev/null -w '%{http_code} %{num_connects}\\n' " + base +
          "/one -o /dev/null -w '%{http_code} %{num_connects}\\n' -H 'Transfer-Encoding: chunked' "
          "--data-binary @" + file + " " + base + "/two --next -sS -o " + file + ".out "
          "-w '%{http_code} %{num_connects}\\n' -H 'Expect: 100-continue' --expect100-timeout 30 "
          "--data-binary @" + file + " " + base + "/three 2>&1",
      cmd));
  EXPECT_EQ(cmd.status, 0) << cmd.output;
  EXPECT_EQ(cmd.output, "200 1\n200 0\n200 0\n");
  std::ifstream echoed(file + ".out", std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(echoed)), {});
  EXPECT_TRUE(got == pattern(300000)) << got.size();
  EXPECT_EQ(f.server.accepted(), 1u);
  EXPECT_EQ(f.service.calls, 3);
  EXPECT_EQ(f.server.counters().continues_sent_total.load(), 1u);
  std::remove(file.c_str());
  std::remove((file + ".out").c_str());
}

TEST(H1ServerInterop, CurlHttp10AndHead) {
  if (!have_curl()) GTEST_SKIP() << "curl not installed";
  Fixture f([](Request request) -> awaitable<Response> {
    Response r;
    r.head.headers.add("x-version", to_string(request.head.version));
    r.body = std::make_unique<GeneratedBody>(70000, 9000, false);  // size unknown
    co_return r;
  });
  const std::string base = "http://127.0.0.1:" + std::to_string(f.server.port());
  Command http10, head;
  ASSERT_TRUE(run_command(f.io, "curl -sS --http1.0 " + base + "/ 2>&1", http10));
  ASSERT_TRUE(run_command(f.io, "curl -sS -I " + base + "/ 2>&1", head));
  EXPECT_EQ(http10.status, 0);
  EXPECT_TRUE(http10.output == pattern(70000)) << http10.output.size();  // close-delimited
  EXPECT_EQ(head.status, 0) << head.output;
  EXPECT_EQ(head.output.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head.output;
  EXPECT_NE(head.output.find("x-version: HTTP/1.1\r\n"), std::string::npos) << head.output;
}

}  // namespace
}  // namespace trellis::http::h1
