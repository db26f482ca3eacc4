#include "control/server/tls_front.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>


#include "base/log.h"
#include "tls/handshake.h"

namespace trellis::control::server {
namespace {

namespace asio = net::asio;
using namespace asio::experimental::awaitable_operators;

template <typename From, typename To>
net::awaitable<void> pump(From& from, To& to) {
  std::array<char, 16 * 1024> buf;
  while (true) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), net::use_nothrow);
    if (ec || n == 0) co_return;
    auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n),
                                                     net::use_nothrow);
    if (wec) co_return;
  }
}

}  // namespace

TlsFront::TlsFront(asio::io_context& io, const tls::ServerContext& context,
                   net::SocketAddress backend, PeerIdentities& peers, ControlMetrics& metrics)
    : io_(io), context_(context), backend_(backend), peers_(peers), metrics_(metrics) {}

net::SocketAddress TlsFront::listen(const net::SocketAddress& address) {
  acceptor_ = std::make_unique<net::tcp::acceptor>(io_);
  const auto ep = address.endpoint();
  acceptor_->open(ep.protocol());
  acceptor_->set_option(net::tcp::acceptor::reuse_address(true));
  acceptor_->bind(ep);
  acceptor_->listen();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return net::SocketAddress::from_endpoint(acceptor_->local_endpoint());
}

void TlsFront::close() {
  asio::post(io_, [this] {
    net::error_code ec;
    if (acceptor_) acceptor_->close(ec);
  });
}

net::awaitable<void> TlsFront::accept_loop() {
  while (acceptor_ && acceptor_->is_open()) {
    auto [ec, socket] = co_await acceptor_->async_accept(net::use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      continue;  // EMFILE and friends: keep accepting
    }
    asio::co_spawn(io_, serve(std::move(socket), next_id_++), asio::detached);
  }
}

net::awaitable<void> TlsFront::serve(net::tcp::socket socket, uint64_t id) {
  net::error_code ec;
  socket.set_option(net::tcp::no_delay(true), ec);
  auto stream = tls::make_server_stream(context_, std::move(socket));
  if (!stream) {
    metrics_.grpc_tls_handshakes_total.get({tls::to_string(stream.error().code)})->inc();
    co_return;
  }
  // Request a client certificate without requiring one (Identity.Certify callers have none);
  // a certificate that is sent must verify against the anchors, or the handshake fails.
  SSL_set_verify(stream->native_handle(), SSL_VERIFY_PEER, nullptr);
  auto peer = co_await tls::server_handshake(*stream, handshake_timeout_);
  if (!peer) {
    metrics_.grpc_tls_handshakes_total.get({tls::to_string(peer.error().code)})->inc();
    TRELLIS_LOG_DEBUG("[C{}] grpc tls handshake failed: {}: {}", id,
                      tls::to_string(peer.error().code), peer.error().detail);
    co_return;
  }
  metrics_.grpc_tls_handshakes_total.get({"ok"})->inc();
  net::tcp::socket backend(io_);
  auto [cec] = co_await backend.async_connect(backend_.endpoint(), net::use_nothrow);
  if (cec) {
    TRELLIS_LOG_WARN("[C{}] cannot reach the gRPC server: {}", id, cec.message());
    co_return;
  }
  backend.set_option(net::tcp::no_delay(true), ec);
  const auto local = net::SocketAddress::from_endpoint(backend.local_endpoint(ec));
  if (ec) co_return;
  // How gRPC will name this connection's peer.
  const std::string peer_name =
      (local.ip.is_v4() ? "ipv4:" : "ipv6:") + local.to_string();
  peers_.set(peer_name, id, peer->identity ? peer->identity->str() : std::string());
  TRELLIS_LOG_DEBUG("[C{}] grpc connection from {}", id,
                    peer->identity ? peer->identity->str() : std::string("(no certificate)"));
  co_await (pump(*stream, backend) || pump(backend, *stream));
  backend.close(ec);
  stream->next_layer().next_layer().close(ec);
  peers_.erase(peer_name, id);
}

}  // namespace trellis::control::server
