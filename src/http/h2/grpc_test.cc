#include "http/h2/grpc.h"

#include <gtest/gtest.h>

#include <chrono>

namespace trellis::http::h2 {
namespace {

using namespace std::chrono_literals;

TEST(H2Grpc, RecognisesGrpcContentTypes) {
  EXPECT_TRUE(is_grpc(Headers{{"content-type", "application/grpc"}}));
  EXPECT_TRUE(is_grpc(Headers{{"content-type", "application/grpc+proto"}}));
  EXPECT_TRUE(is_grpc(Headers{{"content-type", "application/grpc;charset=utf-8"}}));
  EXPECT_TRUE(is_grpc(Headers{{"content-type", "Application/GRPC"}}));
  EXPECT_FALSE(is_grpc(Headers{{"content-type", "application/grpc-web"}}));  // another protocol
  EXPECT_FALSE(is_grpc(Headers{{"content-type", "application/json"}}));
  EXPECT_FALSE(is_grpc(Headers{{"content-type", "application/grp"}}));
  EXPECT_FALSE(is_grpc(Headers{}));
}

TEST(H2Grpc, ParsesTimeoutUnits) {
  EXPECT_EQ(parse_grpc_timeout("1H"), std::chrono::nanoseconds(1h));
  EXPECT_EQ(parse_grpc_timeout("2M"), std::chrono::nanoseconds(2min));
  EXPECT_EQ(parse_grpc_timeout("30S"), std::chrono::nanoseconds(30s));
  EXPECT_EQ(parse_grpc_timeout("1500m"), std::chrono::nanoseconds(1500ms));
  EXPECT_EQ(parse_grpc_timeout("250u"), std::chrono::nanoseconds(250us));
  EXPECT_EQ(parse_grpc_timeout("7n"), std::chrono::nanoseconds(7));
  EXPECT_EQ(parse_grpc_timeout("00000000S"), std::chrono::nanoseconds(0));
  EXPECT_EQ(parse_grpc_timeout("99999999S"), std::chrono::nanoseconds(99999999s));
}

TEST(H2Grpc, RejectsMalformedTimeouts) {
  for (const char* bad : {"", "S", "1", "123456789S", "1s", "-1S", "1.5S", "1x", " 1S", "1S "}) {
    EXPECT_FALSE(parse_grpc_timeout(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(H2Grpc, HugeTimeoutSaturatesInsteadOfOverflowing) {
  // CVE-2021-28682: 99,999,999 hours does not fit in int64 nanoseconds.
  EXPECT_EQ(parse_grpc_timeout("99999999H"), std::chrono::nanoseconds::max());
  // 2,562,047 h is the most int64 nanoseconds hold.
  EXPECT_EQ(parse_grpc_timeout("2562047H"), std::chrono::nanoseconds(2562047h));
  EXPECT_EQ(parse_grpc_timeout("2562048H"), std::chrono::nanoseconds::max());
}

TEST(H2Grpc, FormatsTimeoutsExactlyOrRoundedUp) {
  EXPECT_EQ(format_grpc_timeout(1s), "1S");
  EXPECT_EQ(format_grpc_timeout(1500ms), "1500m");
  EXPECT_EQ(format_grpc_timeout(120s), "2M");
  EXPECT_EQ(format_grpc_timeout(2h), "2H");
  EXPECT_EQ(format_grpc_timeout(std::chrono::nanoseconds(12345678)), "12345678n");
  EXPECT_EQ(format_grpc_timeout(std::chrono::nanoseconds(123456789)), "123457u");
  EXPECT_EQ(format_grpc_timeout(0s), "0H");
  EXPECT_EQ(format_grpc_timeout(-5s), "0H");
  // 1.000000001 s needs 10 digits in ns: rounded up to the next microsecond.
  EXPECT_EQ(format_grpc_timeout(std::chrono::nanoseconds(1000000001)), "1000001u");
  for (auto d : {1ms, 1500ms, 3600000ms, 86400000ms}) {
    EXPECT_EQ(parse_grpc_timeout(format_grpc_timeout(d)), std::chrono::nanoseconds(d));
  }
}

TEST(H2Grpc, PercentEncodesMessages) {
  EXPECT_EQ(percent_encode_grpc_message("no endpoints: 100% down\n"),
            "no endpoints: 100%25 down%0A");
  EXPECT_EQ(percent_encode_grpc_message("\xE2\x9C\x93"), "%E2%9C%93");
  EXPECT_EQ(percent_encode_grpc_message("plain ~ text"), "plain ~ text");
  EXPECT_EQ(percent_decode_grpc_message("no endpoints: 100%25 down%0A"),
            "no endpoints: 100% down\n");
  EXPECT_EQ(percent_decode_grpc_message("%e2%9c%93"), "\xE2\x9C\x93");
  // Invalid escapes are kept as they are, as the gRPC spec asks of receivers.
  EXPECT_EQ(percent_decode_grpc_message("bad %zz and %4"), "bad %zz and %4");
  EXPECT_EQ(percent_decode_grpc_message("%"), "%");
}

TEST(H2Grpc, TrailersOnlyResponse) {
  Response r = make_grpc_trailers_only(GrpcStatus::kUnavailable, "no healthy upstream");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(r.head.headers.get("grpc-status"), "14");
  EXPECT_EQ(r.head.headers.get("grpc-message"), "no healthy upstream");
  ASSERT_NE(r.body, nullptr);
  EXPECT_TRUE(r.body->is_empty());

  Response ok = make_grpc_trailers_only(GrpcStatus::kPermissionDenied, "");
  EXPECT_EQ(ok.head.headers.get("grpc-status"), "7");
  EXPECT_FALSE(ok.head.headers.contains("grpc-message"));
}

}  // namespace
}  // namespace trellis::http::h2

namespace trellis::http::h2 {
namespace {

TEST(GrpcFraming, FrameAndHeaderRoundTrip) {
  const std::string frame = grpc_frame("hello");
  ASSERT_EQ(frame.size(), kGrpcFrameHeaderBytes + 5);
  EXPECT_EQ(frame.substr(0, 5), std::string("\0\0\0\0\5", 5));
  auto header = parse_grpc_frame_header(frame);
  ASSERT_TRUE(header);
  EXPECT_FALSE(header->compressed);
  EXPECT_EQ(header->length, 5u);
  EXPECT_EQ(frame.substr(kGrpcFrameHeaderBytes), "hello");
}

TEST(GrpcFraming, HeaderNeedsFiveBytesAndReadsFlagAndBigEndianLength) {
  EXPECT_FALSE(parse_grpc_frame_header(std::string("\0\0\0\0", 4)));
  auto header = parse_grpc_frame_header(std::string("\1\x01\x02\x03\xff", 5));
  ASSERT_TRUE(header);
  EXPECT_TRUE(header->compressed);
  EXPECT_EQ(header->length, 0x010203ffu);
}

}  // namespace
}  // namespace trellis::http::h2
