#include "proxy/discovery/snapshot.h"

#include <charconv>

namespace trellis::proxy::discovery {

const char* to_string(ProtocolHint h) {
  switch (h) {
    case ProtocolHint::kUnknown: return "unknown";
    case ProtocolHint::kHttp2: return "h2";
    case ProtocolHint::kOpaque: return "opaque";
  }
  return "unknown";
}

const char* to_string(PolicySource s) {
  switch (s) {
    case PolicySource::kDefault: return "default";
    case PolicySource::kControl: return "control";
    case PolicySource::kStatic: return "static";
  }
  return "default";
}

Snapshot::Snapshot(std::vector<Service> services, uint64_t version)
    : services_(std::move(services)), version_(version) {}

Snapshot::Snapshot(std::vector<Service> services, uint64_t version, std::set<std::string> absent,
                   std::shared_ptr<LazyResolver> resolver)
    : services_(std::move(services)),
      version_(version),
      absent_(std::move(absent)),
      resolver_(std::move(resolver)) {}

net::awaitable<std::optional<Destination>> resolve_lazily(
    SnapshotPtr& snapshot, const std::optional<net::SocketAddress>& address,
    const std::string& authority, std::chrono::milliseconds timeout) {
  const std::shared_ptr<LazyResolver> resolver = snapshot->resolver();
  if (!resolver) co_return std::nullopt;
  std::string target;
  if (address) {
    target = address->to_string();
  } else {
    target = authority;
    const bool has_port = target.rfind(':') != std::string::npos &&
                          (target.find(']') == std::string::npos || target.back() != ']');
    if (!has_port) target += ":80";
  }
  if (target.empty() || target == ":80") co_return std::nullopt;
  auto lookup = [&](const Snapshot& s) -> std::optional<Destination> {
    if (address) return s.find_by_address(*address);
    return s.find_by_authority(target, resolver->context_namespace());
  };
  // The newest snapshot may already know it (short names resolve in our namespace here).
  SnapshotPtr latest = resolver->latest();
  if (auto d = lookup(*latest)) {
    snapshot = std::move(latest);
    co_return d;
  }
  if (latest->is_absent(target)) co_return std::nullopt;
  resolver->request(target);
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::chrono::milliseconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(step);
    auto [ec] = co_await timer.async_wait(net::use_nothrow);
    if (ec) co_return std::nullopt;
    step = std::min(step * 2, std::chrono::milliseconds(10));
    latest = resolver->latest();
    if (auto d = lookup(*latest)) {
      snapshot = std::move(latest);
      co_return d;
    }
    if (latest->is_absent(target)) co_return std::nullopt;
  }
  co_return std::nullopt;
}

std::optional<Destination> Snapshot::find_by_address(const net::SocketAddress& addr) const {
  for (const auto& svc : services_) {
    for (const auto& ip : svc.cluster_ips) {
      if (ip != addr.ip) continue;
      auto port = svc.ports.find(addr.port);
      if (port == svc.ports.end()) continue;
      return Destination{&svc, &port->second, svc.fqdn() + ":" + std::to_string(addr.port)};
    }
  }
  return std::nullopt;
}

std::optional<Destination> Snapshot::find_by_authority(std::string_view authority,
                                                       std::string_view client_ns) const {
  std::string_view host = authority;
  uint16_t port = 80;
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view p = authority.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (ec != std::errc() || ptr != p.data() + p.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    port = static_cast<uint16_t>(value);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // absolute FQDN
  for (const auto& svc : services_) {
    const std::string fqdn = svc.fqdn();
    const bool match = host == fqdn || host == svc.name + "." + svc.ns + ".svc" ||
                       host == svc.name + "." + svc.ns ||
                       (host == svc.name && svc.ns == client_ns);
    if (!match) continue;
    auto it = svc.ports.find(port);
    if (it == svc.ports.end()) return std::nullopt;
    return Destination{&svc, &it->second, fqdn + ":" + std::to_string(port)};
  }
  return std::nullopt;
}

const Endpoint* Snapshot::find_endpoint(const net::SocketAddress& addr) const {
  for (const auto& svc : services_) {
    for (const auto& [_, port] : svc.ports) {
      for (const auto& ep : port.endpoints) {
        if (ep.address == addr) return &ep;
      }
    }
  }
  return nullptr;
}

}  // namespace trellis::proxy::discovery
