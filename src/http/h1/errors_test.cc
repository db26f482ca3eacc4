// ParseError names are metric label values: unique, stable snake_case. One mapping to statuses.

#include <gtest/gtest.h>

#include <set>

#include "http/h1/errors.h"

namespace trellis::http::h1 {
namespace {

TEST(ParseErrorNames, UniqueSnakeCase) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kParseErrorCount; ++i) {
    const std::string_view name = to_string(static_cast<ParseError>(i));
    EXPECT_NE(name, "unknown") << i;
    EXPECT_TRUE(names.insert(name).second) << name;
    ASSERT_FALSE(name.empty());
    EXPECT_NE(name.front(), '_');
    for (char c : name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << name;
    }
  }
  EXPECT_EQ(names.size(), kParseErrorCount);
}

TEST(ParseErrorNames, SpotCheckStableNames) {
  EXPECT_EQ(to_string(ParseError::kObsFold), "obs_fold");
  EXPECT_EQ(to_string(ParseError::kClTeConflict), "cl_te_conflict");
  EXPECT_EQ(to_string(ParseError::kBareLfInChunkLine), "bare_lf_in_chunk_line");
  EXPECT_EQ(to_string(ParseError::kHeaderReadTimeout), "header_read_timeout");
}

TEST(ParseErrorStatus, DownstreamMapping) {
  EXPECT_EQ(http_status(ParseError::kHeaderBlockTooLarge), 431);
  EXPECT_EQ(http_status(ParseError::kTooManyHeaders), 431);
  EXPECT_EQ(http_status(ParseError::kHeaderLineTooLong), 431);
  EXPECT_EQ(http_status(ParseError::kRequestLineTooLong), 414);
  EXPECT_EQ(http_status(ParseError::kHeaderReadTimeout), 408);
  EXPECT_EQ(http_status(ParseError::kUnsupportedVersion), 505);
  EXPECT_EQ(http_status(ParseError::kUnknownTransferCoding), 501);
  EXPECT_EQ(http_status(ParseError::kClTeConflict), 400);
  EXPECT_EQ(http_status(ParseError::kObsFold), 400);
  EXPECT_EQ(http_status(ParseError::kMissingHost), 400);
  size_t four_hundreds = 0;
  for (size_t i = 0; i < kParseErrorCount; ++i) {
    const int s = http_status(static_cast<ParseError>(i));
    EXPECT_TRUE(s == 400 || s == 408 || s == 414 || s == 431 || s == 501 || s == 505) << s;
    four_hundreds += s == 400;
  }
  EXPECT_EQ(four_hundreds, kParseErrorCount - 7);
}

TEST(ParseErrorStatus, UpstreamMapping) {
  for (size_t i = 0; i < kParseErrorCount; ++i) {
    const auto e = static_cast<ParseError>(i);
    EXPECT_EQ(upstream_http_status(e), e == ParseError::kHeaderReadTimeout ? 504 : 502);
  }
}

TEST(SerializeErrorNames, Stable) {
  EXPECT_EQ(to_string(SerializeError::kInvalidFieldValue), "invalid_field_value");
  EXPECT_EQ(to_string(SerializeError::kInvalidFraming), "invalid_framing");
  EXPECT_EQ(to_string(SerializeError::kForbiddenTrailerField), "forbidden_trailer_field");
}

}  // namespace
}  // namespace trellis::http::h1
