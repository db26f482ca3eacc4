#include "http/h2/headers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace trellis::http::h2 {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields base_request() {
  return {{":method", "GET"}, {":scheme", "https"}, {":authority", "api.test:8443"},
          {":path", "/v1/items?id=7"}};
}

// Feeds `fields` to a request builder: the first field error, or the finish() result.
base::Result<RequestHead, HeaderError> build_request(const Fields& fields,
                                                     size_t max_bytes = 65536,
                                                     size_t max_fields = 100) {
  RequestHeadBuilder b(max_bytes, max_fields);
  for (const auto& [n, v] : fields) {
    if (auto e = b.add(n, v)) return base::unexpected(*e);
  }
  return b.finish();
}

std::optional<HeaderError> request_error(const Fields& fields) {
  auto r = build_request(fields);
  if (r) return std::nullopt;
  return r.error();
}

Fields with(Fields f, const Fields& extra) {
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

TEST(H2Headers, FieldChecks) {
  EXPECT_EQ(check_field("x-ok", "value with spaces inside"), std::nullopt);
  EXPECT_EQ(check_field("x-tab", "a\tb"), std::nullopt);
  EXPECT_EQ(check_field("x-empty", ""), std::nullopt);
  EXPECT_EQ(check_field("x-utf8", "caf\xC3\xA9"), std::nullopt);  // obs-text is allowed
  EXPECT_EQ(check_field("", "v"), HeaderError::kInvalidName);
  EXPECT_EQ(check_field("X-Upper", "v"), HeaderError::kUppercaseName);
  EXPECT_EQ(check_field("bad name", "v"), HeaderError::kInvalidName);
  EXPECT_EQ(check_field("bad:name", "v"), HeaderError::kInvalidName);
  EXPECT_EQ(check_field("x-a", "a\rb"), HeaderError::kInvalidValue);
  EXPECT_EQ(check_field("x-a", "a\nb"), HeaderError::kInvalidValue);
  EXPECT_EQ(check_field("x-a", std::string("a\0b", 3)), HeaderError::kInvalidValue);
  EXPECT_EQ(check_field("x-a", "a\x7f"), HeaderError::kInvalidValue);
  EXPECT_EQ(check_field("x-a", " lead"), HeaderError::kValueWhitespace);
  EXPECT_EQ(check_field("x-a", "trail\t"), HeaderError::kValueWhitespace);
  for (const char* name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                           "upgrade"}) {
    EXPECT_EQ(check_field(name, "x"), HeaderError::kConnectionSpecific) << name;
  }
  EXPECT_EQ(check_field("te", "trailers"), std::nullopt);
  EXPECT_EQ(check_field("te", "gzip"), HeaderError::kInvalidTe);
  EXPECT_EQ(check_field("te", "trailers, gzip"), HeaderError::kInvalidTe);
}

TEST(H2Headers, BuildsARequestHead) {
  auto head = build_request(with(base_request(), {{"accept", "*/*"},
                                                  {"cookie", "a=1"},
                                                  {"x-b", "2"},
                                                  {"cookie", "b=2"},
                                                  {"content-length", "0"}}));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->method, "GET");
  EXPECT_EQ(head->scheme, "https");
  EXPECT_EQ(head->authority, "api.test:8443");
  EXPECT_EQ(head->path, "/v1/items?id=7");
  EXPECT_EQ(head->version, Version::kHttp2);
  EXPECT_EQ(head->headers.get("accept"), "*/*");
  EXPECT_EQ(head->headers.get("content-length"), "0");
  // RFC 9113 §8.2.3: cookie crumbs become one field for HTTP/1.
  EXPECT_EQ(head->headers.get_all("cookie").size(), 1u);
  EXPECT_EQ(head->headers.get("cookie"), "a=1; b=2");
  EXPECT_FALSE(head->headers.contains(":path"));
}

