#include "proxy/metrics.h"

namespace trellis::proxy {
namespace {

std::vector<std::string> http_labels(std::initializer_list<const char*> extra = {}) {
  std::vector<std::string> names = {
      "direction",     "authority",   "target_addr", "target_ip",     "target_port",
      "tls",           "no_tls_reason", "client_id", "server_id",     "dst_namespace",
      "dst_service",   "dst_pod",     "dst_deployment", "dst_serviceaccount"};
  for (const char* e : extra) names.emplace_back(e);
  return names;
}

std::vector<std::string> tcp_labels(std::initializer_list<const char*> extra = {}) {
  std::vector<std::string> names = {"direction", "peer", "target_addr", "target_ip", "target_port",
                                    "tls", "no_tls_reason", "client_id", "server_id"};
  for (const char* e : extra) names.emplace_back(e);
  return names;
}

}  // namespace

ProxyMetrics make_proxy_metrics(metrics::Registry& r) {
  return ProxyMetrics{
      .request_total = r.counter("request_total", "Total count of HTTP requests.", http_labels()),
      .response_total = r.counter(
          "response_total", "Total count of HTTP responses.",
          http_labels({"status_code", "classification", "grpc_status", "error"})),
      .response_latency_ms = r.histogram(
          "response_latency_ms",
          "Elapsed times between a request's headers being received and its response stream "
          "completing, in milliseconds (time to first byte of the response).",
          http_labels({"status_code"}), metrics::kLatencyBucketsMs),
      .tcp_open_total = r.counter("tcp_open_total", "Total count of opened connections.", tcp_labels()),
      .tcp_open_connections = r.gauge("tcp_open_connections", "Number of currently-open connections.",
                                      tcp_labels()),
      .tcp_read_bytes_total = r.counter("tcp_read_bytes_total",
                                        "Total count of bytes read from peers.", tcp_labels()),
      .tcp_write_bytes_total = r.counter("tcp_write_bytes_total",
                                         "Total count of bytes written to peers.", tcp_labels()),
      .tcp_close_total = r.counter("tcp_close_total", "Total count of closed connections.",
                                   tcp_labels({"errno"})),
      .inbound_http_errors_total =
          r.counter("inbound_http_errors_total",
                    "Inbound HTTP requests and connections rejected or failed, by reason.",
                    {"error"}),
      .outbound_http_errors_total =
          r.counter("outbound_http_errors_total",
                    "Outbound HTTP requests and connections rejected or failed, by reason.",
                    {"error"}),
      .protocol_detect_total = r.counter("protocol_detect_total",
                                         "Connections by detected protocol (timeout = detect "
                                         "timeout expired, then opaque).",
                                         {"direction", "protocol"}),
      .proxy_build_info = r.gauge("proxy_build_info", "Proxy build information.",
                                  {"version", "vendor"}),
      .route = make_route_metrics(r),
  };
}

}  // namespace trellis::proxy
