#include "proxy/endpoint/dispatch.h"

#include "base/log.h"

namespace trellis::proxy::endpoint {
namespace {

using Clock = std::chrono::steady_clock;

DispatchError from_client_error(const http::h1::ClientError& e, const net::SocketAddress& addr) {
  using Kind = http::h1::ClientError::Kind;
  const std::string where = addr.to_string();
  switch (e.kind) {
    case Kind::kConnect:
      return {ProxyError::kConnectFailed,
              "connect to " + where + " failed" + (e.io_error ? ": " + e.io_error.message() : "")};
    case Kind::kTimeout:
      return {ProxyError::kTimeout, "response from " + where + " timed out"};
    case Kind::kClosedBeforeResponse:
      return {ProxyError::kUpstreamError, "connection to " + where + " closed before the response"};
    case Kind::kProtocol:
      return {ProxyError::kUpstreamError,
              "invalid response from " + where +
                  (e.parse_error ? ": " + std::string(http::h1::to_string(*e.parse_error)) : std::string())};
    case Kind::kInvalidRequest:
      return {ProxyError::kInternal, "request cannot be sent as HTTP/1"};
    case Kind::kRequestBody:
      return {ProxyError::kUpstreamError, "request body failed while sending to " + where};
    case Kind::kUnavailable:
      return {ProxyError::kUpstreamError, "connection to " + where + " unavailable"};
  }
  return {ProxyError::kInternal, "unknown client error"};
}

struct SendFailure {
  DispatchError error;
  bool connect_failed = false;
};

DispatchError from_h2_error(const http::h2::SendError& e, const net::SocketAddress& addr) {
  using Kind = http::h2::SendError::Kind;
  const std::string where = addr.to_string();
  switch (e.kind) {
    case Kind::kBusy:
      return {ProxyError::kQueueFull, "too many concurrent streams to " + where};
    case Kind::kReset:
      return {ProxyError::kUpstreamError, "stream reset by " + where + " (h2 error " + std::to_string(e.h2_error) + ")"};
    default:
      return {ProxyError::kUpstreamError,
              std::string("HTTP/2 request to ") + where + " failed: " + http::h2::to_string(e.kind)};
  }
}

// One attempt to `address`: HTTP/2 requests (gRPC) keep HTTP/2 on a multiplexed connection,
// HTTP/1 requests go through the endpoint's keep-alive pool.
net::awaitable<base::Result<http::Response, SendFailure>> send_once(
    WorkerContext& worker, const net::SocketAddress& address, http::Request request,
    std::chrono::milliseconds connect_timeout) {
  if (request.head.version == http::Version::kHttp2) {
    auto conn = co_await worker.h2_clients().get(address, connect_timeout);
    if (!conn) {
      co_return base::unexpected(SendFailure{
          {ProxyError::kConnectFailed, "connect to " + address.to_string() + " failed: " +
                                           conn.error().message()},
          true});
    }
    std::shared_ptr<H2Connection> keep = *conn;
    auto r = co_await keep->session->send(std::move(request));
    if (!r) co_return base::unexpected(SendFailure{from_h2_error(r.error(), address), false});
    co_return std::move(*r);
  }
  auto r = co_await worker.pool(address, connect_timeout).send(std::move(request));
  if (!r) {
    co_return base::unexpected(SendFailure{from_client_error(r.error(), address),
                                           r.error().kind == http::h1::ClientError::Kind::kConnect});
  }
  co_return std::move(*r);
}

struct Picked {
  discovery::SnapshotPtr snapshot;  // keeps `destination` valid
  discovery::Destination destination;
  net::SocketAddress address;
  std::map<std::string, std::string> labels;
};

// Waits until the service port has an available endpoint or the fail-fast deadline passes; each
// round re-reads the latest snapshot, since endpoints may have appeared meanwhile.
net::awaitable<base::Result<Picked, DispatchError>> wait_for_endpoint(
    WorkerContext& worker, discovery::SnapshotPtr snapshot, discovery::Destination destination,
    std::chrono::milliseconds failfast_timeout) {
  const auto deadline = Clock::now() + failfast_timeout;
  net::asio::steady_timer timer(worker.executor());
  // Counts this request as waiting once it has to wait; undone on every way out.
  struct Waiting {
    size_t& count;
    bool counted = false;
    ~Waiting() {
      if (counted) --count;
    }
  } waiting{worker.waiting_for_endpoint()};
  while (true) {
    discovery::SnapshotPtr current = worker.snapshot();
    if (current->version() > snapshot->version()) {
      if (auto refreshed = current->find_by_authority(destination.authority)) {
        snapshot = current;
        destination = *refreshed;
      }
    }
    auto& balancer = worker.balancer(snapshot, destination);
    const auto now = Clock::now();
    if (auto index = balancer.pick(now)) {
      const auto& meta = balancer.endpoint(*index).meta;
      co_return Picked{snapshot, destination, meta.address, meta.labels};
    }
    if (now >= deadline) {
      co_return base::unexpected(DispatchError{
          ProxyError::kFailFast, "no available endpoints for " + destination.authority + " after " +
                                     std::to_string(failfast_timeout.count()) + "ms"});
    }
    if (!waiting.counted) {
      // Load shedding: the queue of requests waiting for an endpoint is bounded.
      if (waiting.count >= worker.config().queue_capacity) {
        co_return base::unexpected(DispatchError{
            ProxyError::kQueueFull, "too many requests waiting for an endpoint of " +
                                        destination.authority + " (queue capacity " +
                                        std::to_string(worker.config().queue_capacity) + ")"});
      }
      ++waiting.count;
      waiting.counted = true;
    }
    timer.expires_after(std::min<Clock::duration>(std::chrono::milliseconds(50), deadline - now));
    co_await timer.async_wait(net::use_nothrow);
  }
}

// The balancer entry for `address`, if the endpoint is still part of the service.
balance::BalancedEndpoint* find_endpoint(WorkerContext& worker, const std::string& authority,
                                         const net::SocketAddress& address, size_t& index) {
  balance::P2cBalancer* balancer = worker.find_balancer(authority);
  if (!balancer) return nullptr;
  for (size_t i = 0; i < balancer->size(); ++i) {
    if (balancer->endpoint(i).meta.address == address) {
      index = i;
      return &balancer->endpoint(i);
    }
  }
  return nullptr;
}

}  // namespace

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_service(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, http::Request request,
    const DispatchOptions& options) {
  auto picked = co_await wait_for_endpoint(worker, snapshot, destination, options.failfast_timeout);
  if (!picked) co_return base::unexpected(picked.error());
  const std::string& authority = picked->destination.authority;
  const net::SocketAddress address = picked->address;
  size_t index = 0;
  if (auto* ep = find_endpoint(worker, authority, address, index)) ep->ewma.start();
  const auto start = Clock::now();
  auto response = co_await send_once(worker, address, std::move(request), options.connect_timeout);
  const auto now = Clock::now();
  // The endpoint set may have changed while the request was in flight: look it up again.
  if (auto* ep = find_endpoint(worker, authority, address, index)) {
    ep->ewma.finish(now - start, now);
    balance::P2cBalancer* balancer = worker.find_balancer(authority);
    if (!response && response.error().connect_failed) {
      balancer->record_connect_failure(index, now);
    } else if (response) {
      balancer->record_connect_success(index);
    }
  }
  if (!response) co_return base::unexpected(response.error().error);
  Dispatched out;
  out.endpoint = address;
  out.endpoint_labels = std::move(picked->labels);
  out.response = std::move(*response);
  co_return out;
}

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_address(
    WorkerContext& worker, const net::SocketAddress& address, http::Request request,
    const DispatchOptions& options) {
  auto response = co_await send_once(worker, address, std::move(request), options.connect_timeout);
  if (!response) co_return base::unexpected(response.error().error);
  Dispatched out;
  out.endpoint = address;
  out.response = std::move(*response);
  co_return out;
}

net::awaitable<base::Result<net::SocketAddress, DispatchError>> pick_for_connection(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, std::chrono::milliseconds failfast_timeout) {
  auto picked = co_await wait_for_endpoint(worker, snapshot, destination, failfast_timeout);
  if (!picked) co_return base::unexpected(picked.error());
  co_return picked->address;
}

}  // namespace trellis::proxy::endpoint
