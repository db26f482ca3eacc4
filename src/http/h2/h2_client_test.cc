// ClientSession against a scripted raw server: how responses the client must reject, and the
// ways a request can fail, are reported (SendError kinds, retryability, body errors).

#include <gtest/gtest.h>

#include <string>

#include "http/h2/client.h"
#include "http/h2/test_support.h"

namespace trellis::http::h2 {
namespace {

using namespace testing;
using namespace std::chrono_literals;
using net::awaitable;

constexpr uint32_t kProtocolError = 0x1;
constexpr uint32_t kInternalError = 0x2;
constexpr uint32_t kRefusedStream = 0x7;

// Server side of a script: reads the client preface and the request HEADERS on stream 1, then
// sends our SETTINGS followed by `reply`, then reads until the client closes.
std::vector<Frame> answer(RawClient& conn, const std::string& reply) {
  EXPECT_TRUE(conn.read_client_magic());
  auto frames = conn.read_until([](const Frame& f) { return f.type == kHeaders && f.stream == 1; });
  conn.send(settings() + frame(kSettings, kAck, 0, "") + reply);
  auto more = conn.read_to_close(5s);
  frames.insert(frames.end(), more.begin(), more.end());
  return frames;
}

std::string response_headers(uint32_t stream, const Fields& fields, bool end_stream) {
  return headers(stream, fields, end_stream);
}

struct Outcome {
  bool sent = false;
  std::string error;
  bool retryable = false;
  uint32_t h2_error = 0;
  int status = 0;
  std::string body_error;
  std::string body;
  bool usable_after = true;
};

Outcome request_once(uint16_t port, H2Counters* counters = nullptr) {
  Outcome o;
  run_client(
      port,
      [&](ClientSession& c) -> awaitable<void> {
        auto r = co_await c.send(make_request("GET", "/"));
        if (!r) {
          o.error = to_string(r.error().kind);
          o.retryable = r.error().retryable();
          o.h2_error = r.error().h2_error;
        } else {
          o.sent = true;
          o.status = r->head.status;
          auto all = co_await read_all(*r->body, 1 << 20);
          if (all) {
            o.body = all->data;
          } else {
            o.body_error = to_string(all.error());
          }
        }
        co_await sleep_for(20ms);
        o.usable_after = c.is_usable();
      },
      {}, counters);
  return o;
}

TEST(H2Client, MalformedResponseHeadersAreRejected) {
  std::vector<Frame> seen;
  RawServer server([&](RawClient& conn) {
    seen = answer(conn, response_headers(1, {{":status", "200"}, {"X-Upper", "1"}}, false));
  });
  H2Counters counters;
  Outcome o = request_once(server.port(), &counters);
  EXPECT_EQ(o.error, "malformed_response");
  EXPECT_FALSE(o.retryable);
  EXPECT_EQ(counters.malformed_headers_total.load(), 1u);
  server.join();  // `seen` is written by the server thread
  const Frame* rst = find_frame(seen, kRstStream, 1);
  ASSERT_NE(rst, nullptr);
  EXPECT_EQ(rst->error_code(), kProtocolError);
}

TEST(H2Client, ResponseWithoutStatusIsRejected) {
  RawServer server([&](RawClient& conn) {
    answer(conn, response_headers(1, {{"content-type", "text/plain"}}, true));
  });
  EXPECT_EQ(request_once(server.port()).error, "malformed_response");
}

TEST(H2Client, RefusedStreamIsRetryable) {
  RawServer server([&](RawClient& conn) { answer(conn, rst_stream(1, kRefusedStream)); });
  Outcome o = request_once(server.port());
  EXPECT_EQ(o.error, "refused");
  EXPECT_TRUE(o.retryable);
  EXPECT_EQ(o.h2_error, kRefusedStream);
  EXPECT_TRUE(o.usable_after);  // one refused stream does not condemn the connection
}

TEST(H2Client, StreamsBeyondGoawayAreRefusedAndTheSessionUnusable) {
  RawServer server([&](RawClient& conn) {
    answer(conn, frame(kGoaway, 0, 0, be32(0) + be32(0)));  // last stream 0: ours unprocessed
  });
  Outcome o = request_once(server.port());
  EXPECT_EQ(o.error, "refused");
  EXPECT_TRUE(o.retryable);
  EXPECT_FALSE(o.usable_after);
}

TEST(H2Client, ResetAfterProcessingIsNotRetryable) {
  RawServer server([&](RawClient& conn) { answer(conn, rst_stream(1, kInternalError)); });
  Outcome o = request_once(server.port());
  EXPECT_EQ(o.error, "reset");
  EXPECT_FALSE(o.retryable);
  EXPECT_EQ(o.h2_error, kInternalError);
}

TEST(H2Client, ResetDuringTheBodyFailsTheBody) {
  RawServer server([&](RawClient& conn) {
    answer(conn, response_headers(1, {{":status", "200"}}, false) + data(1, "part", false) +
                     rst_stream(1, kInternalError));
  });
  Outcome o = request_once(server.port());
  EXPECT_TRUE(o.sent);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body_error, "peer_reset");
}

TEST(H2Client, ContentLengthMismatchFailsTheBody) {
  RawServer server([&](RawClient& conn) {
    answer(conn, response_headers(1, {{":status", "200"}, {"content-length", "10"}}, false) +
                     data(1, "abc", true));
  });
  H2Counters counters;
  Outcome o = request_once(server.port(), &counters);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body_error, "malformed");
  EXPECT_EQ(counters.malformed_bodies_total.load(), 1u);
}

TEST(H2Client, InterimResponsesAreSkipped) {
  RawServer server([&](RawClient& conn) {
    answer(conn, response_headers(1, {{":status", "103"}, {"link", "</a.css>"}}, false) +
                     response_headers(1, {{":status", "200"}, {"x-final", "1"}}, false) +
                     data(1, "ok", true));
  });
  Outcome o = request_once(server.port());
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "ok");
}

TEST(H2Client, ConnectionLossBeforeTheResponse) {
  RawServer server([&](RawClient& conn) {
    conn.read_client_magic();
    conn.read_until([](const Frame& f) { return f.type == kHeaders; });
    conn.send(settings());
  });  // the script returns and the socket closes
  Outcome o = request_once(server.port());
  EXPECT_EQ(o.error, "connection_lost");
  EXPECT_FALSE(o.retryable);
  EXPECT_FALSE(o.usable_after);
}

TEST(H2Client, GracefulClientShutdownFinishesInFlightRequests) {
  ServerThread server;
  Got held;
  bool closed = false;
  CloseReason reason = CloseReason::kNone;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    bool done = false;
    net::asio::co_spawn(
        co_await net::asio::this_coro::executor,
        [&]() -> awaitable<void> {
          held = co_await fetch(c, make_request("GET", "/hold"));
          done = true;
        },
        net::asio::detached);
    co_await eventually([&] { return server.service().calls.load() == 1; }, 5s);
    c.shutdown();
    auto refused = co_await c.send(make_request("GET", "/hello"));
    if (refused) held.error = "send after shutdown succeeded";
    server.release();
    co_await eventually([&] { return done; }, 5s);
    closed = co_await eventually([&] { return c.is_closed(); }, 5s);
    reason = c.close_reason();
  }));
  EXPECT_EQ(held.error, "");
  EXPECT_EQ(held.status, 200);
  EXPECT_EQ(held.body, "released");
  EXPECT_TRUE(closed);
  EXPECT_EQ(reason, CloseReason::kGoaway);
}

}  // namespace
}  // namespace trellis::http::h2
