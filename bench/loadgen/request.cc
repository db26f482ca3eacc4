#include "loadgen/request.h"

#include <fmt/format.h>

#include "base/strings.h"
#include "http/h1/chars.h"

namespace trellis::bench::loadgen {
namespace {

using base::unexpected;
namespace h1 = http::h1;

bool valid_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  for (char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
  }
  return true;
}

// What both writers check: the parts of a request that end up on the wire verbatim.
base::Result<base::Ok, std::string> validate(const RequestSpec& spec) {
  if (!h1::is_token(spec.method)) return unexpected(std::string("invalid method"));
  if (!valid_path(spec.path)) return unexpected(std::string("invalid path"));
  if (spec.authority.empty() || !h1::is_valid_authority(spec.authority, false)) {
    return unexpected(std::string("invalid authority"));
  }
  for (const Header& h : spec.headers) {
    if (!h1::is_valid_field_name(h.name) || !h1::is_valid_field_value(h.value)) {
      return unexpected(fmt::format("invalid header \"{}\"", h.name));
    }
    if (h1::is_hop_by_hop(h.name) || h1::iequals(h.name, "content-length") ||
        h1::iequals(h.name, "host")) {
      return unexpected(fmt::format("header \"{}\" is written by the generator", h.name));
    }
  }
  return base::Ok{};
}

bool wants_content_length(const RequestSpec& spec) {
  // A POST/PUT/PATCH without a body still says "Content-Length: 0", so servers need not guess.
  return !spec.body.empty() || spec.method == "POST" || spec.method == "PUT" ||
         spec.method == "PATCH";
}

}  // namespace

RequestSpec make_request_spec(const Options& options) {
  RequestSpec spec;
  spec.protocol = options.protocol;
  spec.method = options.method;
  spec.path = options.target.path;
  spec.authority = options.authority;
  spec.headers = options.headers;
  spec.body = options.protocol == Protocol::kGrpc ? grpc_frame(options.grpc_message)
                                                  : options.body;
  return spec;
}

base::Result<std::string, std::string> serialize_http1_request(const RequestSpec& spec) {
  if (auto ok = validate(spec); !ok) return unexpected(ok.error());
  std::string out;
  out.reserve(64 + spec.path.size() + spec.authority.size() + spec.body.size());
  out.append(spec.method).append(" ").append(spec.path).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(spec.authority).append("\r\n");
  for (const Header& h : spec.headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (wants_content_length(spec)) {
    out.append(fmt::format("Content-Length: {}\r\n", spec.body.size()));
  }
  out.append("\r\n");
  out.append(spec.body);
  return out;
}

base::Result<std::vector<Header>, std::string> http2_headers(const RequestSpec& spec) {
  if (auto ok = validate(spec); !ok) return unexpected(ok.error());
  std::vector<Header> out{{":method", spec.method},
                          {":scheme", "http"},
                          {":authority", spec.authority},
                          {":path", spec.path}};
  bool has_content_type = false;
  for (const Header& h : spec.headers) {
    out.push_back({base::to_lower(h.name), h.value});
    if (out.back().name == "content-type") has_content_type = true;
  }
  if (spec.protocol == Protocol::kGrpc) {
    if (!has_content_type) out.push_back({"content-type", "application/grpc"});
    out.push_back({"te", "trailers"});
  } else if (wants_content_length(spec)) {
    out.push_back({"content-length", std::to_string(spec.body.size())});
  }
  return out;
}

std::string grpc_frame(std::string_view message) {
  const auto n = static_cast<uint32_t>(message.size());
  std::string out;
  out.reserve(5 + message.size());
  out.push_back('\0');  // not compressed
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(message);
  return out;
}

base::Result<std::string, std::string> decode_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return unexpected(std::string("odd number of hex digits"));
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return unexpected(fmt::format("not a hex digit at offset {}", i));
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace trellis::bench::loadgen
