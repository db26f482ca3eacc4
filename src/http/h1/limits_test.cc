// Every limit: exactly at the limit passes, one byte over fails with the limit's own error and
// status, and the failure happens as soon as the limit is crossed, before the line or the head
// is complete (a peer can never make us buffer more than the limit).

#include <gtest/gtest.h>

#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "http/h1/test_support.h"

namespace trellis::http::h1 {
namespace {

constexpr std::string_view kRequestLine = "GET / HTTP/1.1\r\n";
constexpr std::string_view kHost = "Host: a\r\n";

// A request head of exactly `total` bytes, padded with "X: vvv" fields of at most 10000 bytes.
std::string head_of_size(size_t total) {
  std::string out = std::string(kRequestLine) + std::string(kHost);
  size_t remaining = total - out.size() - 2;
  while (remaining > 0) {
    size_t piece = std::min<size_t>(remaining, 10000);
    if (remaining - piece > 0 && remaining - piece < 6) piece -= 6;
    out += "X: " + std::string(piece - 5, 'v') + "\r\n";
    remaining -= piece;
  }
  return out + "\r\n";
}

// The length of the shortest prefix of `input` the parser rejects (prefixes fed cumulatively
// to one parser), or 0 if none is rejected.
size_t first_failing_prefix(const std::string& input, const Limits& limits, ParseError* error) {
  RequestParser parser(limits);
  RequestHead head;
  for (size_t len = 0; len <= input.size(); ++len) {
    const ParseResult r = parser.parse(std::string_view(input).substr(0, len), head);
    if (r.is_error()) {
      *error = r.error();
      return len;
    }
  }
  return 0;
}

TEST(LimitsDefaults, AreTheDocumentedValues) {
  const Limits limits;
  EXPECT_EQ(limits.max_header_bytes, 64u * 1024);
  EXPECT_EQ(limits.max_header_count, 100u);
  EXPECT_EQ(limits.max_start_line, 8u * 1024);
  EXPECT_EQ(limits.max_header_line, 16u * 1024);
  EXPECT_EQ(limits.max_chunk_line, 2048u);
  EXPECT_EQ(limits.max_chunk_extension, 1024u);
}

TEST(LimitsHeaderBlock, ExactlyTheLimitIsAccepted) {
  const std::string input = head_of_size(64 * 1024);
  ASSERT_EQ(input.size(), 64u * 1024);
  RequestHead head;
  const ParseResult r = parse_request_head(input, head);
  ASSERT_TRUE(r.is_complete()) << to_string(r.error());
  EXPECT_EQ(r.consumed(), 64u * 1024);
}

TEST(LimitsHeaderBlock, OneByteOverIsRejectedWith431) {
  const std::string input = head_of_size(64 * 1024 + 1);
  RequestHead head;
  const ParseResult r = parse_request_head(input, head);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error(), ParseError::kHeaderBlockTooLarge);
  EXPECT_EQ(http_status(r.error()), 431);
}

TEST(LimitsHeaderBlock, RejectedWhenTheLimitIsCrossedNotWhenTheHeadEnds) {
  // An endless head: the error must come exactly at byte max+1.
  std::string input = std::string(kRequestLine) + std::string(kHost);
  while (input.size() < 70 * 1024) input += "X-Fill: " + std::string(1000, 'f') + "\r\n";
  ParseError error{};
  EXPECT_EQ(first_failing_prefix(input, Limits{}, &error), 64u * 1024 + 1);
  EXPECT_EQ(error, ParseError::kHeaderBlockTooLarge);
}

TEST(LimitsHeaderBlock, LeadingEmptyLinesCount) {
  std::string input;
  for (int i = 0; i < 32 * 1024 + 1; ++i) input += "\r\n";
  input += "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestHead head;
  EXPECT_EQ(parse_request_head(input, head).error(), ParseError::kHeaderBlockTooLarge);
}

TEST(LimitsHeaderCount, HundredFieldsPassAndTheHundredAndFirstFails) {
  std::string input = std::string(kRequestLine) + std::string(kHost);
  for (int i = 1; i < 100; ++i) input += "X-" + std::to_string(i) + ": v\r\n";
  RequestHead head;
  ASSERT_TRUE(parse_request_head(input + "\r\n", head).is_complete());
  EXPECT_EQ(head.fields.size(), 100u);
  input += "X-Extra: v\r\n";
  const ParseResult r = parse_request_head(input + "\r\n", head);
  EXPECT_EQ(r.error(), ParseError::kTooManyHeaders);
  EXPECT_EQ(http_status(r.error()), 431);
  // Detected when the 101st line completes, before the end of the head.
  RequestParser parser;
  EXPECT_EQ(parser.parse(input, head).error(), ParseError::kTooManyHeaders);
}

TEST(LimitsHeaderCount, CustomLimit) {
  Limits limits;
  limits.max_header_count = 2;
  RequestHead head;
  EXPECT_TRUE(
      parse_request_head("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\n\r\n", head, limits).is_complete());
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", head, limits)
                .error(),
            ParseError::kTooManyHeaders);
}

