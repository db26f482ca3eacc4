#pragma once
// Every response the proxy generates itself is built here (DESIGN.md §7.6), with Linkerd's
// status codes, an `l5d-proxy-error` header naming the cause, and for gRPC requests the matching
// grpc-status in a trailers-only response (HTTP 200) so gRPC clients see a proper status.

#include <string>
#include <string_view>

#include "http/service.h"

namespace trellis::proxy {

enum class ProxyError : uint8_t {
  kUnauthorized,    // 403, PERMISSION_DENIED
  kRateLimited,     // 429, RESOURCE_EXHAUSTED
  kNoRoute,         // 404, NOT_FOUND
  kConnectFailed,   // 502, UNAVAILABLE
  kUpstreamError,   // 502, UNAVAILABLE: the endpoint broke the protocol or reset
  kFailFast,        // 503, UNAVAILABLE: no endpoint became available in time
  kQueueFull,       // 503, UNAVAILABLE: load shed
  kTimeout,         // 504, DEADLINE_EXCEEDED
  kLoop,            // 508, ABORTED
  kInternal,        // 500, INTERNAL
};

const char* to_string(ProxyError e);  // metric label value, e.g. "connect_failed"
int http_status(ProxyError e);
int grpc_status(ProxyError e);

bool is_grpc_request(const http::RequestHead& head);

// The response for `error`; `detail` goes into l5d-proxy-error (and grpc-message).
// What error_response needs of a request whose head is about to be moved on: the request line
// and the content-type (gRPC or not), without the other headers.
http::RequestHead error_head_of(const http::RequestHead& request);

http::Response error_response(ProxyError error, const http::RequestHead& request,
                              std::string_view detail);

}  // namespace trellis::proxy
