// Chunked decoder: a table of bodies -> exact outcome, each fed whole, split at every byte
// position, at pairs of positions and byte by byte, which must all agree.

#include <gtest/gtest.h>

#include <set>

#include "http/h1/chunked.h"
#include "http/h1/test_support.h"

namespace trellis::http::h1 {
namespace {

struct ChunkCase {
  const char* name;
  std::string input;
  std::string expected;  // see decode_slices() in test_support.h
};

std::string nul_at(std::string s, size_t pos) {
  s[pos] = '\0';
  return s;
}

const std::vector<ChunkCase>& chunk_cases() {
  static const std::vector<ChunkCase> cases = {
      // ---- valid ------------------------------------------------------------------------
      {"OneChunk", "5\r\nhello\r\n0\r\n\r\n", "data=hello trailers={}"},
      {"SeveralChunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", "data=abcdef trailers={}"},
      {"UppercaseHex", "A\r\n0123456789\r\n0\r\n\r\n", "data=0123456789 trailers={}"},
      {"LowercaseHex", "b\r\n0123456789a\r\n0\r\n\r\n", "data=0123456789a trailers={}"},
      {"LeadingZeros", "0005\r\nhello\r\n000\r\n\r\n", "data=hello trailers={}"},
      {"SixteenDigitsAccepted", "0000000000000003\r\nabc\r\n0\r\n\r\n", "data=abc trailers={}"},
      {"EmptyBody", "0\r\n\r\n", "data= trailers={}"},
      {"DataContainingCrlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "data=\\x0d\\x0a\\x0d\\x0a trailers={}"},
      {"BinaryData", nul_at("3\r\naXc\r\n0\r\n\r\n", 4), "data=a\\x00c trailers={}"},
      {"ExtensionName", "5;foo\r\nhello\r\n0\r\n\r\n", "data=hello trailers={}"},
      {"ExtensionTokenValue", "5;foo=bar\r\nhello\r\n0\r\n\r\n", "data=hello trailers={}"},
      {"ExtensionQuotedValue", "5;foo=\"b a;r=\"\r\nhello\r\n0\r\n\r\n", "data=hello trailers={}"},
      {"ExtensionQuotedPair", "5;foo=\"a\\\"b\\\\\"\r\nhello\r\n0\r\n\r\n",
       "data=hello trailers={}"},
      {"SeveralExtensions", "5;a=1;b;c=\"x\"\r\nhello\r\n0\r\n\r\n", "data=hello trailers={}"},
      {"ExtensionWithBws", "5 ;\ta = 1 ; b\r\nhello\r\n0\r\n\r\n", "data=hello trailers={}"},
      {"ExtensionOnLastChunk", "2\r\nhi\r\n0;final=yes\r\n\r\n", "data=hi trailers={}"},
      {"Trailers", "2\r\nhi\r\n0\r\nX-Checksum: abc\r\nGrpc-Status:  0 \r\n\r\n",
       "data=hi trailers={X-Checksum=abc|Grpc-Status=0}"},
      {"PipelinedAfterBody", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
       "data=x trailers={} rest=16"},
      {"PipelinedAfterTrailers", "0\r\nA: 1\r\n\r\nNEXT", "data= trailers={A=1} rest=4"},

      // ---- chunk-size line ----------------------------------------------------------------
      {"SizeNotHex", "x\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeLeadingSpace", " 5\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeLeadingPlus", "+5\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeNegative", "-5\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeHexPrefix", "0x5\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeTrailingGarbage", "5x\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeTrailingWhitespace", "5 \r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeTrailingComma", "5,\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeEmpty", "\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_size"},
      {"SizeSeventeenDigits", "00000000000000005\r\nhello\r\n0\r\n\r\n",
       "error:chunk_size_overflow"},
      {"SizeAboveInt64", "8000000000000000\r\nhello\r\n", "error:chunk_size_overflow"},
      {"SizeWrapsUint64", "10000000000000005\r\nhello\r\n", "error:chunk_size_overflow"},
      {"SizeMaxInt64Accepted", "7fffffffffffffff\r\nab", "incomplete data=ab"},
      {"BareLfAfterSize_CVE_2025_22871", "5\nhello\r\n0\r\n\r\n", "error:bare_lf_in_chunk_line"},
      {"BareLfAfterExtension", "5;a=b\nhello\r\n0\r\n\r\n", "error:bare_lf_in_chunk_line"},
      {"LfInsideQuotedExtension_CVE_2025_55315", "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n",
       "error:bare_lf_in_chunk_line"},
      {"BareLfOnLastChunkLine", "0\n\r\n", "error:bare_lf_in_chunk_line"},
      {"BareCrAfterSize", "5\rhello\r\n0\r\n\r\n", "error:bare_cr"},

      // ---- chunk extensions -----------------------------------------------------------------
      {"ExtensionEmpty", "5;\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_extension"},
      {"ExtensionEmptyName", "5;=x\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_extension"},
      {"ExtensionEmptyValue", "5;a=\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_extension"},
      {"ExtensionUnterminatedQuote", "5;a=\"x\r\nhello\r\n0\r\n\r\n",
       "error:invalid_chunk_extension"},
      {"ExtensionSpaceInName", "5;a b\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_extension"},
      {"ExtensionSpaceInValue", "5;a=b c\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_extension"},
      {"ExtensionGarbageAfterQuote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n",
       "error:invalid_chunk_extension"},
      {"ExtensionTrailingWhitespace", "5;a \r\nhello\r\n0\r\n\r\n",
       "error:invalid_chunk_extension"},
      {"ExtensionControlChar", "5;a=\x01\r\nhello\r\n0\r\n\r\n", "error:invalid_chunk_extension"},
      {"ExtensionNul", nul_at("5;aX\r\nhello\r\n0\r\n\r\n", 3), "error:invalid_chunk_extension"},
      {"ExtensionNulInQuotes", nul_at("5;a=\"X\"\r\nhello\r\n0\r\n\r\n", 5),
       "error:invalid_chunk_extension"},

      // ---- chunk data framing -------------------------------------------------------------
      {"DataLongerThanSize", "5\r\nhelloX\r\n0\r\n\r\n", "error:missing_chunk_crlf"},
      {"DataFollowedByBareLf", "5\r\nhello\n0\r\n\r\n", "error:missing_chunk_crlf"},
      {"DataFollowedByBareCr", "5\r\nhello\rX0\r\n\r\n", "error:missing_chunk_crlf"},
      {"DataShorterThanSizeSmuggle", "6\r\nhello\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n",
       "error:missing_chunk_crlf"},

      // ---- trailer section ----------------------------------------------------------------
      {"TrailerObsFold", "0\r\nX: a\r\n b\r\n\r\n", "error:obs_fold"},
      {"TrailerFirstLineFolded", "0\r\n X: a\r\n\r\n", "error:obs_fold"},
      {"TrailerContentLength", "0\r\nContent-Length: 5\r\n\r\n", "error:forbidden_trailer_field"},
      {"TrailerTransferEncoding", "0\r\nTransfer-Encoding: chunked\r\n\r\n",
       "error:forbidden_trailer_field"},
      {"TrailerHost", "0\r\nhost: evil\r\n\r\n", "error:forbidden_trailer_field"},
      {"TrailerWhitespaceBeforeColon", "0\r\nX : a\r\n\r\n", "error:whitespace_before_colon"},
      {"TrailerBareLf", "0\r\nX: a\n\r\n", "error:bare_lf"},
      {"TrailerSectionBareLf", "0\r\n\n", "error:bare_lf"},
      {"TrailerSectionBareCr", "0\r\n\rX", "error:bare_cr"},
      {"TrailerNul", nul_at("0\r\nX: aY\r\n\r\n", 7), "error:nul_in_field_value"},
      {"TrailerMissingColon", "0\r\nX\r\n\r\n", "error:missing_colon"},
  };
  return cases;
}

std::string decode_whole(const std::string& input) {
  ChunkedDecoder decoder;
  return testing::decode_slices(decoder, {input});
}

class ChunkedTable : public ::testing::TestWithParam<ChunkCase> {};

TEST_P(ChunkedTable, DecodesToExpectedOutcome) {
  EXPECT_EQ(decode_whole(GetParam().input), GetParam().expected)
      << testing::escape(GetParam().input);
}

TEST_P(ChunkedTable, EverySplitPointAgrees) {
  const std::string& in = GetParam().input;
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    ChunkedDecoder decoder;
    const std::string_view v(in);
    EXPECT_EQ(testing::decode_slices(decoder, {v.substr(0, cut), v.substr(cut)}),
              GetParam().expected)
        << "split at " << cut;
  }
}

TEST_P(ChunkedTable, EveryPairOfSplitPointsAgrees) {
  const std::string& in = GetParam().input;
  const std::string_view v(in);
  for (size_t a = 0; a <= in.size(); ++a) {
    for (size_t b = a; b <= in.size(); ++b) {
      ChunkedDecoder decoder;
      EXPECT_EQ(testing::decode_slices(decoder, {v.substr(0, a), v.substr(a, b - a),
                                                 v.substr(b)}),
                GetParam().expected)
          << "splits at " << a << "," << b;
    }
  }
}

TEST_P(ChunkedTable, ByteByByteAgrees) {
  const std::string& in = GetParam().input;
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < in.size(); ++i) bytes.push_back(std::string_view(in).substr(i, 1));
  ChunkedDecoder decoder;
  EXPECT_EQ(testing::decode_slices(decoder, bytes), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Rows, ChunkedTable, ::testing::ValuesIn(chunk_cases()),
                         [](const ::testing::TestParamInfo<ChunkCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(ChunkedTableMeta, NamesAreUnique) {
  std::set<std::string> names;
  for (const auto& c : chunk_cases()) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

TEST(ChunkedDecoder, DataIsAViewIntoTheInput) {
  const std::string input = "5\r\nhello\r\n0\r\n\r\n";
  ChunkedDecoder decoder;
  const ChunkEvent ev = decoder.decode(input);
  ASSERT_EQ(ev.kind, ChunkEvent::Kind::kData);
  EXPECT_EQ(ev.data, "hello");
  EXPECT_EQ(ev.data.data(), input.data() + 3);
  EXPECT_EQ(ev.consumed, 8u);
}

TEST(ChunkedDecoder, LargeChunkArrivesInPieces) {
  ChunkedDecoder decoder;
  ChunkEvent ev = decoder.decode("10000\r\n");  // 65536 bytes
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kNeedMore);
  EXPECT_EQ(ev.consumed, 7u);
  const std::string piece(1000, 'z');
  uint64_t total = 0;
  while (total < 65536) {
    std::string_view in = piece;
    if (65536 - total < in.size()) in = in.substr(0, 65536 - total);
    ev = decoder.decode(in);
    ASSERT_EQ(ev.kind, ChunkEvent::Kind::kData);
    EXPECT_EQ(ev.consumed, in.size());
    total += ev.data.size();
  }
  EXPECT_EQ(decoder.body_bytes(), 65536u);
  ev = decoder.decode("\r\n0\r\n\r\n");
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kDone);
  EXPECT_EQ(ev.consumed, 7u);
  EXPECT_TRUE(decoder.done());
}

TEST(ChunkedDecoder, DoneIsStickyAndConsumesNothingMore) {
  ChunkedDecoder decoder;
  ChunkEvent ev = decoder.decode("0\r\n\r\nextra");
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kDone);
  EXPECT_EQ(ev.consumed, 5u);
  ev = decoder.decode("more");
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kDone);
  EXPECT_EQ(ev.consumed, 0u);
}

TEST(ChunkedDecoder, ErrorIsSticky) {
  ChunkedDecoder decoder;
  ChunkEvent ev = decoder.decode("zz\r\n");
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kError);
  EXPECT_EQ(ev.error, ParseError::kInvalidChunkSize);
  ev = decoder.decode("5\r\nhello\r\n");
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kError);
  EXPECT_EQ(ev.error, ParseError::kInvalidChunkSize);
}

