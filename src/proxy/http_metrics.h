#pragma once
// Recording Linkerd's HTTP golden metrics for one request: request_total when the request is
// dispatched, response_total and response_latency_ms (time to the response head) when the
// response starts. Handles are cached per worker by label set, so the hot path takes no lock.
//
// Cost per request (the profile in docs/performance.md): a label set resolves once to an
// HttpSeries — found by a hash of the values, no string is built — and HttpLabels remembers it,
// so requests(), latency() and responses() for the same labels do no lookup at all; the
// per-status handles hang off the series in a short list (one or two statuses per label set).
// The cache is cleared periodically so idle series can expire.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/message.h"
#include "metrics/family.h"
#include "proxy/metrics.h"

namespace trellis::proxy {

class HttpMetricsCache;

// The handles of one label set (the shared HTTP labels, without status and the rest).
struct HttpSeries {
  struct Latency {
    int status;
    metrics::Handle<metrics::Histogram> handle;
  };
  struct Response {
    int status;
    std::string classification;
    std::string grpc_status;
    std::string error;
    metrics::Handle<metrics::Counter> handle;
  };

  std::array<std::string, kHttpLabelCount> values;
  uint64_t hash = 0;
  metrics::Handle<metrics::Counter> requests;
  std::vector<Latency> latency;
  std::vector<Response> responses;
};

// Values for the shared HTTP label names (see metrics.h), in order.
struct HttpLabels {
  std::array<std::string, kHttpLabelCount> values;

  static HttpLabels make(std::string_view direction, std::string_view authority,
                         std::string_view target_addr);
  void set_tls(std::string_view tls, std::string_view no_tls_reason, std::string_view client_id,
               std::string_view server_id);
  void set_dst(const std::map<std::string, std::string>& endpoint_labels);
  std::string key() const;

  // The series these values resolved to in a cache (set by HttpMetricsCache; a copy of the
  // labels keeps it). Checked against the values on every use, so writing `values` directly
  // stays correct; set_tls/set_dst/make drop it.
  mutable std::shared_ptr<HttpSeries> series;
  mutable const HttpMetricsCache* series_cache = nullptr;
  mutable uint64_t series_generation = 0;
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

  // The series of a label set (found or created; remembered in `labels`), and the per-status
  // handles of a series. The series may outlive clear(): its handles stay valid.
  const std::shared_ptr<HttpSeries>& series(const HttpLabels& labels);
  metrics::Handle<metrics::Counter>& responses(HttpSeries& series, int status,
                                               std::string_view classification,
                                               std::string_view grpc_status,
                                               std::string_view error);
  metrics::Handle<metrics::Histogram>& latency(HttpSeries& series, int status);

  // Drops cached handles (called every minute) so series for gone label sets can expire.
  void clear();

 private:
  ProxyMetrics& metrics_;
  uint64_t generation_ = 1;
  // By hash of the values; collisions share a bucket and are told apart by the values.
  std::unordered_map<uint64_t, std::vector<std::shared_ptr<HttpSeries>>> series_;
  std::unordered_map<std::string, metrics::Handle<metrics::Counter>> errors_;
};

// Success or failure as Linkerd's default classifier decides (and Flagger's queries read):
// a gRPC status other than 0 fails; otherwise HTTP 5xx fails.
const char* classify(int http_status, std::string_view grpc_status);

}  // namespace trellis::proxy
