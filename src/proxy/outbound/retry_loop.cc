#include "proxy/outbound/retry_loop.h"

#include "base/log.h"
#include "proxy/errors.h"
#include "proxy/outbound/attempt.h"
#include "proxy/retry/decision.h"
#include "proxy/retry/replay.h"
#include "proxy/route/filters.h"

namespace trellis::proxy::outbound {
namespace {

using Clock = std::chrono::steady_clock;

RoutedResult proxy_error(ProxyError error, const http::RequestHead& head, std::string detail) {
  RoutedResult r;
  r.response = error_response(error, head, detail);
  r.error = to_string(error);
  r.classification = route::Classification::kFailure;
  return r;
}

bool counts_as_skipped(retry::Verdict v) {
  return v == retry::Verdict::kLimitReached || v == retry::Verdict::kBodyNotReplayable ||
         v == retry::Verdict::kDeadline || v == retry::Verdict::kNoBudget;
}

}  // namespace

net::awaitable<RoutedResult> send_with_retries(
    WorkerContext& worker, retry::RetryBudget* budget, discovery::SnapshotPtr snapshot,
    discovery::Destination apex, const route::Route& route, RouteLabels labels,
    std::optional<Clock::time_point> deadline, http::Request request) {
  auto& metrics = worker.metrics().route;
  const auto& policy = route.retry;
  if (!request.body) request.body = http::make_empty_body();
  std::shared_ptr<retry::ReplayBuffer> replay;
  if (budget && policy.enabled()) {
    const size_t limit = policy.max_request_bytes() > 0 ? policy.max_request_bytes()
                                                        : retry::kDefaultMaxReplayBytes;
    replay = retry::ReplayBuffer::make(std::move(request.body), limit);
  }
  const http::RequestHead error_head = error_head_of(request.head);

  retry::RequestState state;
  state.deadline = deadline;
  while (true) {
    const route::Backend* backend = route.backends.pick(worker.random());
    if (!backend) {
      co_return proxy_error(ProxyError::kInternal, error_head,
                            "route " + route.name + " of " + apex.authority +
                                " has no backend with a non-zero weight");
    }
    http::Request attempt{request.head, nullptr, request.connection, request.stream_id};
    if (replay) {
      attempt.body = replay->attempt();
    } else {
      attempt.body = std::move(request.body);
    }
    (void)route::apply_request_filters(backend->filters, std::nullopt, attempt.head);

    // The earliest of the route deadline and this attempt's own timeout.
    const auto now = Clock::now();
    std::optional<Clock::time_point> attempt_deadline = deadline;
    enum class Bound { kRoute, kPerTry, kBackend } bound = Bound::kRoute;
    auto tighten = [&](uint64_t ms, Bound b) {
      if (ms == 0) return;
      const auto t = now + std::chrono::milliseconds(ms);
      if (!attempt_deadline || t < *attempt_deadline) {
        attempt_deadline = t;
        bound = b;
      }
    };
    tighten(policy.per_try_timeout_ms(), Bound::kPerTry);
    tighten(route.timeouts.backend_request_ms(), Bound::kBackend);

    RouteLabels actual = labels;
    actual.dst = backend->authority.empty() ? apex.authority : backend->authority;
    count_route_request(metrics, actual, true);
    Attempt a = co_await run_attempt(worker, snapshot, apex, actual.dst, std::move(attempt),
                                     attempt_deadline);

    retry::Outcome outcome;
    RoutedResult result;
    result.endpoint_labels = std::move(a.endpoint_labels);
    result.identity = std::move(a.identity);
    if (a.timed_out) {
      outcome.classification = route::Classification::kFailure;
      count_route_response(metrics, actual, true, 0, "failure", "timeout");
      if (bound != Bound::kPerTry) {
        // The route's request timeout (which covers retries) or backendRequest: answer 504.
        const uint64_t ms = bound == Bound::kRoute ? route.timeouts.request_ms()
                                                   : route.timeouts.backend_request_ms();
        RoutedResult r = proxy_error(
            ProxyError::kTimeout, error_head,
            std::string(bound == Bound::kRoute ? "route" : "backend request") + " timeout after " +
                std::to_string(ms) + "ms");
        r.endpoint_labels = std::move(result.endpoint_labels);
        r.identity = std::move(result.identity);
        co_return r;
      }
      outcome.per_try_timeout = true;
      result = proxy_error(ProxyError::kTimeout, error_head,
                           "per-try timeout after " + std::to_string(policy.per_try_timeout_ms()) +
                               "ms");
    } else if (!a.result) {
      outcome.classification = route::Classification::kFailure;
      const auto& err = a.result.error();
      count_route_response(metrics, actual, true, 0, "failure", to_string(err.error));
      TRELLIS_LOG_DEBUG("outbound {} {} via {}: {}", error_head.method, apex.authority, actual.dst,
                        err.detail);
      auto endpoint_labels = std::move(result.endpoint_labels);
      auto identity = std::move(result.identity);
      result = proxy_error(err.error, error_head, err.detail);
      result.endpoint_labels = std::move(endpoint_labels);
      result.identity = std::move(identity);
    } else {
      http::Response& response = a.result->response;
      outcome.status = response.head.status;
      outcome.grpc_status = route::grpc_status(response.head, nullptr);
      outcome.classification = route.classifier.classify(response.head, nullptr);
      count_route_response(metrics, actual, true, response.head.status,
                           route::to_string(outcome.classification), "");
      result.classification = outcome.classification;
      result.response = std::move(response);
    }

    if (!budget) co_return result;
    state.body_replayable = replay && replay->replayable();
    const auto decided_at = Clock::now();
    const retry::Decision decision =
        retry::decide(policy, outcome, state, *budget, decided_at, worker.random());
    if (!decision.retry()) {
      if (counts_as_skipped(decision.verdict)) {
        count_route_retry_skipped(metrics, labels, retry::to_string(decision.verdict));
      }
      co_return result;
    }
    ++state.retries_done;
    if (decision.backoff.count() > 0) {
      net::asio::steady_timer wait(worker.executor());
      wait.expires_after(decision.backoff);
      co_await wait.async_wait(net::use_nothrow);
    }
  }
}

}  // namespace trellis::proxy::outbound