TEST(ChunkedDecoder, ResetDecodesAnotherBody) {
  ChunkedDecoder decoder;
  EXPECT_EQ(testing::decode_slices(decoder, {"1\r\na\r\n0\r\nT: 1\r\n\r\n"}),
            "data=a trailers={T=1}");
  decoder.reset();
  EXPECT_EQ(decoder.body_bytes(), 0u);
  EXPECT_TRUE(decoder.trailers().empty());
  EXPECT_EQ(testing::decode_slices(decoder, {"2\r\nbc\r\n0\r\n\r\n"}), "data=bc trailers={}");
}

TEST(ChunkedDecoder, TrailersOnlyAfterDone) {
  ChunkedDecoder decoder;
  decoder.decode("0\r\nA: 1\r\n");
  EXPECT_FALSE(decoder.done());
  EXPECT_TRUE(decoder.trailers().empty());
  decoder.decode("\r\n");
  ASSERT_TRUE(decoder.done());
  const FieldList trailers = decoder.trailers();
  ASSERT_EQ(trailers.size(), 1u);
  EXPECT_EQ(trailers.find("a"), "1");
}

TEST(ChunkedDecoder, EmptyInputNeedsMore) {
  ChunkedDecoder decoder;
  const ChunkEvent ev = decoder.decode({});
  EXPECT_EQ(ev.kind, ChunkEvent::Kind::kNeedMore);
  EXPECT_EQ(ev.consumed, 0u);
}

}  // namespace
}  // namespace trellis::http::h1