TEST(H2Headers, PseudoHeaderRules) {
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}}),
            HeaderError::kMissingPseudo);
  EXPECT_EQ(request_error({{":scheme", "http"}, {":path", "/"}}), HeaderError::kMissingPseudo);
  EXPECT_EQ(request_error(with(base_request(), {{":method", "POST"}})),
            HeaderError::kDuplicatePseudo);
  EXPECT_EQ(request_error({{":method", "GET"}, {"x-a", "1"}, {":scheme", "http"}, {":path", "/"}}),
            HeaderError::kPseudoAfterRegular);
  EXPECT_EQ(request_error(with(base_request(), {{":status", "200"}})),
            HeaderError::kUnknownPseudo);
  EXPECT_EQ(request_error(with(base_request(), {{":protocol", "websocket"}})),
            HeaderError::kUnknownPseudo);
  EXPECT_EQ(request_error({{":method", "G ET"}, {":scheme", "http"}, {":path", "/"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "1http"}, {":path", "/"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":path", "relative"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":path", ""}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":path", "/a b"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":path", "/a#frag"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":path", "/caf\xC3\xA9"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error(
                {{":method", "GET"}, {":scheme", "http"}, {":authority", "u@h"}, {":path", "/"}}),
            HeaderError::kInvalidPseudoValue);
  // "*" only for OPTIONS.
  EXPECT_EQ(request_error({{":method", "GET"}, {":scheme", "http"}, {":path", "*"}}),
            HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(request_error({{":method", "OPTIONS"}, {":scheme", "http"}, {":path", "*"}}),
            std::nullopt);
}

TEST(H2Headers, ConnectRequests) {
  auto head = build_request({{":method", "CONNECT"}, {":authority", "db.internal:5432"}});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->authority, "db.internal:5432");
  EXPECT_EQ(head->path, "");
  EXPECT_EQ(request_error({{":method", "CONNECT"}}), HeaderError::kMissingPseudo);
  EXPECT_EQ(request_error({{":method", "CONNECT"}, {":authority", "a:1"}, {":path", "/"}}),
            HeaderError::kInvalidPseudoValue);
}

TEST(H2Headers, HostAndAuthority) {
  Fields no_authority = {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}};
  auto folded = build_request(with(no_authority, {{"host", "svc.ns:80"}}));
  ASSERT_TRUE(folded.ok());
  EXPECT_EQ(folded->authority, "svc.ns:80");
  EXPECT_FALSE(folded->headers.contains("host"));  // the head keeps no Host field

  auto same = build_request(with(base_request(), {{"host", "API.test:8443"}}));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->authority, "api.test:8443");
  EXPECT_EQ(request_error(with(base_request(), {{"host", "evil.test"}})),
            HeaderError::kAuthorityMismatch);
  EXPECT_EQ(request_error(with(no_authority, {{"host", "a"}, {"host", "a"}})),
            HeaderError::kAuthorityMismatch);
}

TEST(H2Headers, ContentLength) {
  EXPECT_EQ(parse_content_length("0"), 0u);
  EXPECT_EQ(parse_content_length("1234567890"), 1234567890u);
  EXPECT_EQ(parse_content_length("9999999999999999999"), 9999999999999999999u);
  for (const char* bad : {"", "-1", "+1", "1 ", " 1", "1,1", "0x10", "18446744073709551616"}) {
    EXPECT_EQ(parse_content_length(bad), std::nullopt) << bad;
  }
  RequestHeadBuilder b(65536, 100);
  for (const auto& [n, v] : base_request()) ASSERT_EQ(b.add(n, v), std::nullopt);
  EXPECT_EQ(b.add("content-length", "42"), std::nullopt);
  EXPECT_EQ(b.add("content-length", "42"), std::nullopt);  // identical duplicate
  EXPECT_EQ(b.content_length(), 42u);
  auto head = b.finish();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->headers.get_all("content-length").size(), 1u);
  EXPECT_EQ(request_error(with(base_request(), {{"content-length", "1"}, {"content-length", "2"}})),
            HeaderError::kInvalidContentLength);
  EXPECT_EQ(request_error(with(base_request(), {{"content-length", "abc"}})),
            HeaderError::kInvalidContentLength);
}

TEST(H2Headers, BudgetCountsNameValueAnd32PerField) {
  // Four pseudo-headers: (7+3) + (7+5) + (10+13) + (5+14) + 4×32 = 192 bytes.
  EXPECT_TRUE(build_request(base_request(), 192).ok());
  EXPECT_EQ(build_request(base_request(), 191).error(), HeaderError::kTooLarge);
  EXPECT_EQ(build_request(with(base_request(), {{"a", ""}}), 1000, 4).error(),
            HeaderError::kTooManyFields);
  FieldBudget budget(100, 10);
  EXPECT_EQ(budget.charge("x", "yy"), std::nullopt);
  EXPECT_EQ(budget.used(), 35u);
}

