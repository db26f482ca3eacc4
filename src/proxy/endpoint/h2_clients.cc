#include "proxy/endpoint/h2_clients.h"

#include "net/socket_options.h"

namespace trellis::proxy::endpoint {

net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> H2Clients::get(
    const net::SocketAddress& address, std::chrono::milliseconds connect_timeout) {
  co_return co_await connect(Key{address, std::string()}, connect_timeout, nullptr);
}

net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> H2Clients::get(
    const net::SocketAddress& address, const std::string& identity,
    std::chrono::milliseconds connect_timeout, const SecureFn& secure) {
  co_return co_await connect(Key{address, identity}, connect_timeout, &secure);
}

net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> H2Clients::connect(
    Key key, std::chrono::milliseconds connect_timeout, const SecureFn* secure) {
  auto it = connections_.find(key);
  if (it != connections_.end() && it->second->session && it->second->session->is_usable()) {
    co_return it->second;
  }
  net::tcp::socket socket(executor_);
  {
    using namespace net::asio::experimental::awaitable_operators;
    net::asio::steady_timer timer(executor_);
    timer.expires_after(connect_timeout);
    auto r = co_await (socket.async_connect(key.first.endpoint(), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1) co_return base::unexpected(net::error_code(net::asio::error::timed_out));
    if (auto ec = std::get<0>(std::get<0>(r))) co_return base::unexpected(ec);
  }
  net::configure_stream_socket(socket);
  auto conn = std::make_shared<H2Connection>();
  if (secure) {
    // Built outside the co_await expression (GCC 12 mishandles the by-value socket temporary).
    auto pending = (*secure)(std::move(socket));
    auto secured = co_await std::move(pending);
    if (!secured) co_return base::unexpected(secured.error());
    conn->transport = std::move(*secured);
  } else {
    conn->transport = std::make_unique<TcpConnectionTransport>(std::move(socket));
  }
  // Another request may have connected meanwhile; the newest connection wins the slot and the
  // other finishes its streams on its own.
  conn->session = std::make_unique<http::h2::ClientSession>(
      static_cast<http::h2::Transport&>(*conn->transport), settings_, counters_);
  // run() drives the session; the coroutine keeps the connection alive until it ends.
  net::asio::co_spawn(executor_, [conn]() -> net::awaitable<void> { co_await conn->session->run(); },
                      net::asio::detached);
  connections_[key] = conn;
  co_return conn;
}

http::h1::Pool& H2Clients::mesh_pool(const net::SocketAddress& address,
                                     const std::string& identity,
                                     const std::function<http::h1::PoolOptions()>& options) {
  Key key{address, identity};
  auto it = mesh_pools_.find(key);
  if (it == mesh_pools_.end()) {
    it = mesh_pools_.emplace(key, std::make_unique<http::h1::Pool>(executor_, address, options()))
             .first;
  }
  return *it->second;
}

}  // namespace trellis::proxy::endpoint
