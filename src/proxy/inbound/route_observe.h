#pragma once
// Server-side route metrics (route_* with direction="inbound"): the inbound proxy matches the
// traffic policy of the authority a request names (its own service, when discovery knows it
// and it has a policy) and counts the request under that route. Nothing is routed here: the
// request still goes to the local application. An authority discovery has not seen yet is
// asked for in the background, so later requests find it.

#include <chrono>
#include <memory>
#include <optional>

#include "http/service.h"
#include "proxy/route/route_table.h"
#include "proxy/route_metrics.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::inbound {

struct InboundRoute {
  std::shared_ptr<const route::RouteTable> table;  // keeps `route` valid
  const route::Route* route = nullptr;
  RouteLabels labels;
  std::chrono::steady_clock::time_point start;
};

// nullopt when the authority has no policy (no route metrics, as Linkerd without a profile).
std::optional<InboundRoute> match_inbound_route(WorkerContext& worker,
                                                const http::RequestHead& head, bool tls);

// Counts the response (classified by the route's response classes) and its latency.
void finish_inbound_route(RouteMetrics& metrics, const InboundRoute& route,
                          const http::ResponseHead& response);
// A response the proxy generated: a failure with the proxy error label.
void fail_inbound_route(RouteMetrics& metrics, const InboundRoute& route, int status,
                        std::string_view error);

}  // namespace trellis::proxy::inbound
