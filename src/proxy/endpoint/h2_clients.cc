#include "proxy/endpoint/h2_clients.h"

#include "net/socket_options.h"

namespace trellis::proxy::endpoint {

net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> H2Clients::get(
    const net::SocketAddress& address, std::chrono::milliseconds connect_timeout) {
  auto it = connections_.find(address);
  if (it != connections_.end() && it->second->session && it->second->session->is_usable()) {
    co_return it->second;
  }
  auto conn = std::make_shared<H2Connection>(executor_);
  {
    using namespace net::asio::experimental::awaitable_operators;
    net::asio::steady_timer timer(executor_);
    timer.expires_after(connect_timeout);
    auto r = co_await (conn->socket.async_connect(address.endpoint(), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1) co_return base::unexpected(net::error_code(net::asio::error::timed_out));
    if (auto ec = std::get<0>(std::get<0>(r))) co_return base::unexpected(ec);
  }
  net::configure_stream_socket(conn->socket);
  conn->transport = std::make_unique<http::h2::StreamTransport<net::tcp::socket>>(conn->socket);
  conn->session = std::make_unique<http::h2::ClientSession>(*conn->transport, settings_, counters_);
  // run() drives the session; the coroutine keeps the connection alive until it ends.
  net::asio::co_spawn(executor_, [conn]() -> net::awaitable<void> { co_await conn->session->run(); },
                      net::asio::detached);
  connections_[address] = conn;
  co_return conn;
}

}  // namespace trellis::proxy::endpoint
