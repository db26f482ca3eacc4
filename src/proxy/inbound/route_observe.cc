#include "proxy/inbound/route_observe.h"

namespace trellis::proxy::inbound {

std::optional<InboundRoute> match_inbound_route(WorkerContext& worker,
                                                const http::RequestHead& head, bool tls) {
  if (head.authority.empty()) return std::nullopt;
  discovery::SnapshotPtr snapshot = worker.snapshot();
  auto destination = snapshot->find_by_authority(head.authority, worker.config().ns);
  if (!destination) {
    if (const auto& resolver = snapshot->resolver()) {
      std::string target = head.authority;
      if (target.find(':') == std::string::npos) target += ":80";
      if (!snapshot->is_absent(target)) resolver->request(target);
    }
    return std::nullopt;
  }
  if (!destination->port->routes) return std::nullopt;
  InboundRoute r;
  r.table = destination->port->routes;
  r.route = r.table->route_for(head);
  r.labels = RouteLabels{"inbound", destination->authority,
                         r.route && !r.route->is_default ? r.route->name : "",
                         tls ? "true" : ""};
  r.start = std::chrono::steady_clock::now();
  count_route_request(worker.metrics().route, r.labels, false);
  return r;
}

void finish_inbound_route(RouteMetrics& metrics, const InboundRoute& route,
                          const http::ResponseHead& response) {
  const route::Classification c = route.route
                                      ? route.route->classifier.classify(response, nullptr)
                                      : route::ResponseClassifier().classify(response, nullptr);
  count_route_response(metrics, route.labels, false, response.status, route::to_string(c), "");
  observe_route_latency(metrics, route.labels, response.status,
                        std::chrono::steady_clock::now() - route.start);
}

void fail_inbound_route(RouteMetrics& metrics, const InboundRoute& route, int status,
                        std::string_view error) {
  count_route_response(metrics, route.labels, false, status, "failure", error);
  observe_route_latency(metrics, route.labels, status,
                        std::chrono::steady_clock::now() - route.start);
}

}  // namespace trellis::proxy::inbound
