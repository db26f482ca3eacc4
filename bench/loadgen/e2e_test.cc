// Whole runs against in-process servers on loopback. Timing is real here, so the assertions are
// about counts and kinds, never about how fast anything was: an open-loop run must send exactly
// the planned requests (the backlog rule makes that independent of machine load), and every
// request the server saw must be accounted for by the client.

#include <gtest/gtest.h>

#include "loadgen/report.h"
#include "loadgen/runner.h"
#include "loadgen/test_servers.h"

namespace trellis::bench::loadgen {
namespace {

using testing::Http1Server;
using testing::Http2Server;

Report run_args(const std::vector<std::string>& args) {
  auto options = parse_options(args);
  EXPECT_TRUE(options.ok()) << (options.ok() ? "" : options.error().message);
  if (!options.ok()) return Report{};
  auto report = run(*options);
  EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error());
  if (!report.ok()) return Report{};
  EXPECT_TRUE(report->failures.empty());
  return std::move(*report);
}

// What must hold after any run.
void expect_consistent(const Report& r) {
  const Recorder& t = r.totals;
  EXPECT_EQ(t.sent(), t.completed()) << "every sent request finished one way or another";
  if (!r.options.closed_loop()) {
    EXPECT_EQ(t.planned(), t.sent() + t.unsent());
  }
  const uint64_t in_latency = r.options.include_errors ? t.completed() : t.count(Outcome::kOk);
  EXPECT_EQ(t.latency().count(), in_latency);
  EXPECT_EQ(t.send_delay().count(), t.sent());
}

TEST(EndToEnd, Http1OpenLoopSendsExactlyThePlan) {
  Http1Server server({});
  const Report r = run_args({"--rate", "400", "--duration", "500ms", "--warmup", "100ms",
                             "-c", "4", "-t", "2", "--timeout", "3s", server.url("/x")});
  expect_consistent(r);
  const Recorder& t = r.totals;
  EXPECT_EQ(t.planned(), 200u);
  EXPECT_EQ(t.sent(), 200u);
  EXPECT_EQ(t.unsent(), 0u);
  EXPECT_EQ(t.count(Outcome::kOk), 200u);
  EXPECT_EQ(t.errors(), 0u);
  EXPECT_EQ(t.warmup_requests(), 40u);
  EXPECT_EQ(t.connect_errors(), 0u);
  EXPECT_EQ(t.connections_opened(), 4u);  // keep-alive: one connection each, all run long
  EXPECT_EQ(server.requests(), 240u);
  EXPECT_GT(t.latency().min(), 0u);
  EXPECT_GT(r.achieved_rps(), 0.0);
}

TEST(EndToEnd, Http1ClosedLoopWithChunkedResponsesAndABody) {
  Http1Server server({.body = "0123456789abcdef0123456789", .chunked = true});
  const Report r = run_args({"--closed", "--duration", "300ms", "-c", "2", "--method", "POST",
                             "--body", "payload", server.url()});
  expect_consistent(r);
  const Recorder& t = r.totals;
  EXPECT_GT(t.sent(), 0u);
  EXPECT_EQ(t.count(Outcome::kOk), t.sent());
  EXPECT_EQ(t.errors(), 0u);
  EXPECT_EQ(t.connections_opened(), 2u);
  EXPECT_EQ(server.requests(), t.sent() + t.warmup_requests());
}

TEST(EndToEnd, Http1NonSuccessIsCountedApartFromLatency) {
  Http1Server server({.status = 503});
  Report r = run_args({"--rate", "200", "--duration", "250ms", "-c", "2", server.url()});
  expect_consistent(r);
  EXPECT_EQ(r.totals.sent(), 50u);
  EXPECT_EQ(r.totals.count(Outcome::kStatus), 50u);
  EXPECT_EQ(r.totals.count(Outcome::kOk), 0u);
  EXPECT_EQ(r.totals.statuses(), (std::map<int, uint64_t>{{503, 50}}));
  EXPECT_EQ(r.totals.latency().count(), 0u);
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["errors"]["status"], 50);
  EXPECT_EQ(j["status_codes"]["503"], 50);

  r = run_args({"--rate", "200", "--duration", "250ms", "-c", "2", "--include-errors",
                server.url()});
  expect_consistent(r);
  EXPECT_EQ(r.totals.latency().count(), 50u);
}

TEST(EndToEnd, Http1TimeoutsWhenTheServerNeverAnswers) {
  Http1Server server({.respond = false});
  const Report r = run_args({"--rate", "100", "--duration", "200ms", "-c", "1", "--timeout",
                             "100ms", server.url()});
  expect_consistent(r);
  const Recorder& t = r.totals;
  EXPECT_EQ(t.planned(), 20u);
  EXPECT_GE(t.count(Outcome::kTimeout), 1u);
  EXPECT_EQ(t.count(Outcome::kTimeout), t.sent());
  EXPECT_EQ(t.count(Outcome::kOk), 0u);
  // One request in flight, each held for the whole timeout: most of the plan is never sent.
  EXPECT_GT(t.unsent(), 0u);
  EXPECT_GE(t.connections_opened(), t.sent());  // a timed-out HTTP/1 connection is replaced
}

