#pragma once
// Fault and latency injection: for a request path, which latency, error and response size
// apply (global flags, overridden by the longest matching --route prefix), and whether this
// request fails — drawn from a seedable generator so tests can assert exact outcomes.

#include <cstdint>
#include <random>
#include <string_view>

#include "demoapp/options.h"

namespace trellis::demoapp {

struct FaultPlan {
  Duration latency{0};
  bool fail = false;     // answer `error_status` (HTTP) / UNAVAILABLE (gRPC)
  int error_status = 500;
  size_t response_size = 0;
  const RouteOverride* route = nullptr;  // the override that matched, if any
};

class FaultInjector {
 public:
  // The injector keeps a reference to `options` (it must outlive it).
  FaultInjector(const ServeOptions& options, uint64_t seed);

  // The route override for `path` (query ignored): the longest matching prefix, or nullptr.
  const RouteOverride* match(std::string_view path) const;
  // Decides one request. Draws from the generator only when the error rate is strictly between
  // 0 and 1, so a fixed seed gives the same sequence of decisions for the same requests.
  FaultPlan plan(std::string_view path);

  // A uniform double in [0, 1) from 53 random bits (portable, unlike std's distributions).
  double next_unit();

 private:
  const ServeOptions& options_;
  std::mt19937_64 rng_;
};

}  // namespace trellis::demoapp
