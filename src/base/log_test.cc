#include "base/log.h"

#include <gtest/gtest.h>

namespace trellis::base::log {
namespace {

TEST(Log, LevelsRoundTrip) {
  for (const char* l : {"trace", "debug", "info", "warn", "error", "off"}) {
    ASSERT_TRUE(set_level(l));
    EXPECT_EQ(level(), l);
  }
  EXPECT_TRUE(set_level("warning"));
  EXPECT_EQ(level(), "warn");
  EXPECT_FALSE(set_level("loud"));
  EXPECT_EQ(level(), "warn");
  set_level("info");
}

}  // namespace
}  // namespace trellis::base::log
