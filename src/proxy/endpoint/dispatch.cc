#include "proxy/endpoint/dispatch.h"

#include "base/log.h"
#include "net/socket_options.h"
#include "tls/handshake.h"

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

constexpr std::chrono::seconds kHandshakeTimeout{10};

const std::vector<std::string>& alpn_h2() {
  static const std::vector<std::string> v{std::string(tls::kAlpnH2)};
  return v;
}
const std::vector<std::string>& alpn_http1() {
  static const std::vector<std::string> v{std::string(tls::kAlpnHttp11)};
  return v;
}

// The mTLS handshake to a meshed endpoint over a connected socket. Failures are counted as
// outbound errors "tls_<ErrorCode>" and reported as a connect failure.
net::awaitable<base::Result<std::unique_ptr<ConnectionTransport>, net::error_code>> secure(
    WorkerContext& worker, net::tcp::socket socket, const std::string& identity,
    const std::vector<std::string>* alpn) {
  const net::error_code failed =
      boost::system::errc::make_error_code(boost::system::errc::protocol_error);
  auto server = tls::Identity::parse(identity);
  if (!server) {
    worker.metrics_cache().error(false, "tls_invalid_identity")->inc();
    co_return base::unexpected(failed);
  }
  auto stream = tls::make_client_stream(*worker.mesh_tls()->client, std::move(socket), *server,
                                        alpn);
  if (!stream) {
    worker.metrics_cache().error(false, std::string("tls_") + tls::to_string(stream.error().code))
        ->inc();
    TRELLIS_LOG_DEBUG("mTLS to {}: {}", identity, stream.error().detail);
    co_return base::unexpected(failed);
  }
  auto transport = std::make_unique<StreamConnectionTransport<tls::TlsStream>>(std::move(*stream));
  auto peer = co_await tls::client_handshake(transport->stream(), kHandshakeTimeout);
  if (!peer) {
    worker.metrics_cache().error(false, std::string("tls_") + tls::to_string(peer.error().code))
        ->inc();
    TRELLIS_LOG_DEBUG("mTLS handshake with {} failed: {}", identity, peer.error().detail);
    transport->close();
    co_return base::unexpected(failed);
  }
  co_return std::unique_ptr<ConnectionTransport>(std::move(transport));
}

// Where one attempt goes.
struct Target {
  net::SocketAddress address;
  std::string identity;  // non-empty: mTLS (the caller checked worker.mesh_tls())
  discovery::ProtocolHint hint = discovery::ProtocolHint::kUnknown;
};

bool is_tunnel_request(const http::RequestHead& head) {
  return head.method == "CONNECT" || head.headers.contains("upgrade");
}

SendFailure connect_failure(const net::SocketAddress& address, const net::error_code& ec) {
  return SendFailure{{ProxyError::kConnectFailed,
                      "connect to " + address.to_string() + " failed: " + ec.message()},
                     true};
}

// One attempt: HTTP/2 requests (gRPC) keep HTTP/2 on a multiplexed connection, HTTP/1 requests
// go through the endpoint's keep-alive pool — or, to a meshed endpoint with the h2 hint, travel
// as HTTP/2 with l5d-orig-proto.
net::awaitable<base::Result<http::Response, SendFailure>> send_once(
    WorkerContext& worker, const Target& target, http::Request request,
    std::chrono::milliseconds connect_timeout) {
  const net::SocketAddress& address = target.address;
  const bool meshed = !target.identity.empty();
  bool upgraded_to_h2 = false;
  if (meshed && request.head.version != http::Version::kHttp2 &&
      target.hint == discovery::ProtocolHint::kHttp2 && !is_tunnel_request(request.head)) {
    request.head.headers.set(kOrigProtoHeader, request.head.version == http::Version::kHttp10
                                                   ? "HTTP/1.0"
                                                   : "HTTP/1.1");
    request.head.version = http::Version::kHttp2;
    upgraded_to_h2 = true;
  }
  if (request.head.version == http::Version::kHttp2) {
    base::Result<std::shared_ptr<H2Connection>, net::error_code> conn =
        base::unexpected(net::error_code());
    if (meshed) {
      SecureFn fn = [&worker, identity = target.identity](net::tcp::socket socket) {
        return secure(worker, std::move(socket), identity, &alpn_h2());
      };
      conn = co_await worker.h2_clients().get(address, target.identity, connect_timeout, fn);
    } else {
      conn = co_await worker.h2_clients().get(address, connect_timeout);
    }
    if (!conn) co_return base::unexpected(connect_failure(address, conn.error()));
    std::shared_ptr<H2Connection> keep = *conn;
    auto r = co_await keep->session->send(std::move(request));
    if (!r) co_return base::unexpected(SendFailure{from_h2_error(r.error(), address), false});
    if (upgraded_to_h2) {
      // The client spoke HTTP/1: the response goes back to it as one.
      r->head.headers.remove(kOrigProtoHeader);
      r->head.version = http::Version::kHttp11;
    }
    co_return std::move(*r);
  }
  http::h1::Pool* pool = nullptr;
  if (meshed) {
    pool = &worker.h2_clients().mesh_pool(address, target.identity, [&] {
      http::h1::PoolOptions options;
      options.connect_timeout = connect_timeout;
      options.idle_timeout = worker.config().http1_pool_idle_timeout;
      options.max_idle = worker.config().http1_pool_max_idle_per_endpoint;
      options.wrap = [&worker, identity = target.identity](net::tcp::socket socket)
          -> net::awaitable<base::Result<std::unique_ptr<http::h1::Transport>, net::error_code>> {
        // Built outside the co_await expression (GCC 12 mishandles the by-value socket).
        auto pending = secure(worker, std::move(socket), identity, &alpn_http1());
        auto r = co_await std::move(pending);
        if (!r) co_return base::unexpected(r.error());
        co_return std::unique_ptr<http::h1::Transport>(std::move(*r));
      };
      return options;
    });
  } else {
    pool = &worker.pool(address, connect_timeout);
  }
  auto r = co_await pool->send(std::move(request));
  if (!r) {
    co_return base::unexpected(SendFailure{from_client_error(r.error(), address),
                                           r.error().kind == http::h1::ClientError::Kind::kConnect});
  }
  co_return std::move(*r);
}

