#include "proxy/balance/p2c.h"

#include <algorithm>

namespace trellis::proxy::balance {

void P2cBalancer::update(const std::vector<discovery::Endpoint>& endpoints, Clock::time_point now) {
  std::vector<BalancedEndpoint> next;
  next.reserve(endpoints.size());
  for (const auto& meta : endpoints) {
    auto old = std::find_if(endpoints_.begin(), endpoints_.end(), [&](const BalancedEndpoint& e) {
      return e.meta.address == meta.address;
    });
    if (old != endpoints_.end()) {
      BalancedEndpoint kept = std::move(*old);
      kept.meta = meta;
      next.push_back(std::move(kept));
    } else {
      next.push_back(BalancedEndpoint{meta, PeakEwma(config_, now), {}, 0});
    }
  }
  endpoints_ = std::move(next);
}

double P2cBalancer::cost(size_t i, Clock::time_point now) {
  const double weight = std::max<uint32_t>(endpoints_[i].meta.weight, 1);
  return endpoints_[i].ewma.load(now) / weight;
}

std::optional<size_t> P2cBalancer::pick(Clock::time_point now) {
  scratch_.clear();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i].available(now) && endpoints_[i].meta.weight > 0) scratch_.push_back(i);
  }
  if (scratch_.empty()) return std::nullopt;
  if (scratch_.size() == 1) return scratch_[0];
  const size_t a = random_.below(scratch_.size());
  size_t b = random_.below(scratch_.size() - 1);
  if (b >= a) ++b;
  const size_t ia = scratch_[a];
  const size_t ib = scratch_[b];
  return cost(ia, now) <= cost(ib, now) ? ia : ib;
}

size_t P2cBalancer::available_count(Clock::time_point now) const {
  return static_cast<size_t>(std::count_if(endpoints_.begin(), endpoints_.end(), [&](const auto& e) {
    return e.available(now) && e.meta.weight > 0;
  }));
}

void P2cBalancer::record_connect_failure(size_t i, Clock::time_point now) {
  auto& e = endpoints_[i];
  e.consecutive_connect_failures = std::min<uint32_t>(e.consecutive_connect_failures + 1, 20);
  auto backoff = kBackoffBase * (1LL << std::min<uint32_t>(e.consecutive_connect_failures - 1, 10));
  if (backoff > kBackoffMax) backoff = kBackoffMax;
  e.unavailable_until = now + backoff;
}

void P2cBalancer::record_connect_success(size_t i) {
  endpoints_[i].consecutive_connect_failures = 0;
  endpoints_[i].unavailable_until = {};
}

}  // namespace trellis::proxy::balance
