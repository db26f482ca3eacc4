#pragma once
// Whether to retry an attempt, at route level above the balancer (DESIGN.md §7.6, so a retry
// can go to another endpoint). The checks run in this order, and the budget is only drawn from
// when everything else allows the retry:
//   1. the route retries at all (ServiceProfile isRetryable / retry.linkerd.io annotations);
//   2. the outcome is retryable (classified failure for profiles; a listed HTTP status or gRPC
//      code, an expired per-try timeout, or no response at all for annotation retries);
//   3. the per-request retry limit is not reached;
//   4. the request body could be buffered for replay (at most max_request_bytes, 64 KiB);
//   5. the retry (after its backoff) can still start before the route's request deadline;
//   6. the retry budget has a retry left (else counted as route_retryable_total{skipped=
//      "no_budget"}).

#include <chrono>
#include <cstdint>
#include <optional>

#include "api/traffic.pb.h"
#include "proxy/balance/p2c.h"
#include "proxy/retry/backoff.h"
#include "proxy/retry/budget.h"
#include "proxy/route/classify.h"

namespace trellis::proxy::retry {

enum class Verdict {
  kRetry,
  kRouteNotRetryable,
  kNotRetryableOutcome,
  kLimitReached,
  kBodyNotReplayable,
  kDeadline,
  kNoBudget,
};
// Label values: "retry", "not_retryable", "success", "limit", "body_too_large", "deadline",
// "no_budget".
const char* to_string(Verdict v);

// What happened to one attempt.
struct Outcome {
  // The response status; nullopt when the attempt ended without a response (connection
  // failure, reset, per-try timeout).
  std::optional<int> status;
  std::optional<int> grpc_status;
  route::Classification classification = route::Classification::kSuccess;
  bool per_try_timeout = false;
};

struct RequestState {
  uint32_t retries_done = 0;  // retries already made for this request
  bool body_replayable = true;
  // The route's request deadline (timeouts.request_ms from the first attempt); unset: none.
  std::optional<Clock::time_point> deadline;
};

struct Decision {
  Verdict verdict = Verdict::kRouteNotRetryable;
  std::chrono::nanoseconds backoff{0};  // wait this long before the retry
  bool retry() const { return verdict == Verdict::kRetry; }
};

// True when the policy would retry this outcome (step 2 alone).
bool retryable_outcome(const api::traffic::v1::RetryPolicy& policy, const Outcome& outcome);

// Every step above; withdraws from `budget` only when the verdict is kRetry.
Decision decide(const api::traffic::v1::RetryPolicy& policy, const Outcome& outcome,
                const RequestState& state, RetryBudget& budget, Clock::time_point now,
                balance::FastRandom& random);

}  // namespace trellis::proxy::retry
