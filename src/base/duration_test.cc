#include "base/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace trellis::base {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(GoDuration, ParsesEveryUnitAndCombination) {
  EXPECT_EQ(*parse_go_duration("5s"), seconds(5));
  EXPECT_EQ(*parse_go_duration("1m30s"), seconds(90));
  EXPECT_EQ(*parse_go_duration("100ms"), milliseconds(100));
  EXPECT_EQ(*parse_go_duration("1h"), hours(1));
  EXPECT_EQ(*parse_go_duration("1.5h"), minutes(90));
  EXPECT_EQ(*parse_go_duration("300us"), microseconds(300));
  EXPECT_EQ(*parse_go_duration("300\xC2\xB5s"), microseconds(300));
  EXPECT_EQ(*parse_go_duration("7ns"), nanoseconds(7));
  EXPECT_EQ(*parse_go_duration("0"), nanoseconds(0));
  EXPECT_EQ(*parse_go_duration("-1.5s"), milliseconds(-1500));
  EXPECT_EQ(*parse_go_duration("2h45m0.5s"), hours(2) + minutes(45) + milliseconds(500));
  EXPECT_EQ(*parse_go_duration(".5s"), milliseconds(500));
}

TEST(GoDuration, RejectsWithAClearReason) {
  EXPECT_EQ(parse_go_duration("5").error(),
            "missing unit in duration \"5\" (use one of ns, us, ms, s, m, h, e.g. \"5s\")");
  EXPECT_EQ(parse_go_duration("5x").error(),
            "unknown unit \"x\" in duration \"5x\" (use one of ns, us, ms, s, m, h)");
  EXPECT_EQ(parse_go_duration("").error(), "empty duration");
  EXPECT_EQ(parse_go_duration("s").error(), "invalid duration \"s\"");
  EXPECT_EQ(parse_go_duration("-").error(), "invalid duration \"-\"");
  EXPECT_EQ(parse_go_duration("1d").error(),
            "unknown unit \"d\" in duration \"1d\" (use one of ns, us, ms, s, m, h)");
  EXPECT_FALSE(parse_go_duration("9999999999h").ok());
  EXPECT_FALSE(parse_go_duration("99999999999999999999s").ok());
  EXPECT_FALSE(parse_go_duration("1s 2s").ok());
}

TEST(GoDuration, FormatsLikeGo) {
  EXPECT_EQ(format_go_duration(seconds(90)), "1m30s");
  EXPECT_EQ(format_go_duration(milliseconds(100)), "100ms");
  EXPECT_EQ(format_go_duration(nanoseconds(0)), "0s");
  EXPECT_EQ(format_go_duration(hours(24)), "24h0m0s");
  EXPECT_EQ(format_go_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_go_duration(microseconds(250)), "250us");
  EXPECT_EQ(format_go_duration(-seconds(5)), "-5s");
}

TEST(GoDuration, RoundTrips) {
  for (const char* text : {"1m30s", "100ms", "5s", "1h0m0s", "2.5s", "10us", "3ns"}) {
    auto d = parse_go_duration(text);
    ASSERT_TRUE(d.ok()) << text;
    EXPECT_EQ(*parse_go_duration(format_go_duration(*d)), *d) << text;
  }
}

}  // namespace
}  // namespace trellis::base
