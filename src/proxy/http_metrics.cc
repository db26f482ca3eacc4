#include "proxy/http_metrics.h"

#include <vector>

namespace trellis::proxy {
namespace {

std::vector<std::string_view> views(const HttpLabels& l, std::initializer_list<std::string_view> extra) {
  std::vector<std::string_view> out(l.values.begin(), l.values.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
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
}

void HttpLabels::set_dst(const std::map<std::string, std::string>& endpoint_labels) {
  static constexpr std::pair<size_t, const char*> kDst[] = {
      {9, "namespace"}, {10, "service"}, {11, "pod"}, {12, "deployment"}, {13, "serviceaccount"}};
  for (auto [index, key] : kDst) {
    auto it = endpoint_labels.find(key);
    values[index] = it == endpoint_labels.end() ? std::string() : it->second;
  }
}

std::string HttpLabels::key() const {
  std::string k;
  for (const auto& v : values) {
    k += v;
    k += '\x1f';
  }
  return k;
}

metrics::Handle<metrics::Counter>& HttpMetricsCache::requests(const HttpLabels& labels) {
  const std::string key = labels.key();
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    auto v = views(labels, {});
    it = requests_.emplace(key, metrics_.request_total.get(v)).first;
  }
  return it->second;
}

metrics::Handle<metrics::Counter>& HttpMetricsCache::responses(const HttpLabels& labels, int status,
                                                               std::string_view classification,
                                                               std::string_view grpc_status,
                                                               std::string_view error) {
  const std::string status_text = std::to_string(status);
  std::string key = labels.key() + status_text + '\x1f' + std::string(classification) + '\x1f' +
                    std::string(grpc_status) + '\x1f' + std::string(error);
  auto it = responses_.find(key);
  if (it == responses_.end()) {
    auto v = views(labels, {status_text, classification, grpc_status, error});
    it = responses_.emplace(std::move(key), metrics_.response_total.get(v)).first;
  }
  return it->second;
}

metrics::Handle<metrics::Histogram>& HttpMetricsCache::latency(const HttpLabels& labels, int status) {
  const std::string status_text = std::to_string(status);
  std::string key = labels.key() + status_text;
  auto it = latency_.find(key);
  if (it == latency_.end()) {
    auto v = views(labels, {status_text});
    it = latency_.emplace(std::move(key), metrics_.response_latency_ms.get(v)).first;
  }
  return it->second;
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
  requests_.clear();
  responses_.clear();
  latency_.clear();
  errors_.clear();
}

const char* classify(int http_status, std::string_view grpc_status) {
  if (!grpc_status.empty()) return grpc_status == "0" ? "success" : "failure";
  return http_status >= 500 ? "failure" : "success";
}

}  // namespace trellis::proxy
