#pragma once
// Socket-level operations the proxy needs beyond Asio: the original destination of a
// REDIRECTed connection, SO_REUSEPORT listeners, TCP keepalive and TCP_NODELAY.

#include <optional>

#include "net/asio.h"
#include "net/socket_address.h"

namespace trellis::net {

// SO_ORIGINAL_DST (IPv4) / IP6T_SO_ORIGINAL_DST (IPv6): the address the client dialled before
// iptables REDIRECT sent it to us. nullopt when the connection was not redirected.
std::optional<SocketAddress> original_destination(tcp::socket& socket);

// A listening socket bound to `address` with SO_REUSEADDR and SO_REUSEPORT, so every worker can
// own an acceptor on the same port and the kernel spreads connections across them.
tcp::acceptor make_reuseport_listener(asio::io_context& io, const SocketAddress& address,
                                      int backlog = 4096);

// TCP_NODELAY and keepalive (idle seconds) on an accepted or connected socket.
void configure_stream_socket(tcp::socket& socket, int keepalive_idle_seconds = 10);

}  // namespace trellis::net
