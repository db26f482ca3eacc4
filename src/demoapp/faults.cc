#include "demoapp/faults.h"

namespace trellis::demoapp {

FaultInjector::FaultInjector(const ServeOptions& options, uint64_t seed)
    : options_(options), rng_(seed) {}

const RouteOverride* FaultInjector::match(std::string_view path) const {
  path = path.substr(0, path.find('?'));
  const RouteOverride* best = nullptr;
  for (const auto& route : options_.routes) {
    if (!path.starts_with(route.prefix)) continue;
    // Equal lengths: the later flag wins, as with repeated flags generally.
    if (!best || route.prefix.size() >= best->prefix.size()) best = &route;
  }
  return best;
}

double FaultInjector::next_unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

FaultPlan FaultInjector::plan(std::string_view path) {
  FaultPlan p;
  p.latency = options_.latency;
  p.response_size = options_.response_size;
  double rate = options_.error_rate;
  const RouteOverride* route = match(path);
  if (route) {
    p.route = route;
    if (route->latency) p.latency = *route->latency;
    if (route->response_size) p.response_size = *route->response_size;
    if (route->status) {
      p.error_status = *route->status;
      rate = 1.0;
    }
    if (route->error_rate) rate = *route->error_rate;
  }
  if (rate >= 1.0) {
    p.fail = true;
  } else if (rate > 0.0) {
    p.fail = next_unit() < rate;
  }
  return p;
}

}  // namespace trellis::demoapp
