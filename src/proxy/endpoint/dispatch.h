#pragma once
// The balance and endpoint stages (DESIGN.md §2): pick an endpoint of a service port with P2C
// (waiting up to the fail-fast timeout while none is available), then send through that
// endpoint's connection pool; or send straight to an address when the target is not a known
// service (forwarded to the original destination as-is, like Linkerd).

#include <map>
#include <string>

#include "base/result.h"
#include "http/service.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/errors.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::endpoint {

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

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_service(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, http::Request request,
    const DispatchOptions& options);

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_address(
    WorkerContext& worker, const net::SocketAddress& address, http::Request request,
    const DispatchOptions& options);

// Picks an endpoint for a new opaque TCP connection to a service port (per-connection balancing).
net::awaitable<base::Result<net::SocketAddress, DispatchError>> pick_for_connection(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, std::chrono::milliseconds failfast_timeout);

}  // namespace trellis::proxy::endpoint
