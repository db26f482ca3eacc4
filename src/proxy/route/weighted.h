#pragma once
// Weighted backend choice (TrafficSplit, dstOverrides, HTTPRoute backendRefs): one pick per
// request for HTTP, per connection for opaque TCP. Weights are relative; a weight of 0 is never
// picked; when every weight is 0 nothing is (the caller answers 500, as Gateway API requires).

#include <cstdint>
#include <string>
#include <vector>

#include "api/traffic.pb.h"
#include "proxy/balance/p2c.h"

namespace trellis::proxy::route {

struct Backend {
  std::string authority;  // "web-v2.emojivoto.svc.cluster.local:80"
  std::string service;
  std::string ns;
  uint32_t port = 0;
  uint64_t weight = 0;
  // Filters for requests sent to this backend only (HTTPRoute backendRefs[].filters).
  std::vector<api::traffic::v1::Filter> filters;

  static Backend from(const api::traffic::v1::WeightedBackend& b);
};

class WeightedBackends {
 public:
  WeightedBackends() = default;
  explicit WeightedBackends(std::vector<Backend> backends);
  static WeightedBackends from(
      const google::protobuf::RepeatedPtrField<api::traffic::v1::WeightedBackend>& list);

  // nullptr when there is no backend with a non-zero weight. The worker's own generator: no
  // shared state between threads.
  const Backend* pick(balance::FastRandom& random) const;

  const std::vector<Backend>& backends() const { return backends_; }
  uint64_t total_weight() const { return total_; }

 private:
  std::vector<Backend> backends_;
  std::vector<uint64_t> cumulative_;  // cumulative_[i] = sum of weights [0, i]
  uint64_t total_ = 0;
};

}  // namespace trellis::proxy::route
