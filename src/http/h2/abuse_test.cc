#include "http/h2/abuse.h"

#include <gtest/gtest.h>

namespace trellis::http::h2 {
namespace {

using namespace std::chrono_literals;

const Clock::time_point kT0{};

TEST(H2TokenBucket, BurstThenRefillCappedAtBurst) {
  TokenBucket bucket(3, 2, kT0);
  EXPECT_TRUE(bucket.take(kT0));
  EXPECT_TRUE(bucket.take(kT0));
  EXPECT_TRUE(bucket.take(kT0));
  EXPECT_FALSE(bucket.take(kT0));
  EXPECT_FALSE(bucket.take(kT0 + 400ms));  // 0.8 tokens
  EXPECT_TRUE(bucket.take(kT0 + 500ms));   // 1.0
  EXPECT_FALSE(bucket.take(kT0 + 500ms));
  // A long pause refills to the burst, not beyond.
  const auto later = kT0 + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.take(later));
  EXPECT_FALSE(bucket.take(later));
}

TEST(H2AbuseGuard, PrematureResetsJudgedOnlyAfterMinimumStreams) {
  H2Settings s;
  s.rapid_reset_min_streams = 10;
  s.rapid_reset_percent = 50;
  AbuseGuard guard(s, kT0);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(guard.on_stream_opened());
  // 5 of 5 reset, but too few streams to judge.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(guard.on_premature_reset());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(guard.on_stream_opened());
  // 10 opened, 5 premature = exactly 50%: allowed. One more is over.
  EXPECT_EQ(guard.premature_resets(), 5u);
  EXPECT_EQ(guard.on_premature_reset(), Abuse::kRapidReset);
}

TEST(H2AbuseGuard, ResetRate) {
  H2Settings s;
  s.reset_burst = 2;
  s.resets_per_second = 1;
  AbuseGuard guard(s, kT0);
  EXPECT_FALSE(guard.on_reset(kT0));
  EXPECT_FALSE(guard.on_reset(kT0));
  EXPECT_EQ(guard.on_reset(kT0), Abuse::kRapidReset);
  EXPECT_FALSE(guard.on_reset(kT0 + 1s));
}

TEST(H2AbuseGuard, ControlFrameRate) {
  H2Settings s;
  s.control_frame_burst = 3;
  s.control_frames_per_second = 10;
  AbuseGuard guard(s, kT0);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(guard.on_control_frame(kT0));
  EXPECT_EQ(guard.on_control_frame(kT0), Abuse::kControlFlood);
  EXPECT_FALSE(guard.on_control_frame(kT0 + 100ms));
}

TEST(H2AbuseGuard, PriorityBudgetGrowsWithStreams) {
  H2Settings s;
  s.max_priority_frames_per_stream = 2;
  AbuseGuard guard(s, kT0);
  EXPECT_FALSE(guard.on_priority());
  EXPECT_FALSE(guard.on_priority());
  EXPECT_EQ(guard.on_priority(), Abuse::kPriorityFlood);  // 3 > 2 × (0 + 1)
  AbuseGuard guard2(s, kT0);
  guard2.on_stream_opened();
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(guard2.on_priority());
  EXPECT_EQ(guard2.on_priority(), Abuse::kPriorityFlood);  // 5 > 2 × (1 + 1)
}

TEST(H2AbuseGuard, WindowUpdateBudgetFollowsDataSent) {
  H2Settings s;
  s.max_window_updates_per_data_frame_sent = 10;
  AbuseGuard guard(s, kT0);
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(guard.on_window_update());
  EXPECT_EQ(guard.on_window_update(), Abuse::kWindowUpdateFlood);

  AbuseGuard busy(s, kT0);
  busy.on_stream_opened();
  busy.on_data_frame_sent();
  for (int i = 0; i < 112; ++i) ASSERT_FALSE(busy.on_window_update());  // 100 + 2 + 10
  EXPECT_EQ(busy.on_window_update(), Abuse::kWindowUpdateFlood);
}

TEST(H2AbuseGuard, ConsecutiveEmptyDataFrames) {
  H2Settings s;
  s.max_consecutive_empty_frames = 1;
  AbuseGuard guard(s, kT0);
  EXPECT_FALSE(guard.on_data_frame(true));
  EXPECT_FALSE(guard.on_data_frame(false));  // a payload ends the run
  EXPECT_FALSE(guard.on_data_frame(true));
  guard.on_headers();                         // so does a HEADERS frame
  EXPECT_FALSE(guard.on_data_frame(true));
  EXPECT_EQ(guard.on_data_frame(true), Abuse::kEmptyFrameFlood);
}

TEST(H2AbuseGuard, Names) {
  EXPECT_STREQ(to_string(Abuse::kRapidReset), "rapid_reset");
  EXPECT_STREQ(to_string(Abuse::kEmptyFrameFlood), "empty_frame_flood");
}

}  // namespace
}  // namespace trellis::http::h2