// Waits until the service port has an available endpoint or the fail-fast deadline passes; each
// round re-reads the latest snapshot, since endpoints may have appeared meanwhile.
net::awaitable<base::Result<PickedEndpoint, DispatchError>> wait_for_endpoint(
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
      co_return PickedEndpoint{snapshot,      destination,   meta.address,
                               meta.labels,   meta.identity, meta.protocol_hint};
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

bool is_meshed(const WorkerContext& worker, const PickedEndpoint& endpoint) {
  return !endpoint.identity.empty() && worker.mesh_tls() != nullptr;
}

net::awaitable<base::Result<PickedEndpoint, DispatchError>> pick_endpoint(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, std::chrono::milliseconds failfast_timeout) {
  co_return co_await wait_for_endpoint(worker, snapshot, destination, failfast_timeout);
}

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_endpoint(
    WorkerContext& worker, const PickedEndpoint& picked, http::Request request,
    const DispatchOptions& options) {
  const std::string& authority = picked.destination.authority;
  const net::SocketAddress address = picked.address;
  size_t index = 0;
  if (auto* ep = find_endpoint(worker, authority, address, index)) ep->ewma.start();
  const auto start = Clock::now();
  Target target{address, is_meshed(worker, picked) ? picked.identity : std::string(),
                picked.protocol_hint};
  auto response = co_await send_once(worker, target, std::move(request), options.connect_timeout);
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
  out.endpoint_labels = picked.labels;
  out.response = std::move(*response);
  co_return out;
}

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_service(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, http::Request request,
    const DispatchOptions& options) {
  auto picked = co_await wait_for_endpoint(worker, snapshot, destination, options.failfast_timeout);
  if (!picked) co_return base::unexpected(picked.error());
  co_return co_await send_to_endpoint(worker, *picked, std::move(request), options);
}

net::awaitable<base::Result<Dispatched, DispatchError>> send_to_address(
    WorkerContext& worker, const net::SocketAddress& address, http::Request request,
    const DispatchOptions& options) {
  Target target{address, std::string(), discovery::ProtocolHint::kUnknown};
  auto response = co_await send_once(worker, target, std::move(request), options.connect_timeout);
  if (!response) co_return base::unexpected(response.error().error);
  Dispatched out;
  out.endpoint = address;
  out.response = std::move(*response);
  co_return out;
}

net::awaitable<base::Result<PickedEndpoint, DispatchError>> pick_for_connection(
    WorkerContext& worker, const discovery::SnapshotPtr& snapshot,
    const discovery::Destination& destination, std::chrono::milliseconds failfast_timeout) {
  co_return co_await wait_for_endpoint(worker, snapshot, destination, failfast_timeout);
}

net::awaitable<base::Result<std::unique_ptr<ConnectionTransport>, DispatchError>> connect_stream(
    WorkerContext& worker, const net::SocketAddress& address, const std::string& identity,
    std::chrono::milliseconds connect_timeout) {
  net::tcp::socket socket(worker.executor());
  {
    using namespace net::asio::experimental::awaitable_operators;
    net::asio::steady_timer timer(worker.executor());
    timer.expires_after(connect_timeout);
    auto r = co_await (socket.async_connect(address.endpoint(), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    net::error_code ec = r.index() == 1 ? net::error_code(net::asio::error::timed_out)
                                        : std::get<0>(std::get<0>(r));
    if (ec) co_return base::unexpected(connect_failure(address, ec).error);
  }
  net::configure_stream_socket(socket);
  if (identity.empty() || !worker.mesh_tls()) {
    co_return std::unique_ptr<ConnectionTransport>(
        std::make_unique<TcpConnectionTransport>(std::move(socket)));
  }
  // Built outside the co_await expression (GCC 12 mishandles the by-value socket).
  auto pending = secure(worker, std::move(socket), identity, nullptr);
  auto secured = co_await std::move(pending);
  if (!secured) co_return base::unexpected(connect_failure(address, secured.error()).error);
  co_return std::move(*secured);
}

}  // namespace trellis::proxy::endpoint
