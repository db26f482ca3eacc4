#pragma once
// The one request a run sends, written once per run: the HTTP/1 bytes (our own minimal writer:
// request-line, Host, the user's fields, Content-Length when there is a body) or the HTTP/2
// header list (pseudo-headers first, names lower-cased), plus the gRPC message framing.
// Everything is validated again here, so a bad value can never reach the wire even if a caller
// skipped parse_options().

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "loadgen/options.h"

namespace trellis::bench::loadgen {

struct RequestSpec {
  Protocol protocol = Protocol::kHttp1;
  std::string method = "GET";
  std::string path = "/";
  std::string authority;
  std::vector<Header> headers;  // the user's, in order
  std::string body;             // the bytes after the head; gRPC: the framed message
};

RequestSpec make_request_spec(const Options& options);

// "METHOD path HTTP/1.1", Host, the user's fields, Content-Length if the body is non-empty or
// the method is POST/PUT/PATCH, the blank line, then the body.
base::Result<std::string, std::string> serialize_http1_request(const RequestSpec& spec);

// :method, :scheme (http), :authority, :path, then the user's fields lower-cased; for gRPC also
// content-type: application/grpc (unless given) and te: trailers.
base::Result<std::vector<Header>, std::string> http2_headers(const RequestSpec& spec);

// A gRPC length-prefixed message: compressed-flag 0, 4-byte big-endian length, the bytes.
std::string grpc_frame(std::string_view message);

// Hex (either case, even length, nothing else) to bytes.
base::Result<std::string, std::string> decode_hex(std::string_view hex);

}  // namespace trellis::bench::loadgen
