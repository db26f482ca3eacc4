#include "cli/identity.h"

#include <gtest/gtest.h>

#include "cli/cert_info.h"

namespace trellis::cli {
namespace {

TEST(ProxyAdminAddress, Forms) {
  EXPECT_EQ(proxy_admin_address("127.0.0.1:4191", 4191), "127.0.0.1:4191");
  EXPECT_EQ(proxy_admin_address("localhost:9000", 4191), "localhost:9000");
  EXPECT_EQ(proxy_admin_address("198.18.0.7", 4191), "198.18.0.7:4191");
  EXPECT_EQ(proxy_admin_address("198.18.0.7", 5000), "198.18.0.7:5000");
  EXPECT_EQ(proxy_admin_address("fd00::7", 4191), "[fd00::7]:4191");
  EXPECT_EQ(proxy_admin_address("[fd00::7]:4191", 1), "[fd00::7]:4191");
  EXPECT_EQ(proxy_admin_address("web-5d8f7c9b4-x2k", 4191), "");  // a pod name
}

TEST(CertInfo, Rfc3339RoundTrip) {
  const auto t = std::chrono::system_clock::from_time_t(1'900'000'000);
  EXPECT_EQ(format_rfc3339(t), "2030-03-17T17:46:40Z");
  EXPECT_EQ(parse_rfc3339("2030-03-17T17:46:40Z"), t);
  EXPECT_EQ(parse_rfc3339("2030-03-17T17:46:40.123Z"), t);
  EXPECT_EQ(parse_rfc3339("2030-03-17T19:46:40+02:00"), t);
  EXPECT_EQ(parse_rfc3339("2030-03-17T16:46:40-01:00"), t);
  EXPECT_FALSE(parse_rfc3339("2030-03-17T17:46:40"));
  EXPECT_FALSE(parse_rfc3339("2030-13-17T17:46:40Z"));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_rfc3339("2030-03-17T17:46:40Zjunk"));
}

TEST(CertInfo, FormatRemaining) {
  using std::chrono::seconds;
  EXPECT_EQ(format_remaining(seconds(86400 * 365)), "365 days");
  EXPECT_EQ(format_remaining(seconds(86400)), "1 day");
  EXPECT_EQ(format_remaining(seconds(7200)), "2 hours");
  EXPECT_EQ(format_remaining(seconds(-90)), "1 minute");
  EXPECT_EQ(format_remaining(seconds(5)), "5 seconds");
}

}  // namespace
}  // namespace trellis::cli
