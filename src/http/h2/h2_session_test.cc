// ClientSession against ServerSession over real loopback sockets: the server runs on its own
// thread (ServerThread), the client on the test thread.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "http/h2/client.h"
#include "http/h2/grpc.h"
#include "http/h2/server.h"
#include "http/h2/test_support.h"

namespace trellis::http::h2 {
namespace {

using namespace testing;
using namespace std::chrono_literals;
using net::awaitable;

std::string sink_answer(size_t size) {
  return std::to_string(size) + ":" + std::to_string(fnv1a(GeneratedBody::expected(size)));
}

TEST(H2Session, GetReturnsResponseAndServerSeesValidatedHead) {
  ServerThread server;
  Got hello, head;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    hello = co_await fetch(c, make_request("GET", "/hello"));
    Request req = make_request("GET", "/headers?x=1");
    req.head.headers.add("x-custom", "v1");
    req.head.headers.add("connection", "close");        // connection-specific: not sent
    req.head.headers.add("transfer-encoding", "chunked");  // likewise
    req.head.headers.add("te", "trailers");
    head = co_await fetch(c, std::move(req));
  }));
  EXPECT_EQ(hello.error, "");
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello world");
  EXPECT_EQ(hello.headers.get("content-type"), "text/plain; charset=utf-8");

  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.get("x-method"), "GET");
  EXPECT_EQ(head.headers.get("x-scheme"), "http");
  EXPECT_EQ(head.headers.get("x-authority"), "example.test");
  EXPECT_EQ(head.headers.get("x-path"), "/headers?x=1");
  EXPECT_EQ(head.headers.get("x-version"), "HTTP/2");
  EXPECT_EQ(head.headers.get("x-stream-id"), "3");
  EXPECT_EQ(head.headers.get("x-h-x-custom"), "v1");
  EXPECT_EQ(head.headers.get("x-h-te"), "trailers");
  EXPECT_FALSE(head.headers.contains("x-h-connection"));
  EXPECT_FALSE(head.headers.contains("x-h-transfer-encoding"));
  EXPECT_EQ(server.counters().streams_opened_total.load(), 2u);
  EXPECT_EQ(server.counters().malformed_headers_total.load(), 0u);
}

TEST(H2Session, ManySequentialRequestsOnOneConnection) {
  ServerThread server;
  int ok = 0;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    for (int i = 0; i < 300; ++i) {
      auto got = co_await fetch(c, make_request("GET", "/hello"));
      if (got.status == 200 && got.body == "hello world") ++ok;
    }
  }));
  EXPECT_EQ(ok, 300);
  EXPECT_EQ(server.counters().connections_total.load(), 1u);
}

TEST(H2Session, LargeBodyStreamsBothWaysThroughFlowControl) {
  // 8 MiB up and back down while both directions are in flight: far more than the 64 KiB
  // stream and 1 MiB connection windows, so it only completes if windows reopen as the
  // bodies are consumed on both sides.
  ServerThread server;
  constexpr size_t kSize = 8 << 20;
  Got got;
  SessionStats stats;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    got = co_await fetch(c, make_request("POST", "/echo", std::make_unique<GeneratedBody>(kSize)));
    stats = c.stats();
  }));
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.status, 200);
  ASSERT_EQ(got.body.size(), kSize);
  EXPECT_EQ(got.body, GeneratedBody::expected(kSize));
  // The client's receive window grew because it kept up, and never past the cap.
  EXPECT_GT(stats.window_grows, 0u);
  EXPECT_EQ(stats.max_stream_window, 1u << 20);
  EXPECT_LE(stats.max_stream_buffered, size_t{1} << 20);
}

TEST(H2Session, ServerReadsWholeUploadBeforeAnswering) {
  ServerThread server;
  constexpr size_t kSize = 3 << 20;
  Got got;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    got = co_await fetch(c, make_request("POST", "/sink", std::make_unique<GeneratedBody>(kSize)));
  }));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, sink_answer(kSize));
}

