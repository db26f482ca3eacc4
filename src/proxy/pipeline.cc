#include "proxy/pipeline.h"

#include "base/log.h"
#include "http/h1conn/server_connection.h"
#include "http/h2/server.h"
#include "net/socket_options.h"
#include "proxy/detect/detect.h"
#include "proxy/detect/read.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/inbound/inbound_service.h"
#include "proxy/outbound/backend.h"
#include "proxy/tcp/forward.h"
#include "proxy/tls/terminate.h"
#include "proxy/transport.h"
#include "proxy/tunnel/tunnel.h"
#include "tls/error.h"

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

// Connection-level metrics (tcp_*): opened once the labels are known (after the TLS stage),
// closed — with the bytes the connection's transport moved — when the connection ends.
class TcpStats {
 public:
  TcpStats(ProxyMetrics& metrics, std::vector<std::string> labels)
      : metrics_(metrics), labels_(std::move(labels)) {}
  TcpStats(const TcpStats&) = delete;
  TcpStats& operator=(const TcpStats&) = delete;
  ~TcpStats() {
    if (!opened_) return;
    auto views = label_views();
    open_->dec();
    if (read_ > 0) metrics_.tcp_read_bytes_total.get(views)->inc(read_);
    if (written_ > 0) metrics_.tcp_write_bytes_total.get(views)->inc(written_);
    views.push_back("");  // errno: a clean close
    metrics_.tcp_close_total.get(views)->inc();
  }
  void set_tls(std::string client_id, std::string server_id) {
    labels_[5] = "true";
    labels_[6] = "";
    labels_[7] = std::move(client_id);
    labels_[8] = std::move(server_id);
  }
  void open() {
    if (opened_) return;
    opened_ = true;
    auto views = label_views();
    metrics_.tcp_open_total.get(views)->inc();
    open_ = metrics_.tcp_open_connections.get(views);
    open_->inc();
  }
  // Bytes read from / written to the peer of this connection.
  void add(uint64_t read, uint64_t written) {
    read_ += read;
    written_ += written;
  }
  void add(const ConnectionTransport& transport) {
    add(transport.bytes_read(), transport.bytes_written());
  }

 private:
  std::vector<std::string_view> label_views() const {
    return std::vector<std::string_view>(labels_.begin(), labels_.end());
  }
  ProxyMetrics& metrics_;
  std::vector<std::string> labels_;
  bool opened_ = false;
  metrics::Handle<metrics::Gauge> open_;
  uint64_t read_ = 0;
  uint64_t written_ = 0;
};

// ---- stage: opaque TCP ---------------------------------------------------------------------
net::awaitable<void> forward_tcp(WorkerContext& worker, Direction direction,
                                 const http::ConnectionInfo& info, ConnectionTransport& client,
                                 std::string prefix) {
  std::optional<net::SocketAddress> target = tcp_target(worker, direction, info);
  std::string identity;  // a meshed endpoint: mTLS to its proxy
  if (direction == Direction::kOutbound && target) {
    // A known service: balance per connection over its endpoints.
    auto snapshot = worker.snapshot();
    auto dest = snapshot->find_by_address(*target);
    if (!dest && snapshot->resolver()) {  // control-plane discovery: learn it on first use
      dest = co_await discovery::resolve_lazily(snapshot, target, std::string(),
                                                worker.config().outbound_failfast_timeout);
    }
    if (dest) {
      // A TCP split on the service (TrafficSplit): one weighted backend per connection.
      dest = co_await outbound::split_for_connection(worker, snapshot, *dest);
      if (!dest) {
        TRELLIS_LOG_DEBUG("[C{}] opaque: no backend of the split could be resolved", info.id);
        co_return;
      }
      auto picked = co_await endpoint::pick_for_connection(worker, snapshot, *dest,
                                                           worker.config().outbound_failfast_timeout);
      if (!picked) {
        TRELLIS_LOG_DEBUG("[C{}] opaque {}: {}", info.id, dest->authority, picked.error().detail);
        co_return;
      }
      target = picked->address;
      if (endpoint::is_meshed(worker, *picked)) identity = picked->identity;
    }
  }
  if (!target) {
    TRELLIS_LOG_DEBUG("[C{}] opaque connection without a target; closing", info.id);
    worker.metrics_cache().error(direction == Direction::kInbound, "no_tcp_target")->inc();
    co_return;
  }
  auto server = co_await endpoint::connect_stream(
      worker, *target, identity,
      direction == Direction::kInbound ? worker.config().inbound_connect_timeout
                                       : worker.config().outbound_connect_timeout);
  if (!server) {
    worker.metrics_cache().error(direction == Direction::kInbound, "tcp_connect_failed")->inc();
    TRELLIS_LOG_DEBUG("[C{}] opaque: {}", info.id, server.error().detail);
    co_return;
  }
  tcp::ForwardOptions options;
  options.idle_timeout = worker.config().tcp_idle_timeout;
  auto result = co_await tcp::forward(client, **server, std::move(prefix), options);
  (void)result;
}

