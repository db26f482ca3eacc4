#include "metrics/metric.h"

#include <cassert>
#include <cmath>

namespace trellis::metrics {

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds),
      // Value-initialised: every bucket starts at zero.
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  assert(valid_bounds(bounds));
}

uint64_t Histogram::count() const noexcept {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) total += bucket(i);
  return total;
}

bool Histogram::valid_bounds(std::span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) return false;
    if (i > 0 && !(bounds[i - 1] < bounds[i])) return false;
  }
  return true;
}

}  // namespace trellis::metrics
