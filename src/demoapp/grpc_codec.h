#pragma once
// Splitting gRPC bodies into messages (framing itself is http/h2/grpc.h) and the demo's payloads, which are UTF-8 JSON documents instead of protobuf.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/h2/grpc.h"

namespace trellis::demoapp {

inline constexpr std::string_view kGrpcService = "trellis.demo.Demo";
inline constexpr std::string_view kHelloPath = "/trellis.demo.Demo/Hello";
inline constexpr std::string_view kStreamPath = "/trellis.demo.Demo/Stream";
// Bound on one message we accept (requests) or parse (upstream responses).
inline constexpr size_t kMaxGrpcMessage = 4 * 1024 * 1024;

using http::h2::grpc_frame;
// Splits a complete body into messages. Fails on a truncated frame, a compressed message (we
// never negotiate compression) or a message above kMaxGrpcMessage.
base::Result<std::vector<std::string>, std::string> grpc_unframe(std::string_view body);

}  // namespace trellis::demoapp
