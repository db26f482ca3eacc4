#include "proxy/outbound/route_request.h"

#include "proxy/errors.h"
#include "proxy/outbound/mirror.h"
#include "proxy/route/filters.h"

namespace trellis::proxy::outbound {

using Clock = std::chrono::steady_clock;

retry::RetryBudget& RouteState::budget(const std::string& authority,
                                       const route::RouteTable& table) {
  const auto config = retry::RetryBudgetConfig::from(table.retry_budget());
  auto& slot = budgets_[authority];
  // A new policy version with other budget settings starts a fresh budget.
  if (!slot || slot->config().retry_ratio != config.retry_ratio ||
      slot->config().min_retries_per_second != config.min_retries_per_second ||
      slot->config().ttl != config.ttl) {
    slot = std::make_unique<retry::RetryBudget>(config, Clock::now());
  }
  return *slot;
}

bool has_routes(const discovery::Destination& destination, const http::RequestHead& head) {
  return destination.port && destination.port->routes && head.method != "CONNECT" &&
         !head.headers.contains("upgrade");
}

net::awaitable<RoutedResult> route_request(WorkerContext& worker, RouteState& state,
                                           discovery::SnapshotPtr snapshot,
                                           discovery::Destination destination,
                                           http::Request request) {
  const auto start = Clock::now();
  // Keeps the routes (and what `match` points into) alive for the whole request.
  const std::shared_ptr<const route::RouteTable> table = destination.port->routes;
  auto& metrics = worker.metrics().route;
  const route::RouteMatch match = table->match(request.head);
  RouteLabels labels{"outbound", destination.authority,
                     match.route && !match.route->is_default ? match.route->name : "", ""};
  count_route_request(metrics, labels, false);
  auto finish = [&](RoutedResult r) {
    if (!r.identity.empty()) labels.tls = "true";
    const int status = r.response.head.status;
    count_route_response(metrics, labels, false, status, route::to_string(r.classification),
                         r.error);
    observe_route_latency(metrics, labels, status, Clock::now() - start);
    return r;
  };

  if (!match.route) {
    RoutedResult r;
    r.response = error_response(ProxyError::kNoRoute, request.head,
                                "no route of " + destination.authority + " matches");
    r.error = to_string(ProxyError::kNoRoute);
    r.classification = route::Classification::kFailure;
    co_return finish(std::move(r));
  }
  const route::Route& route = *match.route;
  if (auto redirect = route::apply_request_filters(route.filters, match.prefix, request.head)) {
    RoutedResult r;
    r.response.head = std::move(*redirect);
    r.response.body = http::make_empty_body();
    co_return finish(std::move(r));
  }
  std::optional<Clock::time_point> deadline;
  if (route.timeouts.request_ms() > 0) {
    deadline = start + std::chrono::milliseconds(route.timeouts.request_ms());
  }
  const bool bodiless = !request.body || request.body->is_empty() ||
                        request.body->size_hint().value_or(1) == 0;
  for (const auto* mirror : route::select_mirrors(route.filters, worker.random())) {
    if (bodiless) {
      fire_mirror(worker, snapshot, destination, mirror->backend().authority(), request.head,
                  labels, deadline.value_or(start + kDefaultMirrorTimeout));
    }
  }

  retry::RetryBudget* budget = nullptr;
  if (route.retry.enabled()) {
    budget = &state.budget(destination.authority, *table);
    budget->deposit(start);
  }
  RoutedResult r = co_await send_with_retries(worker, budget, snapshot, destination, route, labels,
                                              deadline, std::move(request));
  route::apply_response_filters(route.filters, r.response.head);
  co_return finish(std::move(r));
}

}  // namespace trellis::proxy::outbound
