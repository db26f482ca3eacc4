#pragma once
// The proxy's metrics, declared in one list (DESIGN.md §7.9) with Linkerd's names and labels so
// Flagger's queries and existing dashboards work unchanged (reference linkerd.md §5). Labels
// whose value is empty are left out of the output.

#include <string>

#include "metrics/family.h"
#include "metrics/metric.h"
#include "metrics/registry.h"
#include "proxy/route_metrics.h"

namespace trellis::proxy {

// Label names shared by the HTTP families, in order.
// direction, authority, target_addr, target_ip, target_port, tls, no_tls_reason, client_id,
// server_id, dst_namespace, dst_service, dst_pod, dst_deployment, dst_serviceaccount
inline constexpr size_t kHttpLabelCount = 14;

struct ProxyMetrics {
  metrics::Family<metrics::Counter>& request_total;
  metrics::Family<metrics::Counter>& response_total;       // + status_code, classification, grpc_status, error
  metrics::Family<metrics::Histogram>& response_latency_ms; // + status_code
  metrics::Family<metrics::Counter>& tcp_open_total;        // direction, peer, target_*, tls...
  metrics::Family<metrics::Gauge>& tcp_open_connections;
  metrics::Family<metrics::Counter>& tcp_read_bytes_total;
  metrics::Family<metrics::Counter>& tcp_write_bytes_total;
  metrics::Family<metrics::Counter>& tcp_close_total;       // + errno
  // Every rejected input and every limit hit, by reason (inbound/outbound, protocol, reason).
  metrics::Family<metrics::Counter>& inbound_http_errors_total;
  metrics::Family<metrics::Counter>& outbound_http_errors_total;
  metrics::Family<metrics::Counter>& protocol_detect_total;  // direction, protocol (incl. timeout)
  metrics::Family<metrics::Gauge>& proxy_build_info;
  RouteMetrics route;  // route_* (route_metrics.h)
};

ProxyMetrics make_proxy_metrics(metrics::Registry& registry);

}  // namespace trellis::proxy
