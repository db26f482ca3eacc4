#pragma once
// gRPC message framing (the 5-byte prefix: compressed flag, 4-byte big-endian length) and the
// demo's payloads, which are UTF-8 JSON documents instead of protobuf.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trellis::demoapp {

inline constexpr std::string_view kGrpcService = "trellis.demo.Demo";
inline constexpr std::string_view kHelloPath = "/trellis.demo.Demo/Hello";
inline constexpr std::string_view kStreamPath = "/trellis.demo.Demo/Stream";
// Bound on one message we accept (requests) or parse (upstream responses).
inline constexpr size_t kMaxGrpcMessage = 4 * 1024 * 1024;

std::string grpc_frame(std::string_view message);
// Splits a complete body into messages. Fails on a truncated frame, a compressed message (we
// never negotiate compression) or a message above kMaxGrpcMessage.
base::Result<std::vector<std::string>, std::string> grpc_unframe(std::string_view body);

}  // namespace trellis::demoapp