TEST(LimitsRequestLine, ExactlyTheLimitPassesOneMoreIs414) {
  const size_t max = Limits{}.max_start_line;
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1";
  const std::string at_limit =
      prefix + std::string(max - prefix.size() - suffix.size(), 'a') + suffix;
  ASSERT_EQ(at_limit.size(), max);
  RequestHead head;
  EXPECT_TRUE(parse_request_head(at_limit + "\r\nHost: a\r\n\r\n", head).is_complete());
  const std::string over = prefix + "b" + at_limit.substr(prefix.size());
  const ParseResult r = parse_request_head(over + "\r\nHost: a\r\n\r\n", head);
  EXPECT_EQ(r.error(), ParseError::kRequestLineTooLong);
  EXPECT_EQ(http_status(r.error()), 414);
}

TEST(LimitsRequestLine, DetectedAtByteMaxPlusOneWithoutCrlf) {
  const size_t max = Limits{}.max_start_line;
  const std::string endless = "GET /" + std::string(max * 2, 'a');
  ParseError error{};
  EXPECT_EQ(first_failing_prefix(endless, Limits{}, &error), max + 1);
  EXPECT_EQ(error, ParseError::kRequestLineTooLong);
}

TEST(LimitsRequestLine, TrailingCrDoesNotCountUntilItIsBare) {
  Limits limits;
  limits.max_start_line = 16;
  const std::string line = "GET /abc HTTP/1.1";  // 17 bytes
  RequestParser parser(limits);
  RequestHead head;
  EXPECT_EQ(parser.parse(line.substr(0, 16) + "\r", head), ParseResult::incomplete());
  RequestParser parser2(limits);
  EXPECT_EQ(parser2.parse(line, head).error(), ParseError::kRequestLineTooLong);
  // A line of exactly 16 bytes followed by CRLF is fine.
  RequestParser parser3(limits);
  EXPECT_TRUE(parser3.parse("GET /ab HTTP/1.1\r\nHost: a\r\n\r\n", head).is_complete());
}

TEST(LimitsStatusLine, OverTheLimitIsStatusLineTooLongAnd502) {
  Limits limits;
  limits.max_start_line = 20;
  ResponseHead head;
  EXPECT_TRUE(parse_response_head("HTTP/1.1 200 OKOKOKO\r\n\r\n", head, {}, limits).is_complete());
  const ParseResult r = parse_response_head("HTTP/1.1 200 OKOKOKOK\r\n\r\n", head, {}, limits);
  EXPECT_EQ(r.error(), ParseError::kStatusLineTooLong);
  EXPECT_EQ(upstream_http_status(r.error()), 502);
}

TEST(LimitsHeaderLine, ExactlyTheLimitPassesOneMoreIs431) {
  const size_t max = Limits{}.max_header_line;
  const std::string at_limit = "X: " + std::string(max - 3, 'v');
  RequestHead head;
  ASSERT_TRUE(parse_request_head(std::string(kRequestLine) + std::string(kHost) + at_limit +
                                     "\r\n\r\n",
                                 head)
                  .is_complete());
  EXPECT_EQ(head.fields[1].value.size(), max - 3);
  const ParseResult r = parse_request_head(
      std::string(kRequestLine) + std::string(kHost) + at_limit + "v\r\n\r\n", head);
  EXPECT_EQ(r.error(), ParseError::kHeaderLineTooLong);
  EXPECT_EQ(http_status(r.error()), 431);
}

TEST(LimitsHeaderLine, DetectedAtByteMaxPlusOneOfTheLine) {
  const size_t max = Limits{}.max_header_line;
  const std::string start = std::string(kRequestLine) + std::string(kHost);
  const std::string endless = start + "X: " + std::string(max * 2, 'v');
  ParseError error{};
  EXPECT_EQ(first_failing_prefix(endless, Limits{}, &error), start.size() + max + 1);
  EXPECT_EQ(error, ParseError::kHeaderLineTooLong);
}

