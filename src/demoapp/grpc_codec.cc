#include "demoapp/grpc_codec.h"

#include <cstdint>

namespace trellis::demoapp {

base::Result<std::vector<std::string>, std::string> grpc_unframe(std::string_view body) {
  std::vector<std::string> messages;
  while (!body.empty()) {
    const auto header = http::h2::parse_grpc_frame_header(body);
    if (!header) return base::unexpected(std::string("truncated gRPC frame header"));
    if (header->compressed) {
      return base::unexpected(std::string("compressed gRPC messages are not supported"));
    }
    const uint32_t n = header->length;
    if (n > kMaxGrpcMessage) return base::unexpected(std::string("gRPC message too large"));
    if (body.size() - 5 < n) return base::unexpected(std::string("truncated gRPC message"));
    messages.emplace_back(body.substr(5, n));
    body.remove_prefix(5 + n);
  }
  return messages;
}

}  // namespace trellis::demoapp
