#include "proxy/http_metrics.h"

#include <charconv>
#include <functional>
#include <vector>

namespace trellis::proxy {
namespace {

std::vector<std::string_view> views(const HttpSeries& s,
                                    std::initializer_list<std::string_view> extra) {
  std::vector<std::string_view> out(s.values.begin(), s.values.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

uint64_t hash_values(const std::array<std::string, kHttpLabelCount>& values) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::string& v : values) {
    // Combining per-value hashes (length included by std::hash's input) keeps ("ab","c") and
    // ("a","bc") apart.
    h ^= std::hash<std::string_view>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  return h;
}

// Status codes are three digits (the parsers enforce 100..999); anything else still renders.
std::string status_text(int status) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, status);
  return std::string(buf, end);
}

}  // namespace

HttpLabels HttpLabels::make(std::string_view direction, std::string_view authority,
                            std::string_view target_addr) {
  HttpLabels l;
  l.values[0] = direction;
  l.values[1] = authority;
  l.values[2] = target_addr;
  const size_t colon = target_addr.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view ip = target_addr.substr(0, colon);
    if (!ip.empty() && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
    l.values[3] = ip;
    l.values[4] = target_addr.substr(colon + 1);
  }
  return l;
}

void HttpLabels::set_tls(std::string_view tls, std::string_view no_tls_reason,
                         std::string_view client_id, std::string_view server_id) {
  values[5] = tls;
  values[6] = no_tls_reason;
  values[7] = client_id;
  values[8] = server_id;
  series.reset();
}

void HttpLabels::set_dst(const std::map<std::string, std::string>& endpoint_labels) {
  static constexpr std::pair<size_t, const char*> kDst[] = {
      {9, "namespace"}, {10, "service"}, {11, "pod"}, {12, "deployment"}, {13, "serviceaccount"}};
  for (auto [index, key] : kDst) {
    auto it = endpoint_labels.find(key);
    if (it == endpoint_labels.end()) {
      values[index].clear();
    } else {
      values[index] = it->second;
    }
  }
  series.reset();
}

std::string HttpLabels::key() const {
  std::string k;
  for (const auto& v : values) {
    k += v;
    k += '\x1f';
  }
  return k;
}

const std::shared_ptr<HttpSeries>& HttpMetricsCache::series(const HttpLabels& labels) {
  // The remembered series is reused only if it came from this cache since the last clear() and
  // still matches the values (a caller may have assigned `values` directly).
  if (labels.series && labels.series_cache == this && labels.series_generation == generation_ &&
      labels.series->values == labels.values) {
    return labels.series;
  }
  const uint64_t hash = hash_values(labels.values);
  auto& bucket = series_[hash];
  for (const auto& s : bucket) {
    if (s->values == labels.values) {
      labels.series = s;
      labels.series_cache = this;
      labels.series_generation = generation_;
      return labels.series;
    }
  }
  auto s = std::make_shared<HttpSeries>();
  s->values = labels.values;
  s->hash = hash;
  auto v = views(*s, {});
  s->requests = metrics_.request_total.get(v);
  bucket.push_back(s);
  labels.series = std::move(s);
  labels.series_cache = this;
  labels.series_generation = generation_;
  return labels.series;
}

metrics::Handle<metrics::Counter>& HttpMetricsCache::requests(const HttpLabels& labels) {
  return series(labels)->requests;
}

metrics::Handle<metrics::Counter>& HttpMetricsCache::responses(const HttpLabels& labels, int status,
                                                               std::string_view classification,
                                                               std::string_view grpc_status,
                                                               std::string_view error) {
  return responses(*series(labels), status, classification, grpc_status, error);
}

metrics::Handle<metrics::Counter>& HttpMetricsCache::responses(HttpSeries& s, int status,
                                                               std::string_view classification,
                                                               std::string_view grpc_status,
                                                               std::string_view error) {
  for (auto& r : s.responses) {
    if (r.status == status && r.classification == classification &&
        r.grpc_status == grpc_status && r.error == error) {
      return r.handle;
    }
  }
  const std::string text = status_text(status);
  auto v = views(s, {text, classification, grpc_status, error});
  s.responses.push_back({status, std::string(classification), std::string(grpc_status),
                         std::string(error), metrics_.response_total.get(v)});
  return s.responses.back().handle;
}

metrics::Handle<metrics::Histogram>& HttpMetricsCache::latency(const HttpLabels& labels,
                                                              int status) {
  return latency(*series(labels), status);
}

metrics::Handle<metrics::Histogram>& HttpMetricsCache::latency(HttpSeries& s, int status) {
  for (auto& l : s.latency) {
    if (l.status == status) return l.handle;
  }
  const std::string text = status_text(status);
  auto v = views(s, {text});
  s.latency.push_back({status, metrics_.response_latency_ms.get(v)});
  return s.latency.back().handle;
}

metrics::Handle<metrics::Counter>& HttpMetricsCache::error(bool inbound, std::string_view reason) {
  std::string key = (inbound ? "i:" : "o:") + std::string(reason);
  auto it = errors_.find(key);
  if (it == errors_.end()) {
    auto& family = inbound ? metrics_.inbound_http_errors_total : metrics_.outbound_http_errors_total;
    it = errors_.emplace(std::move(key), family.get({reason})).first;
  }
  return it->second;
}

void HttpMetricsCache::clear() {
  // Series still referenced by in-flight requests keep their handles until those end.
  series_.clear();
  errors_.clear();
  ++generation_;
}

const char* classify(int http_status, std::string_view grpc_status) {
  if (!grpc_status.empty()) return grpc_status == "0" ? "success" : "failure";
  return http_status >= 500 ? "failure" : "success";
}

}  // namespace trellis::proxy
