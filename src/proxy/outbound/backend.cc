#include "proxy/outbound/backend.h"

#include "proxy/route/route_table.h"

namespace trellis::proxy::outbound {
namespace {

net::awaitable<std::optional<discovery::Destination>> resolve_backend(
    WorkerContext& worker, discovery::SnapshotPtr& snapshot, const std::string& authority) {
  std::optional<discovery::Destination> destination = snapshot->find_by_authority(authority);
  if (!destination) {
    discovery::SnapshotPtr latest = worker.snapshot();
    destination = latest->find_by_authority(authority);
    if (destination) snapshot = std::move(latest);
  }
  if (!destination && snapshot->resolver()) {
    destination = co_await discovery::resolve_lazily(snapshot, std::nullopt, authority,
                                                     worker.config().outbound_failfast_timeout);
  }
  co_return destination;
}

}  // namespace

net::awaitable<std::optional<discovery::Destination>> split_for_connection(
    WorkerContext& worker, discovery::SnapshotPtr& snapshot, discovery::Destination apex) {
  if (!apex.port || !apex.port->routes) co_return apex;
  const std::shared_ptr<const route::RouteTable> table = apex.port->routes;
  const route::WeightedBackends& split = table->tcp_backends();
  if (split.backends().empty()) co_return apex;
  const route::Backend* backend = split.pick(worker.random());
  if (!backend) co_return std::nullopt;
  if (backend->authority.empty() || backend->authority == apex.authority) co_return apex;
  co_return co_await resolve_backend(worker, snapshot, backend->authority);
}

net::awaitable<base::Result<endpoint::PickedEndpoint, endpoint::DispatchError>> pick_backend(
    WorkerContext& worker, discovery::SnapshotPtr snapshot, discovery::Destination apex,
    std::string backend_authority) {
  const auto failfast = worker.config().outbound_failfast_timeout;
  if (backend_authority.empty() || backend_authority == apex.authority) {
    co_return co_await endpoint::pick_endpoint(worker, snapshot, apex, failfast);
  }
  std::optional<discovery::Destination> destination =
      co_await resolve_backend(worker, snapshot, backend_authority);
  if (!destination) {
    co_return base::unexpected(endpoint::DispatchError{
        ProxyError::kFailFast, "backend " + backend_authority + " of " + apex.authority +
                                   " is not a known service"});
  }
  co_return co_await endpoint::pick_endpoint(worker, snapshot, *destination, failfast);
}

}  // namespace trellis::proxy::outbound
