#pragma once
// The traffic policy of one service port (api/traffic.proto), compiled for the data path:
// routes in the order they are tried with their conditions compiled (RE2 once per policy
// version), weighted backends ready to pick from, classifiers and retry/timeout settings.
// Immutable once built: shared across worker threads as shared_ptr<const RouteTable>.
//
//   auto table = RouteTable::compile(profile.policy());       // on each new policy version
//   const RouteMatch m = table->match(request.head);
//   if (!m.route) -> 404 (ProxyError::kNoRoute)
//   if (auto redirect = apply_request_filters(m.route->filters, m.prefix, head)) -> answer it
//   const Backend* b = m.route->backends.pick(worker_random);  // nullptr -> 500
//   ... classify with m.route->classifier, retry per m.route->retry (src/proxy/retry)

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/traffic.pb.h"
#include "base/result.h"
#include "http/message.h"
#include "proxy/route/classify.h"
#include "proxy/route/matcher.h"
#include "proxy/route/weighted.h"

namespace trellis::proxy::route {

struct Route {
  std::string name;    // rt_route
  bool is_default = false;
  std::string origin;  // "HTTPRoute/ns/name" (empty for a synthesized default route)
  uint32_t rule_index = 0;
  std::vector<std::string> hostnames;  // lower-case; "*.suffix" wildcards; empty: any host
  std::vector<Matcher> matches;        // any of them; empty: every request
  google::protobuf::RepeatedPtrField<api::traffic::v1::Filter> filters;
  WeightedBackends backends;
  ResponseClassifier classifier;
  api::traffic::v1::RetryPolicy retry;
  api::traffic::v1::Timeouts timeouts;

  bool host_matches(std::string_view host) const;
};

struct RouteMatch {
  const Route* route = nullptr;  // nullptr: no route (answer 404)
  // The PathPrefix of the condition that matched (for ReplacePrefixMatch), when it had one.
  std::optional<std::string_view> prefix;
};

class RouteTable {
 public:
  // Fails on a condition that cannot be compiled (an invalid regex): the caller keeps the
  // previous table and reports the error.
  static base::Result<std::shared_ptr<const RouteTable>, std::string> compile(
      const api::traffic::v1::TrafficPolicy& policy);

  RouteMatch match(const RequestView& request) const;
  RouteMatch match(const http::RequestHead& head) const { return match(RequestView::of(head)); }
  // The route alone (nullptr: no route).
  const Route* route_for(const http::RequestHead& head) const { return match(head).route; }

  const std::vector<Route>& routes() const { return routes_; }
  const Route* default_route() const { return default_route_ ? &*default_route_ : nullptr; }
  const WeightedBackends& tcp_backends() const { return tcp_backends_; }
  const api::traffic::v1::RetryBudget& retry_budget() const { return policy_.retry_budget(); }
  const api::traffic::v1::TrafficPolicy& policy() const { return policy_; }

 private:
  RouteTable() = default;

  api::traffic::v1::TrafficPolicy policy_;
  std::vector<Route> routes_;
  std::optional<Route> default_route_;
  WeightedBackends tcp_backends_;
};

}  // namespace trellis::proxy::route
