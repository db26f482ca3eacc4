#include "proxy/route/weighted.h"

#include <algorithm>

namespace trellis::proxy::route {

Backend Backend::from(const api::traffic::v1::WeightedBackend& b) {
  Backend out;
  out.authority = b.authority();
  out.service = b.service();
  out.ns = b.namespace_();
  out.port = b.port();
  out.weight = b.weight();
  out.filters.assign(b.filters().begin(), b.filters().end());
  return out;
}

WeightedBackends::WeightedBackends(std::vector<Backend> backends) : backends_(std::move(backends)) {
  cumulative_.reserve(backends_.size());
  for (const auto& b : backends_) {
    // Saturate rather than wrap: absurd weights must not turn into small ones.
    total_ = b.weight > UINT64_MAX - total_ ? UINT64_MAX : total_ + b.weight;
    cumulative_.push_back(total_);
  }
}

WeightedBackends WeightedBackends::from(
    const google::protobuf::RepeatedPtrField<api::traffic::v1::WeightedBackend>& list) {
  std::vector<Backend> out;
  out.reserve(static_cast<size_t>(list.size()));
  for (const auto& b : list) out.push_back(Backend::from(b));
  return WeightedBackends(std::move(out));
}

const Backend* WeightedBackends::pick(balance::FastRandom& random) const {
  if (total_ == 0) return nullptr;
  if (backends_.size() == 1) return &backends_.front();
  // r in [0, total): backend i owns [cumulative_[i-1], cumulative_[i]), empty for weight 0.
  const uint64_t r = random.next() % total_;
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
  return &backends_[static_cast<size_t>(it - cumulative_.begin())];
}

}  // namespace trellis::proxy::route
