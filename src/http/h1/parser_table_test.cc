// Table-driven parser test: raw head -> exact outcome. Each smuggling vector is a row named
// after the attack (see parser_cases.h).

#include <gtest/gtest.h>

#include <set>

#include "http/h1/parser.h"
#include "http/h1/parser_cases.h"
#include "http/h1/test_support.h"

namespace trellis::http::h1 {
namespace {

using testing::CaseKind;
using testing::ParserCase;

std::string parse_once(const ParserCase& c) {
  if (c.kind == CaseKind::kRequest) {
    RequestHead head;
    const ParseResult r = parse_request_head(c.input, head);
    return testing::describe(r, head, c.input.size());
  }
  ResponseContext context;
  context.request_was_head = c.kind == CaseKind::kResponseToHead;
  context.request_was_connect = c.kind == CaseKind::kResponseToConnect;
  ResponseHead head;
  const ParseResult r = parse_response_head(c.input, head, context);
  return testing::describe(r, head, c.input.size());
}

class ParserTable : public ::testing::TestWithParam<ParserCase> {};

TEST_P(ParserTable, ParsesToExpectedOutcome) {
  const ParserCase& c = GetParam();
  EXPECT_EQ(parse_once(c), c.expected) << "input: " << testing::escape(c.input);
}

INSTANTIATE_TEST_SUITE_P(Rows, ParserTable, ::testing::ValuesIn(testing::parser_cases()),
                         [](const ::testing::TestParamInfo<ParserCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(ParserTableMeta, TableIsLargeAndNamesAreUnique) {
  const auto& cases = testing::parser_cases();
  EXPECT_GE(cases.size(), 80u);
  std::set<std::string> names;
  for (const auto& c : cases) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

// Every error the head parsers can produce appears in at least one row, so no rejection path
// goes untested. (Limits and chunked errors have their own tests.)
TEST(ParserTableMeta, EveryHeadErrorIsCovered) {
  std::set<std::string> seen;
  for (const auto& c : testing::parser_cases()) {
    if (c.expected.rfind("error:", 0) == 0) seen.insert(c.expected.substr(6));
  }
  const ParseError head_errors[] = {
      ParseError::kBareCr, ParseError::kBareLf, ParseError::kObsFold,
      ParseError::kWhitespaceAfterStartLine, ParseError::kWhitespaceBeforeColon,
      ParseError::kInvalidHeaderName, ParseError::kEmptyHeaderName, ParseError::kMissingColon,
      ParseError::kNulInFieldValue, ParseError::kCtlInFieldValue, ParseError::kInvalidRequestLine,
      ParseError::kInvalidMethod, ParseError::kInvalidRequestTarget,
      ParseError::kAsteriskFormNotOptions, ParseError::kAuthorityFormNotConnect,
      ParseError::kConnectTargetNotAuthority, ParseError::kInvalidVersion,
      ParseError::kUnsupportedVersion, ParseError::kInvalidStatusLine,
      ParseError::kInvalidStatusCode, ParseError::kInvalidReasonPhrase, ParseError::kMissingHost,
      ParseError::kMultipleHost, ParseError::kInvalidHost, ParseError::kHostAuthorityMismatch,
      ParseError::kClTeConflict, ParseError::kConflictingContentLength,
      ParseError::kInvalidContentLength, ParseError::kContentLengthOverflow,
      ParseError::kTeNotChunkedFinal, ParseError::kUnknownTransferCoding,
      ParseError::kChunkedTwice, ParseError::kInvalidTransferEncoding,
      ParseError::kTooManyTransferCodings, ParseError::kTransferEncodingHttp10,
      ParseError::kConnectWithBody, ParseError::kInvalidConnectionHeader,
  };
  for (ParseError e : head_errors) {
    EXPECT_TRUE(seen.count(std::string(to_string(e)))) << "no row for " << to_string(e);
  }
}

// Field views point into the caller's buffer: no copies.
TEST(ParserZeroCopy, ViewsPointIntoTheInputBuffer) {
  const std::string input =
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nX-Long: " + std::string(300, 'v') +
      "\r\n\r\n";
  RequestHead head;
  ASSERT_TRUE(parse_request_head(input, head).is_complete());
  const char* begin = input.data();
  const char* end = input.data() + input.size();
  auto inside = [&](std::string_view v) { return v.data() >= begin && v.data() + v.size() <= end; };
  EXPECT_TRUE(inside(head.method));
  EXPECT_TRUE(inside(head.target));
  ASSERT_EQ(head.fields.size(), 3u);
  for (const HeaderField& f : head.fields) {
    EXPECT_TRUE(inside(f.name));
    EXPECT_TRUE(inside(f.value));
  }
  EXPECT_EQ(head.fields[2].value.size(), 300u);
  EXPECT_EQ(head.fields.capacity(), FieldList::inline_capacity());  // no heap for 3 fields
}

TEST(ParserFieldList, FindAndCountAreCaseInsensitive) {
  RequestHead head;
  const std::string input =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\nAccept: */*\r\n\r\n";
  ASSERT_TRUE(parse_request_head(input, head).is_complete());
  EXPECT_EQ(head.fields.find("X-DUP"), "1");
  EXPECT_EQ(head.fields.count("x-Dup"), 2u);
  EXPECT_EQ(head.fields.find("missing"), std::nullopt);
  EXPECT_EQ(head.info.host, "a");
}

// GCC's -O2 -Warray-bounds cannot see that a moved-from heap buffer is non-null and warns about
// the inline path for constant indices past the inline capacity; the accesses are in bounds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
TEST(ParserFieldList, MoreFieldsThanInlineCapacitySpillToHeap) {
  std::string input = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 80; ++i) {
    input += "X-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  }
  input += "\r\n";
  RequestHead head;
  ASSERT_TRUE(parse_request_head(input, head).is_complete());
  ASSERT_EQ(head.fields.size(), 81u);
  EXPECT_EQ(head.fields[80].name, "X-79");
  EXPECT_EQ(head.fields[80].value, "79");
  RequestHead copy = head;
  EXPECT_EQ(copy.fields[57].name, "X-56");
  RequestHead moved = std::move(copy);
  EXPECT_EQ(moved.fields[80].value, "79");
}
#pragma GCC diagnostic pop

TEST(ParserResponseContext, ForRequestDerivesHeadAndConnect) {
  RequestHead head_request;
  ASSERT_TRUE(parse_request_head("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", head_request).is_complete());
  EXPECT_TRUE(ResponseContext::for_request(head_request).request_was_head);
  EXPECT_FALSE(ResponseContext::for_request(head_request).request_was_connect);
  RequestHead connect;
  ASSERT_TRUE(
      parse_request_head("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n", connect).is_complete());
  EXPECT_TRUE(ResponseContext::for_request(connect).request_was_connect);
}

TEST(ParserReuse, ResetParsesTheNextRequestOnTheConnection) {
  RequestParser parser;
  RequestHead head;
  const std::string first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_TRUE(parser.parse(first, head).is_complete());
  EXPECT_EQ(head.target, "/1");
  // Calling again without reset returns the same completed head.
  EXPECT_EQ(parser.parse(first, head), ParseResult::complete(first.size()));
  parser.reset();
  const std::string second = "DELETE /2 HTTP/1.1\r\nHost: b\r\n\r\n";
  ASSERT_TRUE(parser.parse(second, head).is_complete());
  EXPECT_EQ(head.method, "DELETE");
  EXPECT_EQ(head.info.host, "b");
}

TEST(ParserReuse, AShorterBufferThanLastTimeStartsOver) {
  // A contract violation by the caller, but it must not read past the new buffer.
  RequestParser parser;
  RequestHead head;
  ASSERT_TRUE(parser.parse("GET /long/path HTTP/1.1\r\nHost: a\r\n\r\n", head).is_complete());
  const ParseResult r = parser.parse("GET / HTTP/1.1\r\n", head);
  EXPECT_TRUE(r.is_incomplete());
  // ...and then continues with that new message.
  ASSERT_TRUE(parser.parse("GET / HTTP/1.1\r\nHost: b\r\n\r\n", head).is_complete());
  EXPECT_EQ(head.target, "/");
  EXPECT_EQ(head.info.host, "b");
}

TEST(ParserReuse, ErrorsAreSticky) {
  RequestParser parser;
  RequestHead head;
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", head).error(),
            ParseError::kMultipleHost);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", head).error(),
            ParseError::kMultipleHost);
  RequestParser semantic;
  EXPECT_EQ(semantic.parse("GET / HTTP/1.1\r\n\r\n", head).error(), ParseError::kMissingHost);
  EXPECT_EQ(semantic.parse("GET / HTTP/1.1\r\n\r\n", head).error(), ParseError::kMissingHost);
}

TEST(ParserInterim, ResponseParserResetsAfter100Continue) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  ResponseParser parser;
  ResponseHead head;
  ParseResult r = parser.parse(wire, head);
  ASSERT_TRUE(r.is_complete());
  EXPECT_TRUE(head.info.interim);
  parser.reset(ResponseContext{});
  const std::string_view rest = std::string_view(wire).substr(r.consumed());
  r = parser.parse(rest, head);
  ASSERT_TRUE(r.is_complete());
  EXPECT_EQ(head.status, 201);
  EXPECT_FALSE(head.info.interim);
  EXPECT_EQ(r.consumed(), rest.size());
}

}  // namespace
}  // namespace trellis::http::h1
