#include "base/strings.h"

#include <gtest/gtest.h>

namespace trellis::base {
namespace {

TEST(Strings, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(Strings, ClosestMatchFindsTyposAndPrefixes) {
  const std::vector<std::string> fields = {"interval", "threshold", "maxWeight", "stepWeight"};
  EXPECT_EQ(closest_match("intervl", fields), "interval");
  EXPECT_EQ(closest_match("stepweight", fields), "stepWeight");
  EXPECT_EQ(closest_match("frobnicate", fields), "");
  const std::vector<std::string> kinds = {"Server", "ServerAuthorization", "HTTPRoute"};
  EXPECT_EQ(closest_match("ServerAuth", kinds), "ServerAuthorization");
  EXPECT_EQ(closest_match("Servr", kinds), "Server");
}

TEST(Strings, SplitTrimJoin) {
  auto parts = split("a,b,,c", ',');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(trim("  x y \t"), "x y");
  EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
  EXPECT_TRUE(starts_with("linkerd.io/inject", "linkerd.io/"));
  EXPECT_TRUE(ends_with("networking.istio.io", "istio.io"));
  EXPECT_EQ(to_lower("GET"), "get");
}

TEST(Strings, QuoteEscapesAndBounds) {
  EXPECT_EQ(quote("web"), "\"web\"");
  EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote(std::string("x\n\0y", 4)), "\"x\\x0a\\x00y\"");
  EXPECT_EQ(quote(std::string(300, 'a')), "\"" + std::string(200, 'a') + "...\"");
}

}  // namespace
}  // namespace trellis::base

namespace trellis::base {
TEST(Strings, IequalsComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("content-length", "content-lengt"));
  EXPECT_FALSE(iequals("a-b", "a_b"));
  EXPECT_EQ(to_lower("GET /A"), "get /a");
}
}  // namespace trellis::base
