#pragma once
// Strong types for IP addresses and networks (CIDRs), used by resources (ServerAuthorization
// networks, EgressNetwork) and by the proxy (authorization, original destinations).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trellis::base {

class IpAddress {
 public:
  enum class Family : uint8_t { kV4, kV6 };

  IpAddress() = default;
  static IpAddress v4(uint32_t host_order);
  static Result<IpAddress, std::string> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  // Network-order bytes; v4 uses the first 4.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::kV4;
  std::array<uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  Cidr() = default;
  // Accepts "10.0.0.0/8", "fd00::/8", and a bare address (a host route: /32 or /128).
  static Result<Cidr, std::string> parse(std::string_view text);

  const IpAddress& address() const { return address_; }
  int prefix_length() const { return prefix_; }
  bool contains(const IpAddress& ip) const;
  // True if the address has bits set beyond the prefix ("10.1.2.3/8").
  bool has_host_bits() const;
  std::string to_string() const;

  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  IpAddress address_;
  int prefix_ = 0;
};

}  // namespace trellis::base
