#include "proxy/retry/decision.h"

#include <algorithm>

namespace trellis::proxy::retry {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kRetry: return "retry";
    case Verdict::kRouteNotRetryable: return "not_retryable";
    case Verdict::kNotRetryableOutcome: return "success";
    case Verdict::kLimitReached: return "limit";
    case Verdict::kBodyNotReplayable: return "body_too_large";
    case Verdict::kDeadline: return "deadline";
    case Verdict::kNoBudget: return "no_budget";
  }
  return "unknown";
}

bool retryable_outcome(const api::traffic::v1::RetryPolicy& policy, const Outcome& outcome) {
  if (!policy.enabled()) return false;
  if (policy.on_classified_failure()) {
    return outcome.classification == route::Classification::kFailure;
  }
  if (outcome.per_try_timeout) return policy.per_try_timeout_ms() > 0;
  if (!outcome.status) return true;  // no response at all: nothing reached the application
  if (outcome.grpc_status) {
    const auto& codes = policy.grpc_codes();
    if (std::find(codes.begin(), codes.end(), static_cast<uint32_t>(*outcome.grpc_status)) !=
        codes.end()) {
      return true;
    }
  }
  const auto status = static_cast<uint32_t>(*outcome.status);
  return std::any_of(policy.http_statuses().begin(), policy.http_statuses().end(),
                     [&](const auto& r) { return status >= r.min() && status <= r.max(); });
}

Decision decide(const api::traffic::v1::RetryPolicy& policy, const Outcome& outcome,
                const RequestState& state, RetryBudget& budget, Clock::time_point now,
                balance::FastRandom& random) {
  Decision d;
  if (!policy.enabled()) {
    d.verdict = Verdict::kRouteNotRetryable;
    return d;
  }
  if (!retryable_outcome(policy, outcome)) {
    d.verdict = Verdict::kNotRetryableOutcome;
    return d;
  }
  if (policy.max_retries() > 0 && state.retries_done >= policy.max_retries()) {
    d.verdict = Verdict::kLimitReached;
    return d;
  }
  if (!state.body_replayable) {
    d.verdict = Verdict::kBodyNotReplayable;
    return d;
  }
  d.backoff = Backoff::from(policy).delay(state.retries_done + 1, random);
  if (state.deadline && now + d.backoff >= *state.deadline) {
    d.verdict = Verdict::kDeadline;
    return d;
  }
  d.verdict = budget.try_withdraw(now) ? Verdict::kRetry : Verdict::kNoBudget;
  return d;
}

}  // namespace trellis::proxy::retry
