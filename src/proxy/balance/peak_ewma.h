#pragma once
// Peak-EWMA load estimate for one endpoint (as Linkerd and Finagle use it): the latency
// estimate jumps up to any slower observation immediately (the peak) and decays towards faster
// observations exponentially with time constant `decay`. Load = estimate * (in-flight + 1), so a
// slow endpoint and a busy endpoint both look expensive.

#include <chrono>
#include <cmath>
#include <cstdint>

namespace trellis::proxy::balance {

using Clock = std::chrono::steady_clock;

struct PeakEwmaConfig {
  std::chrono::nanoseconds default_rtt = std::chrono::milliseconds(30);
  std::chrono::nanoseconds decay = std::chrono::seconds(10);
};

class PeakEwma {
 public:
  explicit PeakEwma(const PeakEwmaConfig& config, Clock::time_point now = Clock::now())
      : decay_ns_(static_cast<double>(config.decay.count())),
        estimate_ns_(static_cast<double>(config.default_rtt.count())),
        updated_(now) {}

  // The current cost; decays the estimate to `now` first.
  double load(Clock::time_point now) {
    decay_to(now);
    return estimate_ns_ * static_cast<double>(pending_ + 1);
  }

  void start() { ++pending_; }
  // A request finished after `rtt`.
  void finish(std::chrono::nanoseconds rtt, Clock::time_point now) {
    if (pending_ > 0) --pending_;
    observe(rtt, now);
  }
  void observe(std::chrono::nanoseconds rtt, Clock::time_point now) {
    const double sample = static_cast<double>(rtt.count());
    if (sample > estimate_ns_) {
      estimate_ns_ = sample;  // peak: react to slowness at once
    } else {
      estimate_ns_ = estimate_ns_ * weight_since(now) + sample * (1.0 - weight_since(now));
    }
    updated_ = now;
  }

  uint32_t pending() const { return pending_; }
  double estimate_ns() const { return estimate_ns_; }

 private:
  // Between observations the estimate decays towards zero with the same time constant, so an
  // endpoint that has not been picked for a while looks cheap again and gets tried. Holding it
  // instead starves every endpoint but the first one measured: with two endpoints P2C always
  // compares both, and an unmeasured one keeps its pessimistic default RTT forever.
  void decay_to(Clock::time_point now) {
    estimate_ns_ *= weight_since(now);
    updated_ = now;
  }
  double weight_since(Clock::time_point now) const {
    if (now <= updated_) return 1.0;
    return std::exp(-static_cast<double>((now - updated_).count()) / decay_ns_);
  }

  double decay_ns_;
  double estimate_ns_;
  Clock::time_point updated_;
  uint32_t pending_ = 0;
};

}  // namespace trellis::proxy::balance
