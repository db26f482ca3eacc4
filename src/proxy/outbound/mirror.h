#pragma once
// Traffic shadowing (HTTPRoute RequestMirror): a copy of the request goes to the mirror
// backend in a coroutine of its own; its response is read and discarded, and the client's
// request never waits for it. Only requests without a body are mirrored (the body is streamed
// once, to the real backend).

#include <chrono>

#include "http/message.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/route_metrics.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

// How long a copy may take when its route sets no request timeout. Past its deadline a copy is
// abandoned and counted as route_actual_response_total{error="timeout"}, so a shadow that
// never answers cannot pile up copies.
inline constexpr std::chrono::seconds kDefaultMirrorTimeout{10};

// Starts the copy and returns at once. `labels` are the route's (dst becomes the mirror's).
void fire_mirror(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                 const discovery::Destination& apex, const std::string& mirror_authority,
                 const http::RequestHead& head, RouteLabels labels,
                 std::chrono::steady_clock::time_point deadline);

}  // namespace trellis::proxy::outbound
