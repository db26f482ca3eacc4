#include "loadgen/recorder.h"

#include <gtest/gtest.h>

namespace trellis::bench::loadgen {
namespace {

using std::chrono::microseconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

Slot measured(uint64_t index, TimePoint at) { return Slot{index, at, true}; }

TEST(Recorder, ErrorsAreCountedByKindAndKeptOutOfTheLatency) {
  Recorder r;
  r.on_sent(measured(0, kT0), kT0);
  r.on_done(measured(0, kT0), kT0 + microseconds(100), Outcome::kOk, 200);
  r.on_sent(measured(1, kT0), kT0);
  r.on_done(measured(1, kT0), kT0 + microseconds(5), Outcome::kStatus, 503);
  r.on_sent(measured(2, kT0), kT0);
  r.on_done(measured(2, kT0), kT0 + microseconds(7), Outcome::kStatus, 503);
  r.on_sent(measured(3, kT0), kT0);
  r.on_done(measured(3, kT0), kT0 + microseconds(9), Outcome::kStatus, 404);
  r.on_sent(measured(4, kT0), kT0);
  r.on_done(measured(4, kT0), kT0 + std::chrono::seconds(5), Outcome::kTimeout, 0);
  EXPECT_EQ(r.sent(), 5u);
  EXPECT_EQ(r.completed(), 5u);
  EXPECT_EQ(r.count(Outcome::kOk), 1u);
  EXPECT_EQ(r.errors(), 4u);
  EXPECT_EQ(r.count(Outcome::kStatus), 3u);
  EXPECT_EQ(r.count(Outcome::kTimeout), 1u);
  EXPECT_EQ((r.statuses()), (std::map<int, uint64_t>{{404, 1}, {503, 2}}));
  EXPECT_EQ(r.latency().count(), 1u);
  EXPECT_EQ(r.latency().max(), 100'000u);
  EXPECT_EQ(r.last_done(), kT0 + std::chrono::seconds(5));
}

TEST(Recorder, IncludeErrorsPutsThemInTheLatency) {
  Recorder r(/*include_errors=*/true);
  r.on_done(measured(0, kT0), kT0 + microseconds(100), Outcome::kOk, 200);
  r.on_done(measured(1, kT0), kT0 + microseconds(5), Outcome::kStatus, 503);
  r.on_done(measured(2, kT0), kT0 + microseconds(9), Outcome::kIo, 0);
  EXPECT_EQ(r.latency().count(), 3u);
  EXPECT_EQ(r.latency().min(), 5'000u);
}

TEST(Recorder, WarmupRequestsCountOnlyAsWarmup) {
  Recorder r;
  const Slot warm{0, kT0, false};
  r.on_sent(warm, kT0 + microseconds(3));
  r.on_done(warm, kT0 + microseconds(50), Outcome::kStatus, 500);
  EXPECT_EQ(r.warmup_requests(), 1u);
  EXPECT_EQ(r.sent(), 0u);
  EXPECT_EQ(r.completed(), 0u);
  EXPECT_TRUE(r.statuses().empty());
  EXPECT_EQ(r.latency().count(), 0u);
  EXPECT_EQ(r.send_delay().count(), 0u);
  EXPECT_EQ(r.last_done(), TimePoint{});
}

TEST(Recorder, SendDelayIsTheLatenessOfTheSend) {
  Recorder r;
  r.on_sent(measured(0, kT0), kT0 + microseconds(250));
  EXPECT_EQ(r.send_delay().max(), 250'000u);
}

TEST(Recorder, MergeAddsEverything) {
  Recorder a, b;
  a.add_planned(10);
  b.add_planned(5);
  a.on_sent(measured(0, kT0), kT0);
  a.on_done(measured(0, kT0), kT0 + microseconds(10), Outcome::kOk, 200);
  b.on_sent(measured(1, kT0), kT0);
  b.on_done(measured(1, kT0), kT0 + microseconds(20), Outcome::kStatus, 502);
  b.add_unsent(4);
  a.on_connect_error();
  b.on_connected();
  b.on_connected();
  a.merge(b);
  EXPECT_EQ(a.planned(), 15u);
  EXPECT_EQ(a.sent(), 2u);
  EXPECT_EQ(a.unsent(), 4u);
  EXPECT_EQ(a.count(Outcome::kOk), 1u);
  EXPECT_EQ(a.count(Outcome::kStatus), 1u);
  EXPECT_EQ(a.statuses().at(502), 1u);
  EXPECT_EQ(a.connect_errors(), 1u);
  EXPECT_EQ(a.connections_opened(), 2u);
  EXPECT_EQ(a.send_delay().count(), 2u);
  EXPECT_EQ(a.last_done(), kT0 + microseconds(20));
}

TEST(Recorder, OutcomeNamesAreStable) {
  EXPECT_EQ(to_string(Outcome::kOk), "ok");
  EXPECT_EQ(to_string(Outcome::kStatus), "status");
  EXPECT_EQ(to_string(Outcome::kGrpcStatus), "grpc_status");
  EXPECT_EQ(to_string(Outcome::kProtocol), "protocol");
  EXPECT_EQ(to_string(Outcome::kReset), "reset");
  EXPECT_EQ(to_string(Outcome::kTimeout), "timeout");
  EXPECT_EQ(to_string(Outcome::kIo), "io");
}

}  // namespace
}  // namespace trellis::bench::loadgen
