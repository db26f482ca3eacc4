#include "net/socket_address.h"

#include <cstring>

namespace trellis::net {

base::Result<SocketAddress, std::string> SocketAddress::parse(std::string_view text) {
  const std::string orig(text);
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return base::unexpected("invalid address \"" + orig + "\": expected [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return base::unexpected("invalid address \"" + orig + "\": expected ip:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto ip = base::IpAddress::parse(host);
  if (!ip) return base::unexpected("invalid address \"" + orig + "\": " + ip.error());
  if (port.empty() || port.size() > 5) {
    return base::unexpected("invalid address \"" + orig + "\": bad port");
  }
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return base::unexpected("invalid address \"" + orig + "\": bad port");
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p > 65535) return base::unexpected("invalid address \"" + orig + "\": port out of range");
  return SocketAddress{*ip, static_cast<uint16_t>(p)};
}

SocketAddress SocketAddress::from_endpoint(const tcp::endpoint& ep) {
  SocketAddress out;
  const auto addr = ep.address();
  if (addr.is_v4()) {
    out.ip = base::IpAddress::v4(addr.to_v4().to_uint());
  } else if (addr.to_v6().is_v4_mapped()) {
    out.ip = base::IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_uint());
  } else {
    out.ip = *base::IpAddress::parse(addr.to_string());
  }
  out.port = ep.port();
  return out;
}

tcp::endpoint SocketAddress::endpoint() const {
  if (ip.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), ip.bytes().data(), 4);
    return {asio::ip::address_v4(b), port};
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), ip.bytes().data(), 16);
  return {asio::ip::address_v6(b), port};
}

std::string SocketAddress::to_string() const {
  if (ip.is_v4()) return ip.to_string() + ":" + std::to_string(port);
  return "[" + ip.to_string() + "]:" + std::to_string(port);
}

}  // namespace trellis::net
