#include "demoapp/grpc_codec.h"

#include <cstdint>

namespace trellis::demoapp {

std::string grpc_frame(std::string_view message) {
  std::string out;
  out.reserve(5 + message.size());
  const auto n = static_cast<uint32_t>(message.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(message);
  return out;
}

base::Result<std::vector<std::string>, std::string> grpc_unframe(std::string_view body) {
  std::vector<std::string> messages;
  while (!body.empty()) {
    if (body.size() < 5) return base::unexpected(std::string("truncated gRPC frame header"));
    const auto byte = [&](size_t i) {
      return static_cast<uint32_t>(static_cast<uint8_t>(body[i]));
    };
    if (byte(0) != 0) {
      return base::unexpected(std::string("compressed gRPC messages are not supported"));
    }
    const uint32_t n = byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4);
    if (n > kMaxGrpcMessage) return base::unexpected(std::string("gRPC message too large"));
    if (body.size() - 5 < n) return base::unexpected(std::string("truncated gRPC message"));
    messages.emplace_back(body.substr(5, n));
    body.remove_prefix(5 + n);
  }
  return messages;
}

}  // namespace trellis::demoapp
