#include "proxy/errors.h"

#include <gtest/gtest.h>

namespace trellis::proxy {
namespace {

TEST(ProxyErrors, StatusCodesMatchLinkerd) {
  EXPECT_EQ(http_status(ProxyError::kConnectFailed), 502);
  EXPECT_EQ(http_status(ProxyError::kFailFast), 503);
  EXPECT_EQ(http_status(ProxyError::kTimeout), 504);
  EXPECT_EQ(http_status(ProxyError::kUnauthorized), 403);
  EXPECT_EQ(http_status(ProxyError::kRateLimited), 429);
  EXPECT_EQ(http_status(ProxyError::kLoop), 508);
  EXPECT_EQ(grpc_status(ProxyError::kTimeout), 4);
  EXPECT_EQ(grpc_status(ProxyError::kFailFast), 14);
}

TEST(ProxyErrors, HttpResponseCarriesTheCause) {
  http::RequestHead req;
  req.method = "GET";
  auto r = error_response(ProxyError::kConnectFailed, req, "connect to 10.0.0.1:80: refused\r\nx");
  EXPECT_EQ(r.head.status, 502);
  EXPECT_EQ(*r.head.headers.get("l5d-proxy-error"), "connect to 10.0.0.1:80: refused  x");
  EXPECT_EQ(*r.head.headers.get("connection"), "close");
}

TEST(ProxyErrors, ErrorHeadKeepsTheRequestLineAndContentTypeOnly) {
  http::RequestHead req;
  req.method = "POST";
  req.authority = "web:80";
  req.path = "/svc.Greeter/Hello";
  req.headers.add("content-type", "application/grpc");
  req.headers.add("authorization", "secret");
  const http::RequestHead head = error_head_of(req);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.authority, "web:80");
  EXPECT_EQ(head.path, "/svc.Greeter/Hello");
  EXPECT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(*head.headers.get("content-type"), "application/grpc");
  EXPECT_TRUE(is_grpc_request(head));
}

TEST(ProxyErrors, GrpcGetsTrailersOnly) {
  http::RequestHead req;
  req.method = "POST";
  req.headers.add("content-type", "application/grpc+proto");
  auto r = error_response(ProxyError::kTimeout, req, "request timed out after 5s (100%)");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(*r.head.headers.get("grpc-status"), "4");
  EXPECT_EQ(*r.head.headers.get("grpc-message"), "request timed out after 5s (100%25)");
  EXPECT_TRUE(r.body->is_empty());
}

}  // namespace
}  // namespace trellis::proxy
