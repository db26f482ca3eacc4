#pragma once
// gRPC over HTTP/2 helpers the proxy needs without a gRPC runtime: recognising gRPC requests,
// reading their deadline, and answering with a trailers-only error (gRPC's PROTOCOL-HTTP2.md).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/service.h"

namespace trellis::http::h2 {

// The gRPC status codes (grpc/doc/statuscodes.md).
enum class GrpcStatus : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// content-type is application/grpc, optionally followed by "+format" or parameters.
bool is_grpc(const Headers& headers);

// grpc-timeout = 1*8DIGIT unit, unit one of H M S m u n. Saturates instead of overflowing
// (CVE-2021-28682); nullopt when malformed.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value);
// `timeout` in the coarsest exact unit, or rounded up when 8 digits can't hold it exactly.
std::string format_grpc_timeout(std::chrono::nanoseconds timeout);

// grpc-message percent-encoding: bytes outside 0x20..0x7E and '%' become %XX.
std::string percent_encode_grpc_message(std::string_view message);
// Lenient decoding, as the spec asks of receivers: an invalid escape is kept as is.
std::string percent_decode_grpc_message(std::string_view message);

// gRPC's length-prefixed message framing: a compressed flag byte, a 4-byte big-endian length,
// the message.
inline constexpr size_t kGrpcFrameHeaderBytes = 5;
std::string grpc_frame(std::string_view message);
struct GrpcFrameHeader {
  bool compressed = false;
  uint32_t length = 0;
};
// The header at the start of `bytes`; nullopt while fewer than 5 bytes are there.
std::optional<GrpcFrameHeader> parse_grpc_frame_header(std::string_view bytes);

// A trailers-only response for errors the proxy generates: HTTP 200, content-type
// application/grpc, grpc-status and (when non-empty) the percent-encoded grpc-message, no body —
// so HTTP/2 sends one HEADERS frame with END_STREAM.
Response make_grpc_trailers_only(GrpcStatus status, std::string_view message);

}  // namespace trellis::http::h2
