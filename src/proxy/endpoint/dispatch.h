#pragma once
// The balance and endpoint stages (DESIGN.md §2): pick an endpoint of a service port with P2C
// (waiting up to the fail-fast timeout while none is available), then send through that
// endpoint's client; or send straight to an address when the target is not a known service
// (forwarded to the original destination as-is, like Linkerd).
//
// Meshed endpoints (contract C-7): an endpoint with an identity is reached over mTLS when the
// worker has a mesh identity (worker.mesh_tls()), SNI = the endpoint's identity. With the h2
// protocol hint, HTTP/1 requests travel as HTTP/2 carrying `l5d-orig-proto: HTTP/1.1` (the
// endpoint's inbound proxy turns them back); upgrades and CONNECT always stay HTTP/1.

#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "http/service.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/errors.h"
#include "proxy/transport.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::endpoint {

// The header that carries an HTTP/1 request's original version across an HTTP/2 hop between
// proxies (Linkerd's name).
inline constexpr std::string_view kOrigProtoHeader = "l5d-orig-proto";

struct DispatchError {
  ProxyError error;
  std::string detail;
};

struct Dispatched {
  http::Response response;
  net::SocketAddress endpoint;
  std::map<std::string, std::string> endpoint_labels;  // the endpoint's metric labels (dst_*)
};

struct DispatchOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds failfast_timeout{3000};
};

// An endpoint chosen by the balancer, with what the endpoint stage needs to reach it.
struct PickedEndpoint {
  discovery::SnapshotPtr snapshot;  // keeps `destination` valid
  discovery::Destination destination;
  net::SocketAddress address;
  std::map<std::string, std::string> labels;  // dst_* metric labels
  std::string identity;                       // expected mTLS identity; empty: not meshed
  discovery::ProtocolHint protocol_hint = discovery::ProtocolHint::kUnknown;
};

// True when `endpoint` will be reached over mTLS by this worker.
bool is_meshed(const WorkerContext& worker, const PickedEndpoint& endpoint);

// Waits until the service port has an available endpoint or the fail-fast deadline passes.
net::awaitable<base::Result<PickedEndpoint, DispatchError>> pick_endpoint(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, std::chrono::milliseconds failfast_timeout);

// Sends to a picked endpoint, feeding its latency and connect outcome back to the balancer.
net::awaitable<base::Result<Dispatched, DispatchError>> send_to_endpoint(
    WorkerContext& worker, const PickedEndpoint& endpoint, http::Request request,
    const DispatchOptions& options);

// pick_endpoint + send_to_endpoint.
net::awaitable<base::Result<Dispatched, DispatchError>> send_to_service(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, http::Request request,
    const DispatchOptions& options);

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_address(
    WorkerContext& worker, const net::SocketAddress& address, http::Request request,
    const DispatchOptions& options);

// Picks an endpoint for a new opaque TCP connection to a service port (per-connection balancing).
net::awaitable<base::Result<PickedEndpoint, DispatchError>> pick_for_connection(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, std::chrono::milliseconds failfast_timeout);

// A byte stream to `address` for opaque TCP and tunnels: TCP within `connect_timeout`, then mTLS
// (no ALPN) when `identity` is not empty and the worker has a mesh identity.
net::awaitable<base::Result<std::unique_ptr<ConnectionTransport>, DispatchError>> connect_stream(
    WorkerContext& worker, const net::SocketAddress& address, const std::string& identity,
    std::chrono::milliseconds connect_timeout);

}  // namespace trellis::proxy::endpoint