TEST(H2Session, WindowOpensOnlyAsTheConsumerReads) {
  // The service holds the request without reading its body: the client may send exactly one
  // initial stream window (64 KiB) and must then stall until the service reads.
  ServerThread server;
  constexpr size_t kSize = 1 << 20;
  uint64_t sent_while_held = 0;
  Got got;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    const uint64_t before = c.stats().bytes_sent;
    bool done = false;
    net::asio::co_spawn(
        co_await net::asio::this_coro::executor,
        [&]() -> awaitable<void> {
          got = co_await fetch(c, make_request("POST", "/hold-sink",
                                               std::make_unique<GeneratedBody>(kSize)));
          done = true;
        },
        net::asio::detached);
    // Wait for the window's worth to go out, then give the client time to (wrongly) send more.
    co_await eventually([&] { return c.stats().bytes_sent - before >= 65536; }, 10s);
    co_await sleep_for(200ms);
    sent_while_held = c.stats().bytes_sent - before;
    server.release();
    co_await eventually([&] { return done; }, 20s);
  }));
  // 65536 bytes of DATA plus frame headers and the request HEADERS.
  EXPECT_GE(sent_while_held, 65536u);
  EXPECT_LE(sent_while_held, 65536u + 1024u);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, sink_answer(kSize));
}

TEST(H2Session, UnreadRequestBodiesDoNotLeakConnectionWindow) {
  // /hello answers without reading the upload: the server resets the rest of each upload
  // (NO_ERROR) and must give back the connection window for whatever was buffered, or the
  // later requests would stall once 1 MiB had been leaked.
  ServerThread server;
  int ok = 0;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    for (int i = 0; i < 12; ++i) {
      auto got = co_await fetch(
          c, make_request("POST", "/hello", std::make_unique<GeneratedBody>(300 * 1024)));
      if (got.status == 200 && got.body == "hello world") ++ok;
    }
    auto last = co_await fetch(c, make_request("POST", "/sink",
                                               std::make_unique<GeneratedBody>(2 << 20)));
    if (last.body == sink_answer(2 << 20)) ++ok;
  }));
  EXPECT_EQ(ok, 13);
}

TEST(H2Session, TrailersTravelBothWays) {
  ServerThread server;
  Got got;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    auto body = std::make_unique<GeneratedBody>(100000, 16384,
                                                Headers{{"x-checksum", "abc"}, {"x-n", "1"}});
    got = co_await fetch(c, make_request("POST", "/echo", std::move(body)));
  }));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, GeneratedBody::expected(100000));
  EXPECT_EQ(got.trailers.get("x-checksum"), "abc");
  EXPECT_EQ(got.trailers.get("x-n"), "1");
  EXPECT_EQ(got.trailers.size(), 2u);
}

TEST(H2Session, HundredConcurrentStreams) {
  // /gate answers only once 100 requests are inside the service at the same time.
  ServerThread server;
  int ok = 0;
  SessionStats stats;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    auto ex = co_await net::asio::this_coro::executor;
    int done = 0;
    for (int i = 0; i < 100; ++i) {
      net::asio::co_spawn(
          ex,
          [&]() -> awaitable<void> {
            auto got = co_await fetch(c, make_request("GET", "/gate"));
            if (got.status == 200 && got.body == "100") ++ok;
            ++done;
          },
          net::asio::detached);
    }
    co_await eventually([&] { return done == 100; }, 30s);
    stats = c.stats();
  }));
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(stats.max_open_streams, 100u);
}

