#pragma once
// The attempts of one routed request (src/proxy/retry/README.md): per attempt a weighted
// backend pick, an endpoint pick and the send (attempt.h) under the earliest of the route's
// request deadline and the per-try / backend-request timeout; the response is classified
// (responseClasses, default 5xx / gRPC non-OK) and retry::decide() says whether to go again —
// within the service's retry budget, with the request body replayed from a buffer of at most
// 64 KiB (larger bodies are not retried). Each attempt counts in route_actual_* under the
// backend it went to.

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "http/service.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/retry/budget.h"
#include "proxy/route/route_table.h"
#include "proxy/route_metrics.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

// What the client gets, and what the golden metrics need to know about it.
struct RoutedResult {
  http::Response response;
  std::string error;  // proxy error label; empty when the response came from a backend
  route::Classification classification = route::Classification::kSuccess;
  std::map<std::string, std::string> endpoint_labels;  // dst_* of the last endpoint tried
  std::string identity;                               // that endpoint's, when meshed
};

// `budget` is null when the route does not retry. `deadline`: the route's request timeout.
net::awaitable<RoutedResult> send_with_retries(
    WorkerContext& worker, retry::RetryBudget* budget, discovery::SnapshotPtr snapshot,
    discovery::Destination apex, const route::Route& route, RouteLabels labels,
    std::optional<std::chrono::steady_clock::time_point> deadline, http::Request request);

}  // namespace trellis::proxy::outbound
