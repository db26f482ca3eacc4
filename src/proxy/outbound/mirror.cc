#include "proxy/outbound/mirror.h"

#include "base/log.h"
#include "proxy/outbound/backend.h"

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
                                http::RequestHead head, RouteLabels labels) {
  labels.dst = authority;
  auto& metrics = worker.metrics().route;
  count_route_request(metrics, labels, true);
  auto picked = co_await pick_backend(worker, std::move(snapshot), std::move(apex), authority);
  if (!picked) {
    TRELLIS_LOG_DEBUG("mirror to {}: {}", authority, picked.error().detail);
    count_route_response(metrics, labels, true, 0, "failure", to_string(picked.error().error));
    co_return;
  }
  endpoint::DispatchOptions options{worker.config().outbound_connect_timeout,
                                    worker.config().outbound_failfast_timeout};
  http::Request request{std::move(head), http::make_empty_body(), nullptr, 0};
  auto result = co_await endpoint::send_to_endpoint(worker, *picked, std::move(request), options);
  if (!result) {
    count_route_response(metrics, labels, true, 0, "failure", to_string(result.error().error));
    co_return;
  }
  const int status = result->response.head.status;
  count_route_response(metrics, labels, true, status, status >= 500 ? "failure" : "success", "");
  if (result->response.body) co_await drain(*result->response.body);
}

}  // namespace

void fire_mirror(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                 const discovery::Destination& apex, const std::string& mirror_authority,
                 const http::RequestHead& head, RouteLabels labels) {
  net::asio::co_spawn(worker.executor(),
                      mirror_one(worker, std::move(snapshot), apex, mirror_authority, head,
                                 std::move(labels)),
                      net::asio::detached);
}

}  // namespace trellis::proxy::outbound
