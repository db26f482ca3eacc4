#include "proxy/tunnel/tunnel.h"

#include "base/log.h"
#include "http/h1conn/client_connection.h"

namespace trellis::proxy::tunnel {

net::awaitable<tcp::ForwardResult> join(WorkerContext& worker, http::h1::Transport& client,
                                        http::h1::ServerResult result) {
  http::h1::TunnelBody* body = nullptr;
  if (result.tunnel_response && result.tunnel_response->body) {
    body = dynamic_cast<http::h1::TunnelBody*>(result.tunnel_response->body.get());
  }
  if (!body || !body->tunnel().transport) {
    TRELLIS_LOG_DEBUG("tunnel without an upstream stream; closing");
    client.close();
    co_return tcp::ForwardResult{};
  }
  http::h1::ClientConnection::Tunnel upstream = std::move(body->tunnel());
  tcp::ForwardOptions options;
  options.idle_timeout = worker.config().tcp_idle_timeout;
  co_return co_await tcp::forward(client, *upstream.transport, std::move(result.tunnel_bytes),
                                  options, std::move(upstream.buffered));
}

http::Response connect_established(std::unique_ptr<http::h1::Transport> upstream) {
  http::Response response;
  response.head.status = 200;
  response.body = std::make_unique<http::h1::TunnelBody>(
      http::h1::ClientConnection::Tunnel{std::move(upstream), std::string()});
  return response;
}

}  // namespace trellis::proxy::tunnel
