#include "proxy/route/route_table.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace trellis::proxy::route {
namespace {

namespace pb = api::traffic::v1;

base::Result<Route, std::string> compile_route(const pb::HttpRoute& r) {
  Route out;
  out.name = r.name();
  out.is_default = r.is_default();
  out.origin = r.origin();
  out.rule_index = r.rule_index();
  for (const auto& h : r.hostnames()) out.hostnames.push_back(base::to_lower(h));
  for (const auto& m : r.matches()) {
    auto compiled = Matcher::compile(m);
    if (!compiled.ok()) {
      return base::unexpected("route \"" + r.name() + "\": " + compiled.error());
    }
    out.matches.push_back(std::move(compiled).value());
  }
  out.filters = r.filters();
  out.backends = WeightedBackends::from(r.backends());
  out.classifier = ResponseClassifier(r.response_classes());
  out.retry = r.retry();
  out.timeouts = r.timeouts();
  return out;
}

}  // namespace

bool Route::host_matches(std::string_view host) const {
  if (hostnames.empty()) return true;
  for (const auto& h : hostnames) {
    if (h.size() > 2 && h[0] == '*' && h[1] == '.') {
      const std::string_view suffix = std::string_view(h).substr(1);  // ".example.com"
      if (host.size() > suffix.size() &&
          base::iequals(host.substr(host.size() - suffix.size()), suffix)) {
        return true;
      }
    } else if (base::iequals(host, h)) {
      return true;
    }
  }
  return false;
}

base::Result<std::shared_ptr<const RouteTable>, std::string> RouteTable::compile(
    const pb::TrafficPolicy& policy) {
  std::shared_ptr<RouteTable> table(new RouteTable());
  table->policy_ = policy;
  table->routes_.reserve(static_cast<size_t>(policy.http_routes_size()));
  for (const auto& r : policy.http_routes()) {
    auto route = compile_route(r);
    if (!route.ok()) return base::unexpected(route.error());
    table->routes_.push_back(std::move(route).value());
  }
  if (policy.has_default_route()) {
    auto route = compile_route(policy.default_route());
    if (!route.ok()) return base::unexpected(route.error());
    table->default_route_ = std::move(route).value();
  }
  table->tcp_backends_ = WeightedBackends::from(policy.tcp().backends());
  return std::shared_ptr<const RouteTable>(std::move(table));
}

RouteMatch RouteTable::match(const RequestView& request) const {
  for (const Route& r : routes_) {
    if (!r.host_matches(request.host)) continue;
    if (r.matches.empty()) return {&r, std::nullopt};
    for (const Matcher& m : r.matches) {
      if (m.matches(request)) return {&r, m.path_prefix()};
    }
  }
  if (default_route_) return {&*default_route_, std::nullopt};
  return {};
}

}  // namespace trellis::proxy::route
