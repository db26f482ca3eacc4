#pragma once
// Traffic shadowing (HTTPRoute RequestMirror): a copy of the request goes to the mirror
// backend in a coroutine of its own; its response is read and discarded, and the client's
// request never waits for it. Only requests without a body are mirrored (the body is streamed
// once, to the real backend).

#include "http/message.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/route_metrics.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

// Starts the copy and returns at once. `labels` are the route's (dst becomes the mirror's).
void fire_mirror(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                 const discovery::Destination& apex, const std::string& mirror_authority,
                 const http::RequestHead& head, RouteLabels labels);

}  // namespace trellis::proxy::outbound
