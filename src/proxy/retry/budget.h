#pragma once
// Retry budget (ServiceProfile retryBudget; Linkerd's defaults 0.2 / 10 per second / 10 s):
// every original request deposits `retry_ratio` of a retry, every retry withdraws one, and a
// reserve of `min_retries_per_second * ttl` retries is always there on top. Deposits and
// withdrawals are kept in time slots covering `ttl` and expire with them, so the budget allows
// retry_ratio * requests + min_retries_per_second * ttl retries over any ttl window.
//
// One budget per service per worker thread (thread-local use, no locks, no atomics); the clock
// is passed in, so tests drive it.

#include <array>
#include <chrono>
#include <cstdint>

#include "api/traffic.pb.h"

namespace trellis::proxy::retry {

using Clock = std::chrono::steady_clock;

struct RetryBudgetConfig {
  double retry_ratio = 0.2;
  uint32_t min_retries_per_second = 10;
  std::chrono::milliseconds ttl{10'000};

  // Zero/unset fields of the policy take Linkerd's defaults; ttl is kept within [1 s, 60 s].
  static RetryBudgetConfig from(const api::traffic::v1::RetryBudget& b);
};

class RetryBudget {
 public:
  RetryBudget(const RetryBudgetConfig& config, Clock::time_point now);

  // One original request (not a retry).
  void deposit(Clock::time_point now);
  // One retry: true when the budget allows it (and takes it), false when exhausted.
  bool try_withdraw(Clock::time_point now);
  // Whole retries available now (for tests and metrics).
  int64_t available(Clock::time_point now);

  const RetryBudgetConfig& config() const { return config_; }

 private:
  static constexpr size_t kSlots = 10;
  // Fixed point: a retry is kUnit; a deposit is retry_ratio * kUnit.
  static constexpr int64_t kUnit = 1000;

  void advance(Clock::time_point now);
  int64_t balance() const;

  RetryBudgetConfig config_;
  int64_t deposit_amount_ = 0;
  int64_t reserve_ = 0;
  std::chrono::nanoseconds slot_width_;
  std::array<int64_t, kSlots> slots_{};
  size_t current_ = 0;
  Clock::time_point slot_start_;
};

}  // namespace trellis::proxy::retry
