#pragma once
// Per-route metrics (contract C-9, Linkerd's names): route_* count what the client sees (one
// request, one response, latency including every retry) under the service the request was
// addressed to (dst = the apex authority); route_actual_* count each attempt under the backend
// it went to (dst = the backend authority), so retries show as actual > requested.
// rt_route is the route's name; the default route has none (the label is left out, as Linkerd
// does; `linkerd routes` shows it as [DEFAULT]).

#include <chrono>
#include <string>
#include <string_view>

#include "metrics/family.h"
#include "metrics/metric.h"
#include "metrics/registry.h"

namespace trellis::proxy {

struct RouteMetrics {
  // direction, dst, rt_route, tls
  metrics::Family<metrics::Counter>& request_total;
  // + status_code, classification, error
  metrics::Family<metrics::Counter>& response_total;
  // + status_code
  metrics::Family<metrics::Histogram>& response_latency_ms;
  // direction, dst, rt_route, tls
  metrics::Family<metrics::Counter>& actual_request_total;
  // + status_code, classification, error
  metrics::Family<metrics::Counter>& actual_response_total;
  // + skipped (a failed request of a retryable route not retried: no_budget, limit, ...)
  metrics::Family<metrics::Counter>& retryable_total;
};

RouteMetrics make_route_metrics(metrics::Registry& registry);

// The labels of one route as seen from one side of the proxy.
struct RouteLabels {
  std::string direction;  // "outbound" | "inbound"
  std::string dst;        // authority
  std::string rt_route;   // empty for the default route
  std::string tls;        // "true" or empty
};

// Records one logical request (route_*) or one attempt (route_actual_*).
void count_route_request(RouteMetrics& m, const RouteLabels& l, bool actual);
void count_route_response(RouteMetrics& m, const RouteLabels& l, bool actual, int status,
                          std::string_view classification, std::string_view error);
void observe_route_latency(RouteMetrics& m, const RouteLabels& l, int status,
                           std::chrono::steady_clock::duration latency);
void count_route_retry_skipped(RouteMetrics& m, const RouteLabels& l, std::string_view skipped);

}  // namespace trellis::proxy
