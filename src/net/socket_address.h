#pragma once
// A strong type for an IP address and port: what the proxy connects to and listens on.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/address.h"
#include "base/result.h"
#include "net/asio.h"

namespace trellis::net {

struct SocketAddress {
  base::IpAddress ip;
  uint16_t port = 0;

  // "198.18.0.7:8080" or "[fd00::1]:8080"
  static base::Result<SocketAddress, std::string> parse(std::string_view text);
  static SocketAddress from_endpoint(const tcp::endpoint& ep);
  tcp::endpoint endpoint() const;
  std::string to_string() const;

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
  friend auto operator<=>(const SocketAddress&, const SocketAddress&) = default;
};

}  // namespace trellis::net
