#include "net/socket_options.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

namespace trellis::net {

std::optional<SocketAddress> original_destination(tcp::socket& socket) {
  const int fd = socket.native_handle();
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  error_code ec;
  const auto local = socket.local_endpoint(ec);
  if (ec) return std::nullopt;
  int rc;
  if (local.address().is_v4()) {
    rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &storage, &len);
  } else {
    rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &storage, &len);
  }
  if (rc != 0) return std::nullopt;
  tcp::endpoint ep;
  if (storage.ss_family == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, &storage, sizeof sin);
    asio::ip::address_v4 a(ntohl(sin.sin_addr.s_addr));
    ep = tcp::endpoint(a, ntohs(sin.sin_port));
  } else if (storage.ss_family == AF_INET6) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &storage, sizeof sin6);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    ep = tcp::endpoint(asio::ip::address_v6(b), ntohs(sin6.sin6_port));
  } else {
    return std::nullopt;
  }
  auto dst = SocketAddress::from_endpoint(ep);
  // Without a REDIRECT the "original destination" is the local address itself.
  if (dst == SocketAddress::from_endpoint(local)) return std::nullopt;
  return dst;
}

tcp::acceptor make_reuseport_listener(asio::io_context& io, const SocketAddress& address,
                                      int backlog) {
  const tcp::endpoint ep = address.endpoint();
  tcp::acceptor acceptor(io);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  const int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw boost::system::system_error(error_code(errno, boost::system::system_category()),
                                      "SO_REUSEPORT");
  }
  acceptor.bind(ep);
  acceptor.listen(backlog);
  return acceptor;
}

void configure_stream_socket(tcp::socket& socket, int keepalive_idle_seconds) {
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  socket.set_option(asio::socket_base::keep_alive(true), ec);
  const int fd = socket.native_handle();
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_idle_seconds, sizeof keepalive_idle_seconds);
}

}  // namespace trellis::net
