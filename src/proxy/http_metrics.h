#pragma once
// Recording Linkerd's HTTP golden metrics for one request: request_total when the request is
// dispatched, response_total and response_latency_ms (time to the response head) when the
// response starts. Handles are cached per worker by label set, so the hot path does one hash
// lookup and no locking; the cache is cleared periodically so idle series can expire.

#include <array>
#include <chrono>
#include <string>
#include <unordered_map>

#include "http/message.h"
#include "metrics/family.h"
#include "proxy/metrics.h"

namespace trellis::proxy {

// Values for the shared HTTP label names (see metrics.h), in order.
struct HttpLabels {
  std::array<std::string, kHttpLabelCount> values;

  static HttpLabels make(std::string_view direction, std::string_view authority,
                         std::string_view target_addr);
  void set_tls(std::string_view tls, std::string_view no_tls_reason, std::string_view client_id,
               std::string_view server_id);
  void set_dst(const std::map<std::string, std::string>& endpoint_labels);
  std::string key() const;
};

class HttpMetricsCache {
 public:
  explicit HttpMetricsCache(ProxyMetrics& metrics) : metrics_(metrics) {}

  metrics::Handle<metrics::Counter>& requests(const HttpLabels& labels);
  metrics::Handle<metrics::Counter>& responses(const HttpLabels& labels, int status,
                                               std::string_view classification,
                                               std::string_view grpc_status, std::string_view error);
  metrics::Handle<metrics::Histogram>& latency(const HttpLabels& labels, int status);
  metrics::Handle<metrics::Counter>& error(bool inbound, std::string_view reason);

  // Drops cached handles (called every minute) so series for gone label sets can expire.
  void clear();

 private:
  ProxyMetrics& metrics_;
  std::unordered_map<std::string, metrics::Handle<metrics::Counter>> requests_;
  std::unordered_map<std::string, metrics::Handle<metrics::Counter>> responses_;
  std::unordered_map<std::string, metrics::Handle<metrics::Histogram>> latency_;
  std::unordered_map<std::string, metrics::Handle<metrics::Counter>> errors_;
};

// Success or failure as Linkerd's default classifier decides (and Flagger's queries read):
// a gRPC status other than 0 fails; otherwise HTTP 5xx fails.
const char* classify(int http_status, std::string_view grpc_status);

}  // namespace trellis::proxy
