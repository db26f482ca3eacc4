#pragma once
// What the proxy knows about the mesh: services, their ports and endpoints. A Snapshot is
// immutable and shared across worker threads (DESIGN.md §7.2); a DiscoverySource publishes a new
// one on every change. The static file source (static_file.h) and, later, the control-plane
// client produce the same Snapshot.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/address.h"
#include "net/socket_address.h"

namespace trellis::proxy::discovery {

enum class ProtocolHint : uint8_t {
  kUnknown,  // detect
  kHttp2,    // the endpoint is meshed: speak HTTP/2 to its proxy
  kOpaque,   // never detect; forward bytes
};
const char* to_string(ProtocolHint h);

struct Endpoint {
  net::SocketAddress address;
  uint32_t weight = 1;
  std::string identity;  // expected mTLS identity of the endpoint's proxy; empty = not meshed
  ProtocolHint protocol_hint = ProtocolHint::kUnknown;
  // Metric labels, emitted as dst_<key> (pod, namespace, deployment, serviceaccount, ...).
  std::map<std::string, std::string> labels;
};

struct ServicePort {
  uint16_t port = 0;
  std::string name;
  bool opaque = false;
  std::vector<Endpoint> endpoints;
};

struct Service {
  std::string name;
  std::string ns;
  std::string cluster_domain = "cluster.local";
  std::vector<base::IpAddress> cluster_ips;
  std::map<uint16_t, ServicePort> ports;
  std::map<std::string, std::string> labels;

  // "web.emojivoto.svc.cluster.local"
  std::string fqdn() const { return name + "." + ns + ".svc." + cluster_domain; }
};

// The answer to "where does traffic for this target go?".
struct Destination {
  const Service* service = nullptr;
  const ServicePort* port = nullptr;
  // "web.emojivoto.svc.cluster.local:80" (the logical name used in metrics and routing)
  std::string authority;
};

class Snapshot {
 public:
  Snapshot() = default;
  explicit Snapshot(std::vector<Service> services, uint64_t version = 0);

  const std::vector<Service>& services() const { return services_; }
  uint64_t version() const { return version_; }

  // By original destination (a ClusterIP and port) — transparent mode.
  std::optional<Destination> find_by_address(const net::SocketAddress& addr) const;
  // By authority: "web", "web.ns", "web.ns.svc", "web.ns.svc.cluster.local", each with an
  // optional ":port" (default 80) — ingress mode (l5d-dst-override / Host). `client_ns` resolves
  // short names the way Kubernetes DNS search paths do.
  std::optional<Destination> find_by_authority(std::string_view authority,
                                               std::string_view client_ns = "default") const;
  // The endpoint metadata for a pod address (used for inbound labels and outbound dst_ labels).
  const Endpoint* find_endpoint(const net::SocketAddress& addr) const;

 private:
  std::vector<Service> services_;
  uint64_t version_ = 0;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// A source of snapshots. current() is safe to call from any thread; watchers are called on the
// source's own thread after each change (they typically post to workers).
class DiscoverySource {
 public:
  virtual ~DiscoverySource() = default;
  virtual SnapshotPtr current() const = 0;
  virtual void watch(std::function<void(SnapshotPtr)> on_change) = 0;
};

}  // namespace trellis::proxy::discovery
