#include "proxy/retry/budget.h"

#include <algorithm>
#include <cmath>

namespace trellis::proxy::retry {

RetryBudgetConfig RetryBudgetConfig::from(const api::traffic::v1::RetryBudget& b) {
  RetryBudgetConfig c;
  // A policy without a budget (all zero) means Linkerd's defaults; a ratio of 0 with a
  // minimum set is a deliberate "minimum only" budget.
  const bool unset = b.retry_ratio() == 0 && b.min_retries_per_second() == 0 && b.ttl_ms() == 0;
  if (unset) return c;
  c.retry_ratio = std::clamp(b.retry_ratio(), 0.0, 1000.0);
  c.min_retries_per_second = b.min_retries_per_second();
  if (b.ttl_ms() != 0) {
    c.ttl = std::chrono::milliseconds(std::clamp<uint64_t>(b.ttl_ms(), 1'000, 60'000));
  }
  return c;
}

RetryBudget::RetryBudget(const RetryBudgetConfig& config, Clock::time_point now)
    : config_(config),
      deposit_amount_(static_cast<int64_t>(std::llround(config.retry_ratio * kUnit))),
      // min_retries_per_second * ttl seconds * kUnit, with kUnit = 1000 per second -> ms.
      reserve_(static_cast<int64_t>(config.min_retries_per_second) * config.ttl.count()),
      slot_width_(std::chrono::duration_cast<std::chrono::nanoseconds>(config.ttl) /
                  static_cast<int64_t>(kSlots)),
      slot_start_(now) {}

void RetryBudget::advance(Clock::time_point now) {
  if (now < slot_start_ + slot_width_) return;
  const auto steps = static_cast<uint64_t>((now - slot_start_) / slot_width_);
  if (steps >= kSlots) {
    slots_.fill(0);
    current_ = 0;
  } else {
    for (uint64_t i = 0; i < steps; ++i) {
      current_ = (current_ + 1) % kSlots;
      slots_[current_] = 0;  // the oldest slot expires and is reused
    }
  }
  slot_start_ += slot_width_ * static_cast<int64_t>(steps);
}

int64_t RetryBudget::balance() const {
  int64_t sum = reserve_;
  for (int64_t s : slots_) sum += s;
  return sum;
}

void RetryBudget::deposit(Clock::time_point now) {
  advance(now);
  slots_[current_] += deposit_amount_;
}

bool RetryBudget::try_withdraw(Clock::time_point now) {
  advance(now);
  if (balance() < kUnit) return false;
  slots_[current_] -= kUnit;
  return true;
}

int64_t RetryBudget::available(Clock::time_point now) {
  advance(now);
  return std::max<int64_t>(0, balance() / kUnit);
}

}  // namespace trellis::proxy::retry
