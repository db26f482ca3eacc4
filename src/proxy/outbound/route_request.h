#pragma once
// The logical (route) stage of the outbound pipeline, for a service port with a traffic policy
// (src/proxy/route/README.md):
//   match         first route whose hostnames and conditions hold; none -> 404
//   filters       header modifiers, URL rewrite; RequestRedirect answers the 3xx itself
//   mirrors       fire-and-forget copies (mirror.h)
//   attempts      weighted backend, endpoint, retries, timeouts (retry_loop.h)
//   response      response filters
// counted in route_* (route_metrics.h) under the apex authority and the route's name.

#include <memory>
#include <string>
#include <unordered_map>

#include "http/service.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/outbound/retry_loop.h"
#include "proxy/retry/budget.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

// Per-worker route state: one retry budget per service (no locks: one thread).
class RouteState {
 public:
  retry::RetryBudget& budget(const std::string& authority, const route::RouteTable& table);

 private:
  std::unordered_map<std::string, std::unique_ptr<retry::RetryBudget>> budgets_;
};

// True when `destination` has a traffic policy this request goes through (CONNECT and upgrades
// keep the direct path: they become byte streams).
bool has_routes(const discovery::Destination& destination, const http::RequestHead& head);

net::awaitable<RoutedResult> route_request(WorkerContext& worker, RouteState& state,
                                           discovery::SnapshotPtr snapshot,
                                           discovery::Destination destination,
                                           http::Request request);

}  // namespace trellis::proxy::outbound
