#pragma once
// What the proxy knows about the mesh: services, their ports and endpoints. A Snapshot is
// immutable and shared across worker threads (DESIGN.md §7.2); a DiscoverySource publishes a new
// one on every change. The static file source (static_file.h) and, later, the control-plane
// client produce the same Snapshot.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/address.h"
#include "net/asio.h"
#include "net/socket_address.h"

namespace trellis::proxy::route {
class RouteTable;  // route/route_table.h (which includes this header through balance/p2c.h)
}

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
  // When non-zero, connect to this port of the endpoint instead (its proxy's inbound port, for
  // opaque transport).
  uint16_t opaque_transport_port = 0;
  // Metric labels, emitted as dst_<key> (pod, namespace, deployment, serviceaccount, ...).
  std::map<std::string, std::string> labels;
};

// Where a service port's traffic policy came from (the `source` of /config_dump).
enum class PolicySource : uint8_t {
  kDefault,  // none: one default route to the authority itself (no route metrics)
  kControl,  // Destination.GetProfile (Profile.policy)
  kStatic,   // the static discovery file (ports[].policy)
};
const char* to_string(PolicySource s);  // "default" | "control" | "static"

struct ServicePort {
  uint16_t port = 0;
  std::string name;
  bool opaque = false;
  std::vector<Endpoint> endpoints;
  // The traffic policy, compiled once per policy version and shared by every snapshot that
  // carries it; null with kDefault.
  std::shared_ptr<const route::RouteTable> routes;
  PolicySource policy_source = PolicySource::kDefault;
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

class LazyResolver;

class Snapshot {
 public:
  Snapshot() = default;
  explicit Snapshot(std::vector<Service> services, uint64_t version = 0);
  // A snapshot of a source that resolves targets on demand: `absent` lists the targets the
  // source knows are not mesh services ("198.19.0.9:80", "example.com:443"), `resolver` is how
  // to ask for one it has not seen yet.
  Snapshot(std::vector<Service> services, uint64_t version, std::set<std::string> absent,
           std::shared_ptr<LazyResolver> resolver);

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

  // Lazy resolution (control-plane discovery). A static source has no resolver: a miss is final.
  const std::shared_ptr<LazyResolver>& resolver() const { return resolver_; }
  bool is_absent(const std::string& target) const { return absent_.count(target) != 0; }
  const std::set<std::string>& absent() const { return absent_; }

 private:
  std::vector<Service> services_;
  uint64_t version_ = 0;
  std::set<std::string> absent_;
  std::shared_ptr<LazyResolver> resolver_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// The part of a lazily resolving source the data path talks to on a snapshot miss. request()
// may be called from any thread; it returns at once and later snapshots either hold the target
// or list it as absent.
class LazyResolver {
 public:
  virtual ~LazyResolver() = default;
  virtual void request(const std::string& target) = 0;
  virtual SnapshotPtr latest() const = 0;
  // The namespace short names resolve in (the proxy's own).
  virtual const std::string& context_namespace() const = 0;
};

// On a miss in `snapshot`: when its source resolves lazily, asks for the target ("ip:port" when
// `address` is set — transparent mode — else the authority, with ":80" added when it has no
// port) and waits, polling every few milliseconds, until a snapshot holds it (returned, and
// `snapshot` replaced by that snapshot so the destination's pointers stay valid) or marks it
// absent, or `timeout` passes (nullopt: forward to the original destination as for an unknown
// target). Without a resolver it returns nullopt at once.
net::awaitable<std::optional<Destination>> resolve_lazily(
    SnapshotPtr& snapshot, const std::optional<net::SocketAddress>& address,
    const std::string& authority, std::chrono::milliseconds timeout);

// A source of snapshots. current() is safe to call from any thread; watchers are called on the
// source's own thread after each change (they typically post to workers).
class DiscoverySource {
 public:
  virtual ~DiscoverySource() = default;
  virtual SnapshotPtr current() const = 0;
  virtual void watch(std::function<void(SnapshotPtr)> on_change) = 0;
};

}  // namespace trellis::proxy::discovery
