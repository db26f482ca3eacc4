#pragma once
// TlsFront: the gRPC listener's TLS termination (contract C-4).
//
//   accept → TLS 1.3 handshake (tls::ServerContext: TLS 1.3 only, no resumption, ALPN h2,
//   the control plane's own rotating leaf) with a client certificate requested and, when sent,
//   verified against the trust anchors → a plaintext connection to the gRPC server's internal
//   loopback listener → bytes pumped both ways until either side closes.
//
// The verified identity is recorded in PeerIdentities under the name gRPC gives that
// connection's peer ("ipv4:127.0.0.1:<source port>").

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "control/metrics.h"
#include "control/server/peers.h"
#include "net/asio.h"
#include "net/socket_address.h"
#include "tls/context.h"

namespace trellis::control::server {

class TlsFront {
 public:
  TlsFront(net::asio::io_context& io, const tls::ServerContext& context,
           net::SocketAddress backend, PeerIdentities& peers, ControlMetrics& metrics);

  // Binds (port 0 picks one) and starts accepting; returns the bound address. Throws on bind
  // errors (start-up).
  net::SocketAddress listen(const net::SocketAddress& address);
  // Stops accepting; connections end when gRPC shuts down.
  void close();

 private:
  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(net::tcp::socket socket, uint64_t id);

  net::asio::io_context& io_;
  const tls::ServerContext& context_;
  const net::SocketAddress backend_;
  PeerIdentities& peers_;
  ControlMetrics& metrics_;
  std::unique_ptr<net::tcp::acceptor> acceptor_;
  uint64_t next_id_ = 1;
  std::chrono::milliseconds handshake_timeout_{10000};
};

}  // namespace trellis::control::server