// When one line crosses both the line limit and the block limit, the one crossed first wins,
// whether the line is complete or still arriving.
TEST(LimitsOrder, TheLimitCrossedFirstWinsAtEverySplit) {
  Limits limits;
  limits.max_header_bytes = 100;
  limits.max_header_line = 50;
  const std::string start = std::string(kRequestLine) + std::string(kHost);  // 25 bytes
  // Line starting at 25: line limit crossed at line byte 51 (offset 76), block at offset 101.
  const std::string line_first = start + "X: " + std::string(80, 'v') + "\r\n\r\n";
  // Line starting at 25 + 45 + 15 = 85: block crossed at line byte 16, line limit at byte 51.
  const std::string block_first = start + "Y: " + std::string(40, 'v') + "\r\nZ: " +
                                  std::string(10, 'v') + "\r\nX: " + std::string(80, 'v') +
                                  "\r\n\r\n";
  for (size_t cut = 0; cut <= line_first.size(); ++cut) {
    RequestParser parser(limits);
    RequestHead head;
    ParseResult r = parser.parse(std::string_view(line_first).substr(0, cut), head);
    if (!r.is_error()) r = parser.parse(line_first, head);
    EXPECT_EQ(r.error(), ParseError::kHeaderLineTooLong) << cut;
  }
  for (size_t cut = 0; cut <= block_first.size(); ++cut) {
    RequestParser parser(limits);
    RequestHead head;
    ParseResult r = parser.parse(std::string_view(block_first).substr(0, cut), head);
    if (!r.is_error()) r = parser.parse(block_first, head);
    EXPECT_EQ(r.error(), ParseError::kHeaderBlockTooLarge) << cut;
  }
}

TEST(LimitsChunked, ExtensionAtTheLimitPassesOneMoreFails) {
  const size_t max = Limits{}.max_chunk_extension;
  const std::string ext = ";" + std::string(max - 1, 'e');  // chunk-ext is ";eee...": max bytes
  ChunkedDecoder ok;
  EXPECT_EQ(testing::decode_slices(ok, {"1" + ext + "\r\nx\r\n0\r\n\r\n"}), "data=x trailers={}");
  ChunkedDecoder over;
  EXPECT_EQ(testing::decode_slices(over, {"1" + ext + "e\r\nx\r\n0\r\n\r\n"}),
            "error:chunk_extension_too_long");
}

TEST(LimitsChunked, ExtensionLimitHitsWithoutTheLineEnding) {
  ChunkedDecoder decoder;
  const std::string endless = "1;" + std::string(5000, 'e');
  const ChunkEvent ev = decoder.decode(endless);
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kError);
  EXPECT_EQ(ev.error, ParseError::kChunkExtensionTooLong);
  EXPECT_EQ(ev.consumed, 1 + Limits{}.max_chunk_extension + 1);  // digit + limit + 1
}

TEST(LimitsChunked, ChunkLineLimit) {
  Limits limits;
  limits.max_chunk_line = 8;
  ChunkedDecoder ok(limits);
  EXPECT_EQ(testing::decode_slices(ok, {"1;a=bcde\r\nx\r\n0\r\n\r\n"}), "data=x trailers={}");
  ChunkedDecoder over(limits);
  EXPECT_EQ(testing::decode_slices(over, {"1;a=bcdef\r\nx\r\n0\r\n\r\n"}),
            "error:chunk_line_too_long");
  // Leading zeros count too: the size digits are part of the line.
  ChunkedDecoder zeros(limits);
  EXPECT_EQ(testing::decode_slices(zeros, {"000000001\r\nx\r\n0\r\n\r\n"}),
            "error:chunk_line_too_long");
}

TEST(LimitsTrailers, TrailerSectionUsesTheHeaderLimits) {
  Limits limits;
  limits.max_header_bytes = 29;
  limits.max_header_count = 2;
  limits.max_header_line = 12;
  {
    ChunkedDecoder d(limits);  // trailer section of exactly 29 bytes
    EXPECT_EQ(testing::decode_slices(d, {"0\r\nA: 123456789\r\nB: 12345678\r\n\r\n"}),
              "data= trailers={A=123456789|B=12345678}");
  }
  {
    ChunkedDecoder d(limits);
    EXPECT_EQ(testing::decode_slices(d, {"0\r\nA: 123456789\r\nB: 123456789\r\n\r\n"}),
              "error:header_block_too_large");
  }
  {
    ChunkedDecoder d(limits);
    EXPECT_EQ(testing::decode_slices(d, {"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"}),
              "error:too_many_headers");
  }
  {
    ChunkedDecoder d(limits);
    EXPECT_EQ(testing::decode_slices(d, {"0\r\nA: 1234567890\r\n\r\n"}),
              "error:header_line_too_long");
  }
}

TEST(LimitsTrailers, EndlessTrailerNeverBuffersPastTheLimit) {
  Limits limits;
  limits.max_header_bytes = 1000;
  ChunkedDecoder decoder(limits);
  std::string input = "0\r\n";
  while (input.size() < 100000) input += "X-T: vvvvvvvvvv\r\n";
  ChunkEvent ev = decoder.decode(input);
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kError);
  EXPECT_EQ(ev.error, ParseError::kHeaderBlockTooLarge);
  EXPECT_EQ(ev.consumed, 3 + 1001u);
}

TEST(LimitsStatus, HeaderReadTimeoutMapsTo408And504) {
  EXPECT_EQ(http_status(ParseError::kHeaderReadTimeout), 408);
  EXPECT_EQ(upstream_http_status(ParseError::kHeaderReadTimeout), 504);
}

}  // namespace
}  // namespace trellis::http::h1
