#pragma once
// The time source for idle expiry. A pure-virtual seam so tests drive expiry with ManualClock
// instead of sleeping (DESIGN.md §7.10). Only handle release and sweeps read it, never the
// increment path.

#include <atomic>
#include <chrono>

#include "base/duration.h"

namespace trellis::metrics {

using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The process-wide monotonic clock (std::chrono::steady_clock).
const Clock& steady_clock();

// A clock that only moves when told to. Thread-safe, so concurrency tests can advance it while
// workers release handles.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : ns_(start.time_since_epoch().count()) {}

  TimePoint now() const override {
    return TimePoint(TimePoint::duration(ns_.load(std::memory_order_relaxed)));
  }
  void advance(base::Duration d) {
    ns_.fetch_add(std::chrono::duration_cast<TimePoint::duration>(d).count(),
                  std::memory_order_relaxed);
  }

 private:
  std::atomic<TimePoint::rep> ns_;
};

}  // namespace trellis::metrics
