// The server against hand-written frames: RFC 9113 §8 header validation, and the abuse
// defences that close the connection (security.md §2: rapid reset, CONTINUATION flood, control
// frame floods, outbound queue, slow peers). Each test checks what went over the wire and the
// counter the proxy exports.

#include <gtest/gtest.h>

#include <string>

#include "http/h2/settings.h"
#include "http/h2/test_support.h"

namespace trellis::http::h2 {
namespace {

using namespace testing;
using namespace std::chrono_literals;

constexpr uint32_t kNoError = 0x0;
constexpr uint32_t kProtocolError = 0x1;
constexpr uint32_t kCancel = 0x8;
constexpr uint32_t kEnhanceYourCalm = 0xb;

// The status of the response HEADERS on `stream` (the first field our server encodes is
// :status, as a literal or an indexed static-table entry).
int response_status(const Frame& f) {
  if (f.payload.empty()) return 0;
  const auto b0 = static_cast<uint8_t>(f.payload[0]);
  switch (b0) {  // indexed representations of the static table's :status entries
    case 0x88: return 200;
    case 0x89: return 204;
    case 0x8a: return 206;
    case 0x8b: return 304;
    case 0x8c: return 400;
    case 0x8d: return 404;
    case 0x8e: return 500;
    default: break;
  }
  // Literal with an indexed :status name: the value is three ASCII digits.
  const auto pos = f.payload.find_first_of("0123456789");
  if (pos == std::string::npos || pos + 3 > f.payload.size()) return 0;
  return std::stoi(f.payload.substr(pos, 3));
}

const Frame* goaway(const std::vector<Frame>& frames) { return find_frame(frames, kGoaway); }

struct Case {
  const char* name;
  Fields fields;
};

TEST(H2Validation, MalformedRequestsAreResetAndCounted) {
  ServerThread server;
  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  const Fields ok = get_request("/hello");
  auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    Fields f = ok;
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  };
  const std::vector<Case> cases = {
      {"uppercase name", with({{"X-Upper", "1"}})},
      {"connection header", with({{"connection", "keep-alive"}})},
      {"CR in value", with({{"x-a", "a\rb"}})},
      {"missing :path", {{":method", "GET"}, {":scheme", "http"}, {":authority", "test"}}},
      {"te other than trailers", with({{"te", "gzip"}})},
      {"pseudo after regular",
       {{":method", "GET"}, {":scheme", "http"}, {"x-a", "1"}, {":path", "/hello"}}},
      {"duplicate :path", with({{":path", "/other"}})},
      {"transfer-encoding", with({{"transfer-encoding", "chunked"}})},
      {"unknown pseudo", with({{":protocol", "websocket"}})},
      {"NUL in value", with({{"x-a", std::string("a\0b", 3)}})},
      {"host mismatch", with({{"host", "other"}})},
  };
  std::string bytes = preface();
  uint32_t stream = 1;
  for (const auto& c : cases) {
    bytes += headers(stream, c.fields);
    stream += 2;
  }
  const uint32_t good = stream;
  bytes += headers(good, ok);
  ASSERT_TRUE(client.send(bytes));
  auto frames = client.read_until(
      [&](const Frame& f) { return f.type == kHeaders && f.stream == good; });

  uint32_t id = 1;
  for (const auto& c : cases) {
    const Frame* rst = find_frame(frames, kRstStream, id);
    ASSERT_NE(rst, nullptr) << c.name;
    EXPECT_EQ(rst->error_code(), kProtocolError) << c.name;
    EXPECT_EQ(find_frame(frames, kHeaders, id), nullptr) << c.name;
    id += 2;
  }
  const Frame* response = find_frame(frames, kHeaders, good);
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response_status(*response), 200);
  EXPECT_EQ(goaway(frames), nullptr);  // stream errors, not connection errors
  EXPECT_EQ(server.counters().malformed_headers_total.load(), cases.size());
  EXPECT_EQ(server.service().calls.load(), 1);  // only the valid request reached the service
}

