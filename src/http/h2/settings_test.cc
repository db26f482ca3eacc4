#include "http/h2/settings.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace trellis::http::h2 {
namespace {

TEST(H2Settings, DefaultsMatchTheSecurityReference) {
  const H2Settings s;
  EXPECT_EQ(s.max_concurrent_streams, 100u);
  EXPECT_EQ(s.initial_stream_window, 64u * 1024);
  EXPECT_EQ(s.connection_window, 1024u * 1024);
  EXPECT_EQ(s.max_header_list_size, 64u * 1024);
  EXPECT_EQ(s.header_table_size, 4096u);
  EXPECT_EQ(s.max_frame_size, 16384u);
  EXPECT_EQ(s.max_outbound_frames, 10000u);
  EXPECT_EQ(s.max_outbound_control_frames, 1000u);
  EXPECT_EQ(s.rapid_reset_percent, 50u);
  EXPECT_EQ(s.stream_idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(s.idle_timeout, std::chrono::hours(1));
  // The control bucket must trip before nghttp2's ACK cap for a burst read in one go.
  EXPECT_LT(s.control_frame_burst, s.max_outbound_control_frames);
}

TEST(H2Counters, ForEachVisitsEveryCounterOnceInOrder) {
  H2Counters counters;
  bump(counters.rapid_reset_total);
  bump(counters.rapid_reset_total);
  bump(counters.streams_opened_total);
  std::map<std::string, uint64_t> seen;
  std::string first;
  size_t visits = 0;
  counters.for_each([&](const char* name, const char* help, uint64_t value) {
    if (visits++ == 0) first = name;
    EXPECT_NE(std::string(help), "") << name;
    EXPECT_TRUE(seen.emplace(name, value).second) << "duplicate " << name;
  });
  EXPECT_EQ(visits, seen.size());
  EXPECT_EQ(first, "connections_total");
  EXPECT_EQ(seen.at("rapid_reset_total"), 2u);
  EXPECT_EQ(seen.at("streams_opened_total"), 1u);
  EXPECT_EQ(seen.at("header_flood_total"), 0u);
  EXPECT_EQ(seen.at("outbound_flood_total"), 0u);
  for (const auto& [name, value] : seen) {
    EXPECT_EQ(name.substr(name.size() - 6), "_total") << name;  // Prometheus counter naming
  }
}

}  // namespace
}  // namespace trellis::http::h2
