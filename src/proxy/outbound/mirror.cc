#include "proxy/outbound/mirror.h"

#include "base/log.h"
#include "proxy/outbound/attempt.h"

namespace trellis::proxy::outbound {
namespace {

// Reads a discarded response body so its connection can serve the next request; a large or
// broken one is just dropped (its connection closes).
net::awaitable<void> drain(http::Body& body) {
  size_t total = 0;
  while (total < 1024 * 1024) {
    auto chunk = co_await body.next();
    if (!chunk || chunk->end_of_stream) co_return;
    total += chunk->data.size();
  }
}

net::awaitable<void> mirror_one(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                                discovery::Destination apex, std::string authority,
                                http::RequestHead head, RouteLabels labels,
                                std::chrono::steady_clock::time_point deadline) {
  labels.dst = authority;
  auto& metrics = worker.metrics().route;
  count_route_request(metrics, labels, true);
  http::Request request{std::move(head), http::make_empty_body(), nullptr, 0};
  Attempt a = co_await run_attempt(worker, std::move(snapshot), std::move(apex),
                                   std::move(authority), std::move(request), deadline);
  if (a.timed_out) {
    count_route_response(metrics, labels, true, 0, "failure", "timeout");
    co_return;
  }
  if (!a.result) {
    TRELLIS_LOG_DEBUG("mirror to {}: {}", labels.dst, a.result.error().detail);
    count_route_response(metrics, labels, true, 0, "failure", to_string(a.result.error().error));
    co_return;
  }
  const int status = a.result->response.head.status;
  count_route_response(metrics, labels, true, status, status >= 500 ? "failure" : "success", "");
  if (a.result->response.body) co_await drain(*a.result->response.body);
}

}  // namespace

void fire_mirror(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                 const discovery::Destination& apex, const std::string& mirror_authority,
                 const http::RequestHead& head, RouteLabels labels,
                 std::chrono::steady_clock::time_point deadline) {
  net::asio::co_spawn(worker.executor(),
                      mirror_one(worker, std::move(snapshot), apex, mirror_authority, head,
                                 std::move(labels), deadline),
                      net::asio::detached);
}

}  // namespace trellis::proxy::outbound
