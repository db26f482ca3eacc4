#pragma once
// The concrete stage under a route: a backend authority chosen by weight (TrafficSplit,
// dstOverrides, backendRefs, mirrors) is resolved with the proxy's normal discovery — the
// snapshot, else lazily from the control plane — and balanced over its own endpoints. The apex
// itself (the default backend) needs no second lookup.

#include <string>

#include "base/result.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

net::awaitable<base::Result<endpoint::PickedEndpoint, endpoint::DispatchError>> pick_backend(
    WorkerContext& worker, discovery::SnapshotPtr snapshot, discovery::Destination apex,
    std::string backend_authority);

// The destination of a new opaque TCP connection to `apex`: with a TCP split in its policy one
// weighted backend per connection (resolved like pick_backend, `snapshot` replaced by the one
// that holds it), else the apex itself. nullopt: the chosen backend cannot be resolved, or every
// weight is 0.
net::awaitable<std::optional<discovery::Destination>> split_for_connection(
    WorkerContext& worker, discovery::SnapshotPtr& snapshot, discovery::Destination apex);

}  // namespace trellis::proxy::outbound
