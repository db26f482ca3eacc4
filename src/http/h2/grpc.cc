#include "http/h2/grpc.h"

#include <array>
#include <cstdint>
#include <limits>

#include "http/body.h"

namespace trellis::http::h2 {
namespace {

struct Unit {
  char symbol;
  int64_t nanos;
};
// Finest first.
constexpr std::array<Unit, 6> kUnits{{{'n', 1},
                                      {'u', 1'000},
                                      {'m', 1'000'000},
                                      {'S', 1'000'000'000},
                                      {'M', 60'000'000'000},
                                      {'H', 3'600'000'000'000}}};
constexpr int64_t kMaxValue = 99'999'999;  // 8 digits

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool is_grpc(const Headers& headers) {
  auto ct = headers.get("content-type");
  if (!ct) return false;
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct->size() < kGrpc.size()) return false;
  for (size_t i = 0; i < kGrpc.size(); ++i) {
    char c = (*ct)[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kGrpc[i]) return false;
  }
  if (ct->size() == kGrpc.size()) return true;
  const char next = (*ct)[kGrpc.size()];
  return next == '+' || next == ';';
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');  // at most 8 digits: cannot overflow
  }
  for (const auto& unit : kUnits) {
    if (unit.symbol != value.back()) continue;
    // 99,999,999 hours is ~3.6e23 ns; saturate rather than wrap.
    if (amount > std::numeric_limits<int64_t>::max() / unit.nanos) {
      return std::chrono::nanoseconds::max();
    }
    return std::chrono::nanoseconds(amount * unit.nanos);
  }
  return std::nullopt;
}

std::string format_grpc_timeout(std::chrono::nanoseconds timeout) {
  const int64_t ns = std::max<int64_t>(0, timeout.count());
  // The coarsest unit that represents the value exactly ("1S", not "1000000u")...
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (ns % it->nanos == 0 && ns / it->nanos <= kMaxValue) {
      return std::to_string(ns / it->nanos) + it->symbol;
    }
  }
  // ...else the finest unit that fits in 8 digits, rounded up so the deadline is never shortened.
  for (const auto& unit : kUnits) {
    const int64_t rounded_up = ns / unit.nanos + (ns % unit.nanos != 0 ? 1 : 0);
    if (rounded_up <= kMaxValue) return std::to_string(rounded_up) + unit.symbol;
  }
  return std::to_string(kMaxValue) + "H";
}

std::string percent_encode_grpc_message(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u <= 0x7e && c != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::string percent_decode_grpc_message(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '%' && i + 2 < message.size()) {
      const int hi = hex_value(message[i + 1]);
      const int lo = hex_value(message[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(message[i]);
  }
  return out;
}

Response make_grpc_trailers_only(GrpcStatus status, std::string_view message) {
  Response r;
  r.head.status = 200;
  r.head.version = Version::kHttp2;
  r.head.headers.add("content-type", "application/grpc");
  r.head.headers.add("grpc-status", std::to_string(static_cast<int>(status)));
  if (!message.empty()) r.head.headers.add("grpc-message", percent_encode_grpc_message(message));
  r.body = make_empty_body();
  return r;
}

std::string grpc_frame(std::string_view message) {
  std::string out;
  out.reserve(kGrpcFrameHeaderBytes + message.size());
  const auto n = static_cast<uint32_t>(message.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(message);
  return out;
}

std::optional<GrpcFrameHeader> parse_grpc_frame_header(std::string_view bytes) {
  if (bytes.size() < kGrpcFrameHeaderBytes) return std::nullopt;
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
  return GrpcFrameHeader{byte(0) != 0, byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4)};
}

}  // namespace trellis::http::h2
