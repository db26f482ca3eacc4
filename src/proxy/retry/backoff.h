#pragma once
// Backoff between retry attempts. Linkerd's annotation-based retries (retry.linkerd.io/*) use an
// exponential backoff fixed at 25 ms .. 250 ms with jitter 1.0; ServiceProfile retries have
// none (the policy's backoff fields are zero).

#include <chrono>
#include <cstdint>

#include "api/traffic.pb.h"
#include "proxy/balance/p2c.h"

namespace trellis::proxy::retry {

class Backoff {
 public:
  Backoff() = default;  // no backoff
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, double jitter)
      : min_(min), max_(max < min ? min : max), jitter_(jitter < 0 ? 0 : jitter) {}
  static Backoff from(const api::traffic::v1::RetryPolicy& policy);

  bool enabled() const { return min_.count() > 0; }
  // The wait before retry number `retry` (1 for the first retry): min * 2^(retry-1), capped at
  // max, plus a uniform random share of up to `jitter` times that, capped at max again.
  std::chrono::nanoseconds delay(uint32_t retry, balance::FastRandom& random) const;

 private:
  std::chrono::milliseconds min_{0};
  std::chrono::milliseconds max_{0};
  double jitter_ = 0;
};

}  // namespace trellis::proxy::retry
