#include "proxy/route_metrics.h"

namespace trellis::proxy {

RouteMetrics make_route_metrics(metrics::Registry& r) {
  const std::vector<std::string> base = {"direction", "dst", "rt_route", "tls"};
  auto with = [&](std::initializer_list<const char*> extra) {
    std::vector<std::string> names = base;
    for (const char* e : extra) names.emplace_back(e);
    return names;
  };
  return RouteMetrics{
      .request_total = r.counter("route_request_total",
                                 "Total count of HTTP requests, by traffic-policy route.", base),
      .response_total = r.counter("route_response_total",
                                  "Total count of HTTP responses, by traffic-policy route.",
                                  with({"status_code", "classification", "error"})),
      .response_latency_ms = r.histogram(
          "route_response_latency_ms",
          "Elapsed times between a request's headers being received and its response headers, "
          "retries included, by traffic-policy route, in milliseconds.",
          with({"status_code"}), metrics::kLatencyBucketsMs),
      .actual_request_total = r.counter(
          "route_actual_request_total",
          "Total count of HTTP requests sent to backends, retries included, by route.", base),
      .actual_response_total = r.counter(
          "route_actual_response_total",
          "Total count of HTTP responses from backends, retries included, by route.",
          with({"status_code", "classification", "error"})),
      .retryable_total = r.counter("route_retryable_total",
                                   "Failed requests of retryable routes that were not retried, "
                                   "by reason.",
                                   with({"skipped"})),
  };
}

void count_route_request(RouteMetrics& m, const RouteLabels& l, bool actual) {
  auto& family = actual ? m.actual_request_total : m.request_total;
  family.get({l.direction, l.dst, l.rt_route, l.tls})->inc();
}

void count_route_response(RouteMetrics& m, const RouteLabels& l, bool actual, int status,
                          std::string_view classification, std::string_view error) {
  auto& family = actual ? m.actual_response_total : m.response_total;
  const std::string code = status > 0 ? std::to_string(status) : std::string();
  family.get({l.direction, l.dst, l.rt_route, l.tls, code, classification, error})->inc();
}

void observe_route_latency(RouteMetrics& m, const RouteLabels& l, int status,
                           std::chrono::steady_clock::duration latency) {
  const std::string code = status > 0 ? std::to_string(status) : std::string();
  m.response_latency_ms.get({l.direction, l.dst, l.rt_route, l.tls, code})->observe_ms(latency);
}

void count_route_retry_skipped(RouteMetrics& m, const RouteLabels& l, std::string_view skipped) {
  m.retryable_total.get({l.direction, l.dst, l.rt_route, l.tls, skipped})->inc();
}

}  // namespace trellis::proxy
