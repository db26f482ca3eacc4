#include "proxy/pipeline.h"

#include "base/log.h"
#include "http/h1conn/server_connection.h"
#include "http/h2/server.h"
#include "net/socket_options.h"
#include "proxy/detect/detect.h"
#include "proxy/detect/read.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/inbound/inbound_service.h"
#include "proxy/tcp/forward.h"

namespace trellis::proxy {
namespace {

using Clock = std::chrono::steady_clock;

// ---- stage: accept -------------------------------------------------------------------------
std::shared_ptr<http::ConnectionInfo> accept_connection(WorkerContext& worker,
                                                        net::tcp::socket& socket) {
  net::configure_stream_socket(socket);
  auto info = std::make_shared<http::ConnectionInfo>();
  info->id = worker.next_connection_id();
  net::error_code ec;
  info->peer = net::SocketAddress::from_endpoint(socket.remote_endpoint(ec));
  info->local = net::SocketAddress::from_endpoint(socket.local_endpoint(ec));
  info->original_dst = net::original_destination(socket);
  return info;
}

// Where bytes go when the connection is not (or not only) HTTP.
std::optional<net::SocketAddress> tcp_target(WorkerContext& worker, Direction direction,
                                             const http::ConnectionInfo& info) {
  if (direction == Direction::kInbound) return inbound::app_address(worker.config(), info);
  return info.original_dst;
}

bool is_opaque_port(const ProxyConfig& config, uint16_t port) {
  for (uint16_t p : config.opaque_ports) {
    if (p == port) return true;
  }
  return false;
}

// ---- stage: opaque TCP ---------------------------------------------------------------------
net::awaitable<void> forward_tcp(WorkerContext& worker, Direction direction,
                                 const http::ConnectionInfo& info, net::tcp::socket& client,
                                 std::string prefix) {
  std::optional<net::SocketAddress> target = tcp_target(worker, direction, info);
  if (direction == Direction::kOutbound && target) {
    // A known service: balance per connection over its endpoints.
    auto snapshot = worker.snapshot();
    if (auto dest = snapshot->find_by_address(*target)) {
      auto picked = co_await endpoint::pick_for_connection(worker, snapshot, *dest,
                                                           worker.config().outbound_failfast_timeout);
      if (!picked) {
        TRELLIS_LOG_DEBUG("[C{}] opaque {}: {}", info.id, dest->authority, picked.error().detail);
        co_return;
      }
      target = *picked;
    }
  }
  if (!target) {
    TRELLIS_LOG_DEBUG("[C{}] opaque connection without a target; closing", info.id);
    worker.metrics_cache().error(direction == Direction::kInbound, "no_tcp_target")->inc();
    co_return;
  }
  net::tcp::socket server(client.get_executor());
  {
    using namespace net::asio::experimental::awaitable_operators;
    net::asio::steady_timer timer(client.get_executor());
    timer.expires_after(direction == Direction::kInbound ? worker.config().inbound_connect_timeout
                                                         : worker.config().outbound_connect_timeout);
    auto r = co_await (server.async_connect(target->endpoint(), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1 || std::get<0>(std::get<0>(r))) {
      worker.metrics_cache().error(direction == Direction::kInbound, "tcp_connect_failed")->inc();
      TRELLIS_LOG_DEBUG("[C{}] opaque connect to {} failed", info.id, target->to_string());
      co_return;
    }
  }
  net::configure_stream_socket(server);
  tcp::ForwardOptions options;
  options.idle_timeout = worker.config().tcp_idle_timeout;
  auto result = co_await tcp::forward(client, server, std::move(prefix), options);
  (void)result;
}

}  // namespace

const char* to_string(Direction d) { return d == Direction::kInbound ? "inbound" : "outbound"; }

net::awaitable<void> serve_connection(WorkerContext& worker, Direction direction,
                                      http::Service& http_service, net::tcp::socket socket) {
  const ProxyConfig& config = worker.config();
  const char* dir = to_string(direction);

  // 1. accept: connection identity, peer, original destination.
  auto info = accept_connection(worker, socket);
  auto& metrics = worker.metrics();
  std::optional<net::SocketAddress> target = tcp_target(worker, direction, *info);
  const std::string target_addr = target ? target->to_string() : "";
  const std::string target_ip = target ? target->ip.to_string() : "";
  const std::string target_port = target ? std::to_string(target->port) : "";
  const std::vector<std::string_view> tcp_labels = {
      dir, "src", target_addr, target_ip, target_port, "no_identity",
      direction == Direction::kInbound ? "no_tls_from_remote" : "loopback", "", ""};
  auto open = metrics.tcp_open_connections.get(tcp_labels);
  metrics.tcp_open_total.get(tcp_labels)->inc();
  open->inc();
  struct CloseGuard {
    metrics::Handle<metrics::Gauge>& open;
    ProxyMetrics& metrics;
    std::vector<std::string_view> labels;
    ~CloseGuard() {
      open->dec();
      labels.push_back("");  // errno: a clean close
      metrics.tcp_close_total.get(labels)->inc();
    }
  } close_guard{open, metrics, tcp_labels};

  // 2. opaque ports skip detection entirely.
  if (target && is_opaque_port(config, target->port)) {
    metrics.protocol_detect_total.get({dir, "opaque_port"})->inc();
    co_await forward_tcp(worker, direction, *info, socket, {});
    co_return;
  }

  // 3. detect: TLS, HTTP/2, HTTP/1, or opaque after the detect timeout.
  detect::Detected detected = co_await detect::read_and_detect(socket, config.detect_timeout);
  metrics.protocol_detect_total
      .get({dir, detected.timed_out ? "timeout" : detect::to_string(detected.protocol)})
      ->inc();

  // 4. protocol switch.
  switch (detected.protocol) {
    case detect::Protocol::kHttp1: {
      http::h1::ServerOptions options;
      options.header_read_timeout = config.header_read_timeout;
      auto result = co_await http::h1::serve_h1(socket, std::move(detected.bytes), http_service,
                                                options, info, &worker.h1_counters(),
                                                &worker.shutdown_signal());
      if (result.reason == http::h1::ServerClose::kTunnel) {
        // Upgrade/CONNECT tunnels continue as opaque TCP to the target the service chose.
        TRELLIS_LOG_DEBUG("[C{}] tunnel after upgrade is not supported yet; closing", info->id);
      }
      co_return;
    }
    case detect::Protocol::kHttp2: {
      http::h2::StreamTransport<net::tcp::socket> transport(socket);
      http::h2::ServerSession session(transport, http_service, worker.h2_settings(),
                                      worker.h2_server_counters(), info, std::move(detected.bytes));
      // Graceful shutdown: GOAWAY, in-flight streams finish.
      auto subscription = worker.shutdown_signal().subscribe([&session] { session.shutdown(); });
      co_await session.run();
      co_return;
    }
    case detect::Protocol::kTls:
    case detect::Protocol::kOpaque:
    case detect::Protocol::kNeedMore:
      if (detected.closed && detected.bytes.empty()) co_return;
      co_await forward_tcp(worker, direction, *info, socket, std::move(detected.bytes));
      co_return;
  }
}

}  // namespace trellis::proxy
