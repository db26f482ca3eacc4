#include "proxy/route_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace trellis::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RouteMetrics, LinkerdNamesAndLabels) {
  metrics::Registry registry;
  RouteMetrics m = make_route_metrics(registry);
  const RouteLabels apex{"outbound", "web.ns.svc.cluster.local:80", "GET /api/users", ""};
  RouteLabels backend = apex;
  backend.dst = "web-v2.ns.svc.cluster.local:80";
  count_route_request(m, apex, false);
  count_route_request(m, backend, true);
  count_route_request(m, backend, true);
  count_route_response(m, backend, true, 500, "failure", "");
  count_route_response(m, backend, true, 200, "success", "");
  count_route_response(m, apex, false, 200, "success", "");
  observe_route_latency(m, apex, 200, std::chrono::milliseconds(3));
  count_route_retry_skipped(m, apex, "no_budget");
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("route_request_total{direction=\"outbound\",dst=\"web.ns.svc."
                              "cluster.local:80\",rt_route=\"GET /api/users\"} 1"));
  EXPECT_THAT(text, HasSubstr("route_actual_request_total{direction=\"outbound\",dst=\"web-v2.ns."
                              "svc.cluster.local:80\",rt_route=\"GET /api/users\"} 2"));
  EXPECT_THAT(text, HasSubstr("route_actual_response_total{direction=\"outbound\",dst=\"web-v2.ns."
                              "svc.cluster.local:80\",rt_route=\"GET /api/users\",status_code="
                              "\"500\",classification=\"failure\"} 1"));
  EXPECT_THAT(text, HasSubstr("route_response_latency_ms_count{direction=\"outbound\",dst=\"web.ns"
                              ".svc.cluster.local:80\",rt_route=\"GET /api/users\",status_code="
                              "\"200\"} 1"));
  EXPECT_THAT(text, HasSubstr("route_retryable_total{direction=\"outbound\",dst=\"web.ns.svc."
                              "cluster.local:80\",rt_route=\"GET /api/users\",skipped=\"no_budget\"}"
                              " 1"));
}

TEST(RouteMetrics, DefaultRouteHasNoRouteLabel) {
  metrics::Registry registry;
  RouteMetrics m = make_route_metrics(registry);
  count_route_request(m, {"inbound", "web.ns.svc.cluster.local:80", "", "true"}, false);
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("route_request_total{direction=\"inbound\",dst=\"web.ns.svc.cluster."
                              "local:80\",tls=\"true\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("rt_route=\"\"")));
}

}  // namespace
}  // namespace trellis::proxy
