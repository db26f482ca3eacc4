#include "proxy/errors.h"

namespace trellis::proxy {
namespace {

// grpc-message is percent-encoded (gRPC over HTTP/2 spec): printable ASCII except '%' as is.
std::string grpc_percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  return out;
}

// Header values must not carry CR/LF/NUL whatever the detail text contains.
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 512)) out.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
  return out;
}

}  // namespace

const char* to_string(ProxyError e) {
  switch (e) {
    case ProxyError::kUnauthorized: return "unauthorized";
    case ProxyError::kRateLimited: return "rate_limited";
    case ProxyError::kNoRoute: return "no_route";
    case ProxyError::kConnectFailed: return "connect_failed";
    case ProxyError::kUpstreamError: return "upstream_error";
    case ProxyError::kFailFast: return "fail_fast";
    case ProxyError::kQueueFull: return "queue_full";
    case ProxyError::kTimeout: return "timeout";
    case ProxyError::kLoop: return "loop_detected";
    case ProxyError::kInternal: return "internal";
  }
  return "internal";
}

int http_status(ProxyError e) {
  switch (e) {
    case ProxyError::kUnauthorized: return 403;
    case ProxyError::kRateLimited: return 429;
    case ProxyError::kNoRoute: return 404;
    case ProxyError::kConnectFailed:
    case ProxyError::kUpstreamError: return 502;
    case ProxyError::kFailFast:
    case ProxyError::kQueueFull: return 503;
    case ProxyError::kTimeout: return 504;
    case ProxyError::kLoop: return 508;
    case ProxyError::kInternal: return 500;
  }
  return 500;
}

int grpc_status(ProxyError e) {
  switch (e) {
    case ProxyError::kUnauthorized: return 7;    // PERMISSION_DENIED
    case ProxyError::kRateLimited: return 8;     // RESOURCE_EXHAUSTED
    case ProxyError::kNoRoute: return 5;         // NOT_FOUND
    case ProxyError::kConnectFailed:
    case ProxyError::kUpstreamError:
    case ProxyError::kFailFast:
    case ProxyError::kQueueFull: return 14;      // UNAVAILABLE
    case ProxyError::kTimeout: return 4;         // DEADLINE_EXCEEDED
    case ProxyError::kLoop: return 10;           // ABORTED
    case ProxyError::kInternal: return 13;       // INTERNAL
  }
  return 13;
}

bool is_grpc_request(const http::RequestHead& head) {
  auto ct = head.headers.get("content-type");
  return ct && ct->substr(0, 16) == "application/grpc";
}

http::RequestHead error_head_of(const http::RequestHead& request) {
  http::RequestHead head{request.method, request.scheme, request.authority,
                         request.path,   request.version, {}};
  if (auto ct = request.headers.get("content-type")) head.headers.add("content-type", *ct);
  return head;
}

http::Response error_response(ProxyError error, const http::RequestHead& request,
                              std::string_view detail) {
  const std::string text = header_safe(detail.empty() ? std::string_view(to_string(error)) : detail);
  if (is_grpc_request(request)) {
    http::Response r;
    r.head.status = 200;
    r.head.headers.add("content-type", "application/grpc");
    r.head.headers.add("grpc-status", std::to_string(grpc_status(error)));
    r.head.headers.add("grpc-message", grpc_percent_encode(text));
    r.head.headers.add("l5d-proxy-error", text);
    r.body = http::make_empty_body();
    return r;
  }
  http::Response r = http::make_response(http_status(error), text + "\n");
  r.head.headers.add("l5d-proxy-error", text);
  // 502/503/504/508/500 close the client connection, as Linkerd does.
  const int status = http_status(error);
  if (status >= 500) r.head.headers.add("connection", "close");
  return r;
}

}  // namespace trellis::proxy