TEST(H2Validation, ContentLengthMustMatchTheData) {
  ServerThread server;
  RawClient client(server.port());
  Fields post = {{":method", "POST"}, {":scheme", "http"}, {":path", "/sink"},
                 {"content-length", "10"}};
  Fields longer = post;
  longer.back().second = "3";
  std::string bytes = preface();
  bytes += headers(1, post, /*end_stream=*/false) + data(1, "short", true);      // 5 < 10
  bytes += headers(3, longer, /*end_stream=*/false) + data(3, "toolong", true);  // 7 > 3
  bytes += headers(5, post, /*end_stream=*/false) + data(5, "0123456789", true);
  ASSERT_TRUE(client.send(bytes));
  auto frames = client.read_until([](const Frame& f) { return f.type == kData && f.stream == 5; });
  ASSERT_NE(find_frame(frames, kRstStream, 1), nullptr);
  EXPECT_EQ(find_frame(frames, kRstStream, 1)->error_code(), kProtocolError);
  ASSERT_NE(find_frame(frames, kRstStream, 3), nullptr);
  EXPECT_EQ(find_frame(frames, kRstStream, 3)->error_code(), kProtocolError);
  const Frame* answer = find_frame(frames, kData, 5);
  ASSERT_NE(answer, nullptr);
  EXPECT_EQ(answer->payload, "10:" + std::to_string(fnv1a("0123456789")));
  EXPECT_EQ(server.counters().malformed_bodies_total.load(), 2u);
}

TEST(H2Validation, TooManyFieldsIsAnswered431) {
  ServerOptions options;
  options.settings.max_header_fields = 20;
  ServerThread server(options);
  RawClient client(server.port());
  Fields many = get_request("/hello");
  for (int i = 0; i < 30; ++i) many.emplace_back("x-f" + std::to_string(i), "v");
  ASSERT_TRUE(client.send(preface() + headers(1, many) + headers(3, get_request("/hello"))));
  auto frames =
      client.read_until([](const Frame& f) { return f.type == kHeaders && f.stream == 3; });
  const Frame* rejected = find_frame(frames, kHeaders, 1);
  ASSERT_NE(rejected, nullptr);
  EXPECT_EQ(response_status(*rejected), 431);
  EXPECT_EQ(server.counters().header_fields_over_limit_total.load(), 1u);
  EXPECT_EQ(server.service().calls.load(), 1);
}

// Sends `bytes` after the preface and expects GOAWAY(`code`) followed by the close.
std::vector<Frame> expect_goaway_and_close(RawClient& client, const std::string& bytes,
                                           uint32_t code) {
  client.send(preface() + bytes);  // may fail part-way once the server closes
  auto frames = client.read_to_close(10s);
  EXPECT_TRUE(client.eof()) << "connection still open";
  const Frame* g = goaway(frames);
  EXPECT_NE(g, nullptr) << "no GOAWAY";
  if (g) {
    EXPECT_EQ(g->error_code(), code);
  }
  return frames;
}

TEST(H2Abuse, RapidResetClosesTheConnection) {
  // CVE-2023-44487: open and immediately cancel streams. Past 100 streams with more than half
  // reset early, the connection goes.
  ServerThread server;
  RawClient client(server.port());
  std::string bytes;
  for (uint32_t i = 0; i < 150; ++i) {
    bytes += headers(2 * i + 1, get_request("/hold")) + rst_stream(2 * i + 1, kCancel);
  }
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().rapid_reset_total.load(), 1u);
  EXPECT_LE(server.counters().streams_opened_total.load(), 101u);
  ASSERT_TRUE(server.wait_sessions_done());
  EXPECT_EQ(server.last_close_reason(), CloseReason::kRapidReset);
}

TEST(H2Abuse, ResetRateLimitClosesTheConnection) {
  // The ratio check disabled: the token bucket over resets trips on its own.
  ServerOptions options;
  options.settings.rapid_reset_min_streams = 1000000;
  options.settings.reset_burst = 50;
  options.settings.resets_per_second = 1;
  ServerThread server(options);
  RawClient client(server.port());
  std::string bytes;
  for (uint32_t i = 0; i < 80; ++i) {
    bytes += headers(2 * i + 1, get_request("/hold")) + rst_stream(2 * i + 1, kCancel);
  }
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().rapid_reset_total.load(), 1u);
  EXPECT_EQ(server.counters().streams_reset_by_peer_total.load(), 51u);
}

