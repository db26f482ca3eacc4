#pragma once
// Power-of-two-choices balancing over peak-EWMA load (DESIGN.md §2 "balance"): pick two distinct
// endpoints at random among those available, send to the one with the lower load. One balancer
// per service port per worker thread (so no locking); endpoints keep their load state across
// discovery updates when their address is unchanged.

#include <cstdint>
#include <optional>
#include <vector>

#include "proxy/balance/peak_ewma.h"
#include "proxy/discovery/snapshot.h"

namespace trellis::proxy::balance {

// xorshift64*: cheap and good enough for load balancing; seedable for tests.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed = 0x9E3779B97F4A7C15ULL) : state_(seed ? seed : 1) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  // Uniform in [0, n).
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }

 private:
  uint64_t state_;
};

struct BalancedEndpoint {
  discovery::Endpoint meta;
  PeakEwma ewma;
  // Set by the connection layer when connecting fails (exponential backoff) and by failure
  // accrual later: the endpoint is skipped until then.
  Clock::time_point unavailable_until{};
  uint32_t consecutive_connect_failures = 0;

  bool available(Clock::time_point now) const { return now >= unavailable_until; }
};

class P2cBalancer {
 public:
  explicit P2cBalancer(PeakEwmaConfig config = {}, uint64_t seed = 0x9E3779B97F4A7C15ULL)
      : config_(config), random_(seed) {}

  // Replaces the endpoint set, keeping the state of endpoints whose address is unchanged.
  void update(const std::vector<discovery::Endpoint>& endpoints, Clock::time_point now);

  // The endpoint to use, or nullopt when none is available (the caller queues or fails fast).
  std::optional<size_t> pick(Clock::time_point now);

  BalancedEndpoint& endpoint(size_t i) { return endpoints_[i]; }
  size_t size() const { return endpoints_.size(); }
  size_t available_count(Clock::time_point now) const;

  // Connect failure: back off this endpoint exponentially (base .. max).
  void record_connect_failure(size_t i, Clock::time_point now);
  void record_connect_success(size_t i);

  static constexpr std::chrono::milliseconds kBackoffBase{100};
  static constexpr std::chrono::milliseconds kBackoffMax{10000};

 private:
  double cost(size_t i, Clock::time_point now);

  PeakEwmaConfig config_;
  FastRandom random_;
  std::vector<BalancedEndpoint> endpoints_;
  std::vector<size_t> scratch_;  // available indices, reused to avoid allocation per pick
};

}  // namespace trellis::proxy::balance
