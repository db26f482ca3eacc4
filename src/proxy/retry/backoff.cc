#include "proxy/retry/backoff.h"

#include <algorithm>

namespace trellis::proxy::retry {

Backoff Backoff::from(const api::traffic::v1::RetryPolicy& policy) {
  return Backoff(std::chrono::milliseconds(policy.backoff_min_ms()),
                 std::chrono::milliseconds(policy.backoff_max_ms()), policy.backoff_jitter());
}

std::chrono::nanoseconds Backoff::delay(uint32_t retry, balance::FastRandom& random) const {
  if (!enabled()) return std::chrono::nanoseconds(0);
  const std::chrono::nanoseconds max = max_;
  std::chrono::nanoseconds base = min_;
  for (uint32_t i = 1; i < retry && base < max; ++i) base *= 2;
  base = std::min(base, max);
  if (jitter_ > 0) {
    // Uniform in [0, 1) from the top 53 bits.
    const double u = static_cast<double>(random.next() >> 11) * 0x1.0p-53;
    const auto extra = static_cast<int64_t>(static_cast<double>(base.count()) * jitter_ * u);
    base = std::min(base + std::chrono::nanoseconds(extra), max);
  }
  return base;
}

}  // namespace trellis::proxy::retry
