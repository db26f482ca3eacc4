// Incremental parsing: every row of the parser table, fed split at every byte position, and
// byte by byte, must produce exactly the one-shot outcome. Each call gets a fresh copy of the
// bytes (a different address), as when the connection's buffer grows and moves.

#include <gtest/gtest.h>

#include <memory>

#include "http/h1/parser.h"
#include "http/h1/parser_cases.h"
#include "http/h1/test_support.h"

namespace trellis::http::h1 {
namespace {

using testing::CaseKind;
using testing::ParserCase;

ResponseContext context_of(const ParserCase& c) {
  ResponseContext context;
  context.request_was_head = c.kind == CaseKind::kResponseToHead;
  context.request_was_connect = c.kind == CaseKind::kResponseToConnect;
  return context;
}

// Feeds the parser the cumulative prefixes input[0, cuts[0]), input[0, cuts[1]), ... and
// finally the whole input, stopping at the first non-incomplete result.
template <typename Parser, typename Head>
std::string feed(Parser& parser, const std::string& input, const std::vector<size_t>& cuts) {
  std::vector<std::unique_ptr<std::string>> buffers;  // keep every copy alive for the views
  Head head;
  std::vector<size_t> lengths = cuts;
  lengths.push_back(input.size());
  for (size_t len : lengths) {
    buffers.push_back(std::make_unique<std::string>(input.substr(0, len)));
    const ParseResult r = parser.parse(*buffers.back(), head);
    if (r.is_complete() || r.is_error()) return testing::describe(r, head, input.size());
  }
  return "incomplete";
}

std::string feed_case(const ParserCase& c, const std::vector<size_t>& cuts) {
  if (c.kind == CaseKind::kRequest) {
    RequestParser parser;
    return feed<RequestParser, RequestHead>(parser, c.input, cuts);
  }
  ResponseParser parser(Limits{}, context_of(c));
  return feed<ResponseParser, ResponseHead>(parser, c.input, cuts);
}

class ParserIncremental : public ::testing::TestWithParam<ParserCase> {};

TEST_P(ParserIncremental, EverySplitPointGivesTheOneShotResult) {
  const ParserCase& c = GetParam();
  for (size_t cut = 0; cut <= c.input.size(); ++cut) {
    EXPECT_EQ(feed_case(c, {cut}), c.expected) << "split at " << cut;
  }
}

TEST_P(ParserIncremental, ByteByByteGivesTheOneShotResult) {
  const ParserCase& c = GetParam();
  std::vector<size_t> cuts;
  for (size_t len = 0; len < c.input.size(); ++len) cuts.push_back(len);
  EXPECT_EQ(feed_case(c, cuts), c.expected);
}

TEST_P(ParserIncremental, EveryPairOfSplitPointsGivesTheOneShotResult) {
  const ParserCase& c = GetParam();
  for (size_t a = 0; a <= c.input.size(); a += 3) {
    for (size_t b = a; b <= c.input.size(); b += 2) {
      EXPECT_EQ(feed_case(c, {a, b}), c.expected) << "splits at " << a << "," << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, ParserIncremental, ::testing::ValuesIn(testing::parser_cases()),
                         [](const ::testing::TestParamInfo<ParserCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(ParserIncrementalEarly, ABadLineFailsBeforeTheHeadIsComplete) {
  RequestParser parser;
  RequestHead head;
  EXPECT_TRUE(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n", head).is_incomplete());
  // The obs-fold line is rejected as soon as it is complete; no need to wait for CRLFCRLF.
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n", head).error(),
            ParseError::kObsFold);
}

TEST(ParserIncrementalEarly, ABadRequestLineFailsBeforeAnyField) {
  RequestParser parser;
  RequestHead head;
  EXPECT_EQ(parser.parse("GET / HTTP/9.9\r\n", head).error(), ParseError::kUnsupportedVersion);
}

TEST(ParserIncrementalEarly, CrAtTheEndOfAPrefixIsNotABareCrYet) {
  RequestParser parser;
  RequestHead head;
  EXPECT_TRUE(parser.parse("GET / HTTP/1.1\r", head).is_incomplete());
  EXPECT_TRUE(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r", head).is_incomplete());
  EXPECT_TRUE(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", head).is_complete());
}

TEST(ParserIncrementalEarly, EmptyInputIsIncomplete) {
  RequestParser parser;
  RequestHead head;
  EXPECT_TRUE(parser.parse("", head).is_incomplete());
  ResponseParser response_parser;
  ResponseHead response;
  EXPECT_TRUE(response_parser.parse("", response).is_incomplete());
}

}  // namespace
}  // namespace trellis::http::h1