TEST(H2Abuse, ServerCausedResetsCountTowardsTheBudget) {
  // MadeYouReset (CVE-2025-8671): malformed requests make the server reset; they spend the
  // same budget as the peer's own RST_STREAMs.
  ServerOptions options;
  options.settings.reset_burst = 20;
  options.settings.resets_per_second = 1;
  ServerThread server(options);
  RawClient client(server.port());
  std::string bytes;
  Fields bad = get_request("/hello");
  bad.emplace_back("X-Upper", "1");
  for (uint32_t i = 0; i < 40; ++i) bytes += headers(2 * i + 1, bad);
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().rapid_reset_total.load(), 1u);
  EXPECT_EQ(server.counters().malformed_headers_total.load(), 21u);
}

TEST(H2Abuse, ContinuationFloodWithLargeFieldsClosesTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  // A header block that never ends: 1 KiB fields, CONTINUATION after CONTINUATION.
  std::string fields_1k;
  for (int i = 0; i < 15; ++i) {
    fields_1k += literal("x-pad" + std::to_string(i), std::string(1000, 'v'));
  }
  std::string bytes = frame(kHeaders, kEndStream, 1, block(get_request("/hello")));
  for (int i = 0; i < 20; ++i) bytes += frame(kContinuation, 0, 1, fields_1k);
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().header_flood_total.load(), 1u);
  EXPECT_EQ(server.service().calls.load(), 0);
}

TEST(H2Abuse, ManyEmptyContinuationFramesCloseTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  std::string bytes = frame(kHeaders, kEndStream, 1, block(get_request("/hello")));
  for (int i = 0; i < 1000; ++i) bytes += frame(kContinuation, 0, 1, "");
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().header_flood_total.load(), 1u);
}

TEST(H2Abuse, PingFloodClosesTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  std::string bytes;
  for (uint64_t i = 0; i < 3000; ++i) bytes += ping(i);
  auto frames = expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().control_flood_total.load(), 1u);
  size_t acks = 0;
  for (const auto& f : frames) acks += f.type == kPing && (f.flags & kAck) ? 1 : 0;
  EXPECT_LE(acks, 200u);  // the burst, then no more work for the flood
}

TEST(H2Abuse, SettingsFloodClosesTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  std::string bytes;
  for (int i = 0; i < 3000; ++i) bytes += settings();
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().control_flood_total.load(), 1u);
}

TEST(H2Abuse, PriorityFloodClosesTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  std::string bytes;
  for (int i = 0; i < 300; ++i) bytes += priority(3, 0);
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().priority_flood_total.load(), 1u);
}

TEST(H2Abuse, WindowUpdateFloodClosesTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  std::string bytes;
  for (int i = 0; i < 300; ++i) bytes += window_update(0, 1);
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().window_update_flood_total.load(), 1u);
}

TEST(H2Abuse, EmptyDataFramesCloseTheConnection) {
  ServerThread server;
  RawClient client(server.port());
  Fields post = {{":method", "POST"}, {":scheme", "http"}, {":path", "/sink"}};
  std::string bytes = headers(1, post, /*end_stream=*/false);
  for (int i = 0; i < 10; ++i) bytes += data(1, "", false);
  expect_goaway_and_close(client, bytes, kEnhanceYourCalm);
  EXPECT_EQ(server.counters().empty_frame_flood_total.load(), 1u);
}