TEST(H2Headers, ResponseHead) {
  ResponseHeadBuilder b(65536, 100);
  EXPECT_EQ(b.add(":status", "404"), std::nullopt);
  EXPECT_EQ(b.add("content-type", "text/plain"), std::nullopt);
  EXPECT_EQ(b.add("content-length", "9"), std::nullopt);
  auto head = b.finish();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->status, 404);
  EXPECT_EQ(head->version, Version::kHttp2);
  EXPECT_EQ(b.content_length(), 9u);

  auto status_error = [](std::string status) -> std::optional<HeaderError> {
    ResponseHeadBuilder r(65536, 100);
    if (auto e = r.add(":status", status)) return e;
    auto h = r.finish();
    return h ? std::nullopt : std::optional(h.error());
  };
  EXPECT_EQ(status_error("200"), std::nullopt);
  EXPECT_EQ(status_error("103"), std::nullopt);
  EXPECT_EQ(status_error("101"), HeaderError::kInvalidPseudoValue);  // no Upgrade in HTTP/2
  EXPECT_EQ(status_error("2000"), HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(status_error("20"), HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(status_error("600"), HeaderError::kInvalidPseudoValue);
  EXPECT_EQ(status_error("2a0"), HeaderError::kInvalidPseudoValue);

  ResponseHeadBuilder missing(65536, 100);
  EXPECT_EQ(missing.add("x-a", "1"), std::nullopt);
  EXPECT_EQ(missing.finish().error(), HeaderError::kMissingPseudo);
  ResponseHeadBuilder request_pseudo(65536, 100);
  EXPECT_EQ(request_pseudo.add(":path", "/"), HeaderError::kUnknownPseudo);
  ResponseHeadBuilder twice(65536, 100);
  EXPECT_EQ(twice.add(":status", "200"), std::nullopt);
  EXPECT_EQ(twice.add(":status", "200"), HeaderError::kDuplicatePseudo);
}

TEST(H2Headers, Trailers) {
  TrailersBuilder b(65536, 100);
  EXPECT_EQ(b.add("grpc-status", "0"), std::nullopt);
  EXPECT_EQ(b.add(":status", "200"), HeaderError::kPseudoInTrailers);
  TrailersBuilder c(65536, 100);
  EXPECT_EQ(c.add("Grpc-Status", "0"), HeaderError::kUppercaseName);
  auto t = b.finish();
  EXPECT_EQ(t.get("grpc-status"), "0");
}

TEST(H2Headers, OutboundRequestFields) {
  RequestHead head;
  head.method = "POST";
  head.scheme = "https";
  head.path = "/upload";
  head.headers.add("host", "files.test");          // becomes :authority
  head.headers.add("connection", "keep-alive");    // hop-by-hop: dropped
  head.headers.add("keep-alive", "timeout=5");     // dropped
  head.headers.add("transfer-encoding", "chunked");  // dropped
  head.headers.add("te", "trailers");              // kept: gRPC needs it
  head.headers.add("x-bad", "a\r\nInjected: 1");   // dropped: would split an HTTP/1 head
  head.headers.add("x-padded", "  v  ");           // trimmed
  head.headers.add("content-type", "text/plain");
  auto out = request_fields(head);
  const std::vector<Header> expected = {{":method", "POST"},     {":scheme", "https"},
                                        {":authority", "files.test"}, {":path", "/upload"},
                                        {"te", "trailers"},      {"x-padded", "v"},
                                        {"content-type", "text/plain"}};
  ASSERT_EQ(out.fields.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(out.fields[i].name, expected[i].name) << i;
    EXPECT_EQ(out.fields[i].value, expected[i].value) << i;
  }
  EXPECT_EQ(out.dropped, 4u);

  RequestHead gzip_te;
  gzip_te.method = "GET";
  gzip_te.path = "/";
  gzip_te.authority = "a";
  gzip_te.headers.add("te", "gzip");
  auto g = request_fields(gzip_te);
  EXPECT_EQ(g.fields.size(), 4u);  // :scheme defaults to http, te dropped
  EXPECT_EQ(g.fields[1].value, "http");
  EXPECT_EQ(g.dropped, 1u);

  RequestHead connect;
  connect.method = "CONNECT";
  connect.authority = "db:5432";
  auto c = request_fields(connect);
  ASSERT_EQ(c.fields.size(), 2u);
  EXPECT_EQ(c.fields[1].name, ":authority");
}

TEST(H2Headers, OutboundResponseAndTrailerFields) {
  ResponseHead head;
  head.status = 503;
  head.headers.add("content-type", "text/plain");
  head.headers.add("upgrade", "h2c");
  head.headers.add("te", "trailers");  // meaningless in a response
  auto out = response_fields(head);
  ASSERT_EQ(out.fields.size(), 2u);
  EXPECT_EQ(out.fields[0].name, ":status");
  EXPECT_EQ(out.fields[0].value, "503");
  EXPECT_EQ(out.dropped, 2u);

  Headers trailers{{"grpc-status", "0"}, {"x-nul", std::string("a\0", 2)}};
  auto t = trailer_fields(trailers);
  ASSERT_EQ(t.fields.size(), 1u);
  EXPECT_EQ(t.fields[0].name, "grpc-status");
  EXPECT_EQ(t.dropped, 1u);
}

}  // namespace
}  // namespace trellis::http::h2