// ---- stage: protocol switch ----------------------------------------------------------------
// Serves a connection whose first bytes detection has classified: HTTP/1 (and the tunnels it
// may turn into), HTTP/2, or opaque TCP. Runs on plaintext and on terminated TLS alike.
net::awaitable<void> serve_detected(WorkerContext& worker, Direction direction,
                                    http::Service& http_service,
                                    std::shared_ptr<http::ConnectionInfo> info,
                                    ConnectionTransport& transport, detect::Detected detected) {
  const ProxyConfig& config = worker.config();
  switch (detected.protocol) {
    case detect::Protocol::kHttp1: {
      http::h1::ServerOptions options;
      options.header_read_timeout = config.header_read_timeout;
      auto result = co_await http::h1::serve_h1(static_cast<http::h1::Transport&>(transport),
                                                std::move(detected.bytes), http_service, options,
                                                info, &worker.h1_counters(),
                                                &worker.shutdown_signal());
      if (result.reason == http::h1::ServerClose::kTunnel) {
        // 101 / 2xx to CONNECT: the connection continues as bytes to the upstream stream.
        co_await tunnel::join(worker, transport, std::move(result));
      }
      co_return;
    }
    case detect::Protocol::kHttp2: {
      http::h2::ServerSession session(static_cast<http::h2::Transport&>(transport), http_service,
                                      worker.h2_settings(), worker.h2_server_counters(), info,
                                      std::move(detected.bytes));
      // Graceful shutdown: GOAWAY, in-flight streams finish.
      auto subscription = worker.shutdown_signal().subscribe([&session] { session.shutdown(); });
      co_await session.run();
      co_return;
    }
    case detect::Protocol::kTls:
    case detect::Protocol::kOpaque:
    case detect::Protocol::kNeedMore:
      if (detected.closed && detected.bytes.empty()) co_return;
      co_await forward_tcp(worker, direction, *info, transport, std::move(detected.bytes));
      co_return;
  }
}

}  // namespace

const char* to_string(Direction d) { return d == Direction::kInbound ? "inbound" : "outbound"; }

net::awaitable<void> serve_connection(WorkerContext& worker, Direction direction,
                                      http::Service& http_service, net::tcp::socket socket) {
  const ProxyConfig& config = worker.config();
  const char* dir = to_string(direction);
  auto& metrics = worker.metrics();

  // 1. accept: connection identity, peer, original destination.
  auto info = accept_connection(worker, socket);
  std::optional<net::SocketAddress> target = tcp_target(worker, direction, *info);
  TcpStats stats(metrics, {dir, "src", target ? target->to_string() : "",
                           target ? target->ip.to_string() : "",
                           target ? std::to_string(target->port) : "", "no_identity",
                           direction == Direction::kInbound ? "no_tls_from_remote" : "loopback",
                           "", ""});
  const bool opaque = target && is_opaque_port(config, target->port);
  const MeshTls* mesh = direction == Direction::kInbound ? worker.mesh_tls() : nullptr;

  // 2. opaque ports skip detection entirely — except that a meshed inbound still looks for a
  //    TLS ClientHello addressed to it (meshed clients reach opaque ports over mTLS too).
  if (opaque && !mesh) {
    metrics.protocol_detect_total.get({dir, "opaque_port"})->inc();
    stats.open();
    TcpConnectionTransport plain(std::move(socket));
    co_await forward_tcp(worker, direction, *info, plain, {});
    stats.add(plain);
    co_return;
  }

  // 3. detect: TLS, HTTP/2, HTTP/1, or opaque after the detect timeout.
  detect::Detected detected = co_await detect::read_and_detect(socket, config.detect_timeout);
  metrics.protocol_detect_total
      .get({dir, opaque ? "opaque_port"
                        : (detected.timed_out ? "timeout" : detect::to_string(detected.protocol))})
      ->inc();

  // 4. inbound TLS: terminate mesh TLS addressed to us, pass any other TLS through.
  if (mesh && detected.protocol == detect::Protocol::kTls) {
    mtls::Hello hello = co_await mtls::read_client_hello(socket, std::move(detected.bytes),
                                                         mesh->identity, config.detect_timeout);
    if (hello.terminate) {
      // Built outside the co_await expression (GCC 12 mishandles the by-value socket).
      auto handshake = mtls::terminate(*mesh, std::move(socket), std::move(hello.bytes),
                                       config.detect_timeout);
      auto terminated = co_await std::move(handshake);
      if (!terminated) {
        worker.metrics_cache()
            .error(true, std::string("tls_") + trellis::tls::to_string(terminated.error().code))
            ->inc();
        TRELLIS_LOG_DEBUG("[C{}] mesh TLS handshake failed: {}", info->id,
                          terminated.error().detail);
        co_return;
      }
      info->tls = true;
      info->client_identity = terminated->client_identity;
      stats.set_tls(terminated->client_identity, mesh->identity.str());
      stats.open();
      ConnectionTransport& secured = *terminated->transport;
      // 5. detection again, on the decrypted stream (HTTP/1, HTTP/2 or opaque).
      detect::Detected inner;
      if (!opaque) inner = co_await mtls::read_and_detect(secured, config.detect_timeout);
      co_await serve_detected(worker, direction, http_service, info, secured, std::move(inner));
      stats.add(secured);
      co_return;
    }
    // Not ours: opaque bytes to the application.
    detected.protocol = detect::Protocol::kOpaque;
    detected.bytes = std::move(hello.bytes);
    detected.closed = hello.closed;
  } else if (opaque) {
    detected.protocol = detect::Protocol::kOpaque;
  }

  stats.open();
  TcpConnectionTransport plain(std::move(socket));
  co_await serve_detected(worker, direction, http_service, info, plain, std::move(detected));
  stats.add(plain);
}

}  // namespace trellis::proxy