TEST(H2Session, RequestsQueueWhenThePeerLimitIsReached) {
  ServerThread::Options options;
  options.settings.max_concurrent_streams = 10;
  ServerThread server(options);
  server.run_on_server([&] { server.service().gate_target = 10; });
  int ok = 0;
  size_t max_queued = 0;
  SessionStats stats;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    co_await fetch(c, make_request("GET", "/hello"));  // SETTINGS exchanged
    auto ex = co_await net::asio::this_coro::executor;
    int done = 0;
    for (int i = 0; i < 40; ++i) {
      net::asio::co_spawn(
          ex,
          [&]() -> awaitable<void> {
            auto got = co_await fetch(c, make_request("GET", "/gate"));
            if (got.status == 200) ++ok;
            ++done;
          },
          net::asio::detached);
    }
    co_await eventually(
        [&] {
          max_queued = std::max(max_queued, c.queued_requests());
          return done == 40;
        },
        30s);
    stats = c.stats();
  }));
  EXPECT_EQ(ok, 40);
  EXPECT_EQ(stats.max_open_streams, 10u);
  EXPECT_GT(max_queued, 0u);
  EXPECT_EQ(server.counters().streams_refused_total.load(), 0u);
}

TEST(H2Session, FailsFastWhenQueueingIsDisabled) {
  ServerThread::Options options;
  options.settings.max_concurrent_streams = 10;
  ServerThread server(options);
  server.run_on_server([&] { server.service().gate_target = 10; });
  H2Settings client_settings;
  client_settings.max_pending_requests = 0;
  int ok = 0, busy = 0, busy_retryable = 0;
  ASSERT_TRUE(run_client(
      server.port(),
      [&](ClientSession& c) -> awaitable<void> {
        co_await fetch(c, make_request("GET", "/hello"));
        auto ex = co_await net::asio::this_coro::executor;
        int done = 0;
        for (int i = 0; i < 15; ++i) {
          net::asio::co_spawn(
              ex,
              [&]() -> awaitable<void> {
                auto r = co_await c.send(make_request("GET", "/gate"));
                if (r) {
                  auto all = co_await read_all(*r->body, 100);
                  if (r->head.status == 200 && all) ++ok;
                } else if (r.error().kind == SendError::Kind::kBusy) {
                  ++busy;
                  if (r.error().retryable()) ++busy_retryable;
                }
                ++done;
              },
              net::asio::detached);
        }
        co_await eventually([&] { return done == 15; }, 30s);
      },
      client_settings));
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(busy, 5);
  EXPECT_EQ(busy_retryable, 5);
}

TEST(H2Session, GrpcStyleRequestWithTrailers) {
  ServerThread server;
  Got echo, failed;
  bool trailers_only_body_empty = false;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    const std::string message = std::string("\x00\x00\x00\x00\x05", 5) + "hello";
    Request req = make_request("POST", "/grpc/echo", make_buffered_body(message));
    req.head.headers.add("content-type", "application/grpc+proto");
    req.head.headers.add("te", "trailers");
    req.head.headers.add("grpc-timeout", "1500m");
    echo = co_await fetch(c, std::move(req));

    Request fail = make_request("POST", "/grpc/fail", make_buffered_body(message));
    fail.head.headers.add("content-type", "application/grpc");
    auto r = co_await c.send(std::move(fail));
    if (r) {
      failed.status = r->head.status;
      failed.headers = r->head.headers;
      trailers_only_body_empty = r->body->is_empty();
      auto all = co_await read_all(*r->body, 100);
      if (all) failed.body = all->data;
    }
  }));
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(echo.headers.get("x-timeout-ms"), "1500");
  EXPECT_EQ(echo.body, std::string("\x00\x00\x00\x00\x05hello", 10));
  EXPECT_EQ(echo.trailers.get("grpc-status"), "0");
  EXPECT_EQ(echo.trailers.get("grpc-message"), "ok");

  EXPECT_EQ(failed.status, 200);
  EXPECT_EQ(failed.headers.get("grpc-status"), "14");
  EXPECT_EQ(failed.headers.get("grpc-message"), "no endpoints: 100%25 down%0A");
  EXPECT_TRUE(trailers_only_body_empty);  // one HEADERS frame with END_STREAM
  EXPECT_EQ(failed.body, "");
}

TEST(H2Session, HeadResponseHasNoBody) {
  ServerThread server;
  Got got;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    got = co_await fetch(c, make_request("HEAD", "/big?n=5000"));
  }));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "");
  EXPECT_EQ(got.error, "");
}