TEST(H2Abuse, OutboundQueueCapClosesAConnectionThatDoesNotRead) {
  // The peer opens its windows, asks for a big response and never reads: our socket buffer
  // fills, then PING ACKs pile up in nghttp2's queue until the cap closes the connection.
  ServerOptions options;
  options.send_buffer = 4096;
  options.settings.max_outbound_frames = 200;
  options.settings.max_outbound_control_frames = 100000;  // our cap, not nghttp2's, trips
  options.settings.control_frame_burst = 100000;
  options.settings.write_timeout = 10s;
  ServerThread server(options);
  RawClient client(server.port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(client.send(preface({{0x4, 0x7fffffff}}) + window_update(0, 0x7fffffff - 65535) +
                          headers(1, get_request("/big?n=268435456"))));
  // Keep pinging: once the response has filled both socket buffers the ACKs stay queued.
  std::string pings;
  for (uint64_t i = 0; i < 500; ++i) pings += ping(i);
  while (server.counters().connections_total.load() == 0) std::this_thread::sleep_for(1ms);
  for (int round = 0; round < 100 && server.live_sessions() != 0; ++round) {
    std::this_thread::sleep_for(50ms);
    if (!client.send(pings)) break;
  }
  EXPECT_TRUE(server.wait_sessions_done());
  EXPECT_EQ(server.counters().outbound_flood_total.load(), 1u);
  EXPECT_EQ(server.last_close_reason(), CloseReason::kOutboundFlood);
}

TEST(H2Abuse, WriteTimeoutClosesAConnectionThatDoesNotRead) {
  ServerOptions options;
  options.send_buffer = 4096;
  options.settings.write_timeout = 200ms;
  ServerThread server(options);
  RawClient client(server.port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(client.send(preface({{0x4, 0x7fffffff}}) + window_update(0, 0x7fffffff - 65535) +
                          headers(1, get_request("/big?n=268435456"))));
  EXPECT_TRUE(server.wait_sessions_done());
  EXPECT_EQ(server.counters().write_timeouts_total.load(), 1u);
  EXPECT_EQ(server.last_close_reason(), CloseReason::kWriteTimeout);
}

TEST(H2Abuse, IncompleteHeaderBlockTimesOut) {
  ServerOptions options;
  options.settings.header_timeout = 200ms;
  ServerThread server(options);
  RawClient client(server.port());
  const auto started = std::chrono::steady_clock::now();
  expect_goaway_and_close(client, frame(kHeaders, kEndStream, 1, block(get_request("/hello"))),
                          kEnhanceYourCalm);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_EQ(server.counters().header_timeouts_total.load(), 1u);
}

TEST(H2Abuse, IdleConnectionIsClosedWithGoaway) {
  ServerOptions options;
  options.settings.idle_timeout = 200ms;
  ServerThread server(options);
  RawClient client(server.port());
  expect_goaway_and_close(client, headers(1, get_request("/hello")), kNoError);
  EXPECT_EQ(server.counters().idle_timeouts_total.load(), 1u);
}

TEST(H2Abuse, IdleStreamIsReset) {
  ServerOptions options;
  options.settings.stream_idle_timeout = 200ms;
  ServerThread server(options);
  RawClient client(server.port());
  ASSERT_TRUE(client.send(preface() + headers(1, get_request("/hold"))));
  auto frames = client.read_until([](const Frame& f) { return f.type == kRstStream; });
  const Frame* rst = find_frame(frames, kRstStream, 1);
  ASSERT_NE(rst, nullptr);
  EXPECT_EQ(rst->error_code(), kCancel);
  EXPECT_EQ(server.counters().stream_idle_timeouts_total.load(), 1u);
  for (int i = 0; i < 100 && server.service().cancelled.load() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.service().cancelled.load(), 1);
}

TEST(H2Abuse, BadPrefaceIsAProtocolError) {
  ServerThread server;
  RawClient client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  client.read_to_close(5s);
  EXPECT_TRUE(client.eof());
  EXPECT_EQ(server.counters().protocol_errors_total.load(), 1u);
}

TEST(H2Abuse, ProtocolViolationsEndTheConnectionWithGoaway) {
  ServerThread server;
  RawClient client(server.port());
  // DATA on stream 0 is a connection error (RFC 9113 §6.1).
  expect_goaway_and_close(client, data(0, "x", false), kProtocolError);
  EXPECT_EQ(server.counters().protocol_errors_total.load(), 1u);
  ASSERT_TRUE(server.wait_sessions_done());
  EXPECT_EQ(server.last_close_reason(), CloseReason::kProtocolError);
}

}  // namespace
}  // namespace trellis::http::h2
