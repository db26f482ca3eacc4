#include "base/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace trellis::base {

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.family_ = Family::kV4;
  a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<uint8_t>(host_order);
  return a;
}

Result<IpAddress, std::string> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) {
    return unexpected("invalid IP address \"" + std::string(text) + "\"");
  }
  std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1) {
      return unexpected("invalid IP address \"" + s + "\"");
    }
    a.family_ = Family::kV4;
    std::memcpy(a.bytes_.data(), &v4, 4);
  } else {
    in6_addr v6{};
    if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) {
      return unexpected("invalid IP address \"" + s + "\"");
    }
    a.family_ = Family::kV6;
    std::memcpy(a.bytes_.data(), &v6, 16);
  }
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

Result<Cidr, std::string> Cidr::parse(std::string_view text) {
  Cidr c;
  const size_t slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) {
    return unexpected("invalid CIDR \"" + std::string(text) +
                      "\": expected an address and prefix length such as \"10.0.0.0/8\"");
  }
  c.address_ = *addr;
  const int max = addr->is_v4() ? 32 : 128;
  if (slash == std::string_view::npos) {
    c.prefix_ = max;
    return c;
  }
  std::string_view len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3) {
    return unexpected("invalid CIDR \"" + std::string(text) + "\": bad prefix length");
  }
  int v = 0;
  for (char ch : len) {
    if (ch < '0' || ch > '9') {
      return unexpected("invalid CIDR \"" + std::string(text) + "\": bad prefix length");
    }
    v = v * 10 + (ch - '0');
  }
  if (v > max) {
    return unexpected("invalid CIDR \"" + std::string(text) + "\": prefix length " +
                      std::to_string(v) + " exceeds " + std::to_string(max));
  }
  c.prefix_ = v;
  return c;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.family() != address_.family()) return false;
  int bits = prefix_;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes()[i] & mask) != (address_.bytes()[i] & mask)) return false;
  }
  return true;
}

bool Cidr::has_host_bits() const {
  const int total = address_.is_v4() ? 32 : 128;
  for (int bit = prefix_; bit < total; ++bit) {
    if (address_.bytes()[bit / 8] & (0x80 >> (bit % 8))) return true;
  }
  return false;
}

std::string Cidr::to_string() const {
  return address_.to_string() + "/" + std::to_string(prefix_);
}

}  // namespace trellis::base
