#include "loadgen/request.h"

#include <gtest/gtest.h>

#include "http/h1/parser.h"

namespace trellis::bench::loadgen {
namespace {

namespace h1 = http::h1;

RequestSpec get_spec() {
  RequestSpec spec;
  spec.method = "GET";
  spec.path = "/api/items?page=2";
  spec.authority = "127.0.0.1:8080";
  spec.headers = {{"Accept", "application/json"}, {"X-Bench", "run 1"}};
  return spec;
}

TEST(Http1Request, GetIsWrittenExactly) {
  auto bytes = serialize_http1_request(get_spec());
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_EQ(*bytes,
            "GET /api/items?page=2 HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "Accept: application/json\r\n"
            "X-Bench: run 1\r\n"
            "\r\n");
}

TEST(Http1Request, BodyGetsAContentLength) {
  RequestSpec spec = get_spec();
  spec.method = "POST";
  spec.headers = {};
  spec.body = "{\"a\":1}";
  auto bytes = serialize_http1_request(spec);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes,
            "POST /api/items?page=2 HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "Content-Length: 7\r\n"
            "\r\n"
            "{\"a\":1}");
  spec.body.clear();
  bytes = serialize_http1_request(spec);
  ASSERT_TRUE(bytes.ok());
  EXPECT_NE(bytes->find("Content-Length: 0\r\n"), std::string::npos);  // POST without a body
}

TEST(Http1Request, TheStrictParserAcceptsWhatWeWrite) {
  RequestSpec spec = get_spec();
  spec.method = "PUT";
  spec.body = "abc";
  auto bytes = serialize_http1_request(spec);
  ASSERT_TRUE(bytes.ok());
  h1::RequestHead head;
  const auto result = h1::parse_request_head(*bytes, head);
  ASSERT_TRUE(result.is_complete());
  EXPECT_EQ(head.method, "PUT");
  EXPECT_EQ(head.target, "/api/items?page=2");
  EXPECT_EQ(head.info.host, "127.0.0.1:8080");
  EXPECT_EQ(head.fields.find("x-bench"), "run 1");
  EXPECT_EQ(head.info.body, h1::BodyFraming::content_length(3));
  EXPECT_TRUE(head.info.keep_alive);
  EXPECT_EQ(bytes->substr(result.consumed()), "abc");
}

TEST(Http1Request, RefusesWhatCouldCorruptTheWire) {
  RequestSpec spec = get_spec();
  spec.headers = {{"X-Evil", "a\r\nInjected: 1"}};
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec.headers = {{"Bad Name", "v"}};
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec.headers = {{"Transfer-Encoding", "chunked"}};  // framing is ours
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec.headers = {{"content-length", "5"}};
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec = get_spec();
  spec.path = "/a b";
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec.path = "relative";
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec = get_spec();
  spec.method = "GE T";
  EXPECT_FALSE(serialize_http1_request(spec).ok());
  spec = get_spec();
  spec.authority = "a b";
  EXPECT_FALSE(serialize_http1_request(spec).ok());
}

TEST(Http2Request, PseudoHeadersFirstThenLowerCasedFields) {
  RequestSpec spec = get_spec();
  spec.protocol = Protocol::kH2c;
  auto headers = http2_headers(spec);
  ASSERT_TRUE(headers.ok());
  const std::vector<Header> want = {{":method", "GET"},
                                    {":scheme", "http"},
                                    {":authority", "127.0.0.1:8080"},
                                    {":path", "/api/items?page=2"},
                                    {"accept", "application/json"},
                                    {"x-bench", "run 1"}};
  EXPECT_EQ(*headers, want);
  spec.method = "POST";
  spec.body = "xyz";
  headers = http2_headers(spec);
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(headers->back(), (Header{"content-length", "3"}));
}

TEST(Http2Request, GrpcAddsContentTypeAndTe) {
  RequestSpec spec;
  spec.protocol = Protocol::kGrpc;
  spec.method = "POST";
  spec.path = "/demo.Echo/Say";
  spec.authority = "svc:50051";
  spec.body = grpc_frame("hi");
  auto headers = http2_headers(spec);
  ASSERT_TRUE(headers.ok());
  const std::vector<Header> want = {{":method", "POST"},
                                    {":scheme", "http"},
                                    {":authority", "svc:50051"},
                                    {":path", "/demo.Echo/Say"},
                                    {"content-type", "application/grpc"},
                                    {"te", "trailers"}};
  EXPECT_EQ(*headers, want);
  // A content-type of the user's (e.g. +proto) replaces the default.
  spec.headers = {{"Content-Type", "application/grpc+proto"}};
  headers = http2_headers(spec);
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ((*headers)[4], (Header{"content-type", "application/grpc+proto"}));
  EXPECT_EQ(headers->size(), 6u);
}

TEST(Grpc, LengthPrefixedMessage) {
  EXPECT_EQ(grpc_frame(""), std::string("\0\0\0\0\0", 5));
  EXPECT_EQ(grpc_frame("abc"), std::string("\0\0\0\0\x03" "abc", 8));
  const std::string big(300, 'x');
  const std::string framed = grpc_frame(big);
  EXPECT_EQ(framed.substr(0, 5), std::string("\0\0\0\x01\x2c", 5));  // 300 big-endian
  EXPECT_EQ(framed.size(), 305u);
}

TEST(Grpc, HexDecoding) {
  auto bytes = decode_hex("0a03466f6F");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "\n\x03" "Foo");
  EXPECT_EQ(*decode_hex(""), "");
  EXPECT_FALSE(decode_hex("abc").ok());
  EXPECT_FALSE(decode_hex("zz").ok());
  EXPECT_FALSE(decode_hex("0x12").ok());
}

TEST(RequestSpec, FromOptions) {
  Options o;
  o.protocol = Protocol::kGrpc;
  o.method = "POST";
  o.target.path = "/a.B/C";
  o.authority = "h:1";
  o.grpc_message = "m";
  const RequestSpec spec = make_request_spec(o);
  EXPECT_EQ(spec.body, grpc_frame("m"));
  EXPECT_EQ(spec.path, "/a.B/C");
  EXPECT_EQ(spec.authority, "h:1");
  o.protocol = Protocol::kHttp1;
  o.body = "plain";
  EXPECT_EQ(make_request_spec(o).body, "plain");
}

}  // namespace
}  // namespace trellis::bench::loadgen