TEST(EndToEnd, ConnectErrorsWhenNothingListens) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_port()) + "/";
  const Report r = run_args({"--rate", "100", "--duration", "200ms", "-c", "2", "--timeout",
                             "100ms", url});
  expect_consistent(r);
  EXPECT_GE(r.totals.connect_errors(), 2u);
  EXPECT_EQ(r.totals.connections_opened(), 0u);
  EXPECT_EQ(r.totals.sent(), 0u);
  EXPECT_EQ(r.totals.unsent(), 20u);
  EXPECT_EQ(r.totals.planned(), 20u);
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["errors"]["connect"], r.totals.connect_errors());
  EXPECT_EQ(j["requests"]["unsent"], 20);
}

TEST(EndToEnd, H2cOpenLoopSendsExactlyThePlan) {
  Http2Server server({});
  const Report r = run_args({"--protocol", "h2c", "--rate", "400", "--duration", "500ms",
                             "-c", "2", "-m", "4", "--timeout", "3s", server.url("/h2")});
  expect_consistent(r);
  const Recorder& t = r.totals;
  EXPECT_EQ(t.planned(), 200u);
  EXPECT_EQ(t.count(Outcome::kOk), 200u);
  EXPECT_EQ(t.errors(), 0u);
  EXPECT_EQ(t.connections_opened(), 2u);
  EXPECT_EQ(server.requests(), 200u);
}

TEST(EndToEnd, H2cClosedLoopMultiplexesStreams) {
  Http2Server server({});
  const Report r = run_args({"--protocol", "h2c", "--closed", "--duration", "300ms", "-c", "1",
                             "-m", "8", server.url()});
  expect_consistent(r);
  const Recorder& t = r.totals;
  EXPECT_GT(t.sent(), 8u);
  EXPECT_EQ(t.count(Outcome::kOk), t.sent());
  EXPECT_EQ(t.errors(), 0u);
  EXPECT_EQ(server.requests(), t.sent() + t.warmup_requests());
  EXPECT_GT(server.max_concurrent_streams(), 1u);
  EXPECT_LE(server.max_concurrent_streams(), 8u);  // the in-flight bound holds
}

TEST(EndToEnd, H2cNonSuccessStatus) {
  Http2Server server({.status = 404});
  const Report r = run_args({"--protocol", "h2c", "--rate", "200", "--duration", "100ms",
                             "-c", "1", server.url()});
  expect_consistent(r);
  EXPECT_EQ(r.totals.count(Outcome::kStatus), 20u);
  EXPECT_EQ(r.totals.statuses(), (std::map<int, uint64_t>{{404, 20}}));
}

TEST(EndToEnd, GrpcUnaryCallsSucceedOnGrpcStatusZero) {
  Http2Server server({});
  const Report r = run_args({"--protocol", "grpc", "--rate", "200", "--duration", "250ms",
                             "-c", "2", "--grpc-body-hex", "0a03616263",
                             server.url("/demo.Echo/Say")});
  expect_consistent(r);
  EXPECT_EQ(r.totals.count(Outcome::kOk), 50u);
  EXPECT_EQ(r.totals.errors(), 0u);
  EXPECT_EQ(server.last_grpc_body(), std::string("\0\0\0\0\x05\x0a\x03" "abc", 10));
  EXPECT_EQ(server.last_te(), "trailers");
}

TEST(EndToEnd, GrpcNonZeroStatusIsAnError) {
  Http2Server server({.grpc_status = 14});  // UNAVAILABLE
  const Report r = run_args({"--protocol", "grpc", "--rate", "200", "--duration", "100ms",
                             "-c", "1", server.url("/demo.Echo/Say")});
  expect_consistent(r);
  EXPECT_EQ(r.totals.count(Outcome::kGrpcStatus), 20u);
  EXPECT_EQ(r.totals.count(Outcome::kOk), 0u);
  EXPECT_EQ(r.totals.latency().count(), 0u);
}

TEST(EndToEnd, H2cAgainstAnHttp1ServerIsAProtocolFailureNotAHang) {
  Http1Server server({});
  const Report r = run_args({"--protocol", "h2c", "--rate", "100", "--duration", "100ms",
                             "-c", "1", "--timeout", "500ms", server.url()});
  expect_consistent(r);
  EXPECT_EQ(r.totals.count(Outcome::kOk), 0u);
  EXPECT_EQ(r.totals.planned(), 10u);
}

}  // namespace
}  // namespace trellis::bench::loadgen