TEST(H2Session, DroppingAResponseBodyResetsOnlyThatStream) {
  ServerThread server;
  std::string first_chunk_error = "unset";
  Got after;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    {
      auto r = co_await c.send(make_request("GET", "/big?n=67108864"));
      if (r) {
        auto chunk = co_await r->body->next();
        first_chunk_error = chunk ? "" : to_string(chunk.error());
      }
    }  // the body is dropped here: RST_STREAM(CANCEL)
    after = co_await fetch(c, make_request("GET", "/hello"));
    co_await eventually(
        [&] { return server.counters().streams_reset_by_peer_total.load() == 1; }, 5s);
  }));
  EXPECT_EQ(first_chunk_error, "");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "hello world");
  EXPECT_EQ(server.counters().streams_reset_by_peer_total.load(), 1u);
}

TEST(H2Session, CancelledSendResetsTheStreamAndCancelsTheService) {
  ServerThread server;
  bool timer_won = false;
  bool service_cancelled = false;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    using namespace net::asio::experimental::awaitable_operators;
    auto result = co_await (c.send(make_request("GET", "/hold")) || sleep_for(200ms));
    timer_won = result.index() == 1;
    service_cancelled = co_await eventually(
        [&] { return server.service().cancelled.load() == 1; }, 5s);
  }));
  EXPECT_TRUE(timer_won);
  EXPECT_TRUE(service_cancelled);
  EXPECT_EQ(server.counters().streams_reset_by_peer_total.load(), 1u);
}

TEST(H2Session, GracefulShutdownFinishesInFlightStreams) {
  ServerThread::Options options;
  options.settings.graceful_shutdown_delay = 50ms;
  ServerThread server(options);
  Got held;
  bool saw_goaway = false, unusable = false, closed_by_server = false;
  std::string late_error;
  bool late_retryable = false;
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
    server.shutdown_sessions();
    saw_goaway = co_await eventually([&] { return c.goaway_received(); }, 5s);
    unusable = !c.is_usable();
    auto late = co_await c.send(make_request("GET", "/hello"));
    if (!late) {
      late_error = to_string(late.error().kind);
      late_retryable = late.error().retryable();
    }
    co_await sleep_for(100ms);  // past the final GOAWAY: the held stream is still served
    server.release();
    co_await eventually([&] { return done; }, 5s);
    closed_by_server = co_await eventually([&] { return c.is_closed(); }, 5s);
  }));
  EXPECT_TRUE(saw_goaway);
  EXPECT_TRUE(unusable);
  EXPECT_EQ(late_error, "unavailable");
  EXPECT_TRUE(late_retryable);
  EXPECT_EQ(held.status, 200);
  EXPECT_EQ(held.body, "released");
  EXPECT_TRUE(closed_by_server);
  ASSERT_TRUE(server.wait_sessions_done());  // the server may still be lingering for our FIN
  EXPECT_EQ(server.last_close_reason(), CloseReason::kGoaway);
}

TEST(H2Session, ServerAcceptsAPeekedPreface) {
  ServerThread::Options options;
  options.peek_preface = true;
  ServerThread server(options);
  Got got;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    got = co_await fetch(c, make_request("GET", "/hello"));
  }));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hello world");
}

TEST(H2Session, ClientReportsConnectionLossToPendingRequests) {
  ServerThread server;
  std::string error;
  bool unusable_after = false;
  ASSERT_TRUE(run_client(server.port(), [&](ClientSession& c) -> awaitable<void> {
    auto ex = co_await net::asio::this_coro::executor;
    bool done = false;
    net::asio::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          auto r = co_await c.send(make_request("GET", "/hold"));
          error = r ? "ok" : to_string(r.error().kind);
          done = true;
        },
        net::asio::detached);
    co_await eventually([&] { return server.service().calls.load() == 1; }, 5s);
    server.stop();
    co_await eventually([&] { return done; }, 5s);
    unusable_after = !c.is_usable();
  }));
  EXPECT_EQ(error, "connection_lost");
  EXPECT_TRUE(unusable_after);
}

}  // namespace
}  // namespace trellis::http::h2
