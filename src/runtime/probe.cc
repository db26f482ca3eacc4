#include "runtime/probe.h"

#include <cstdlib>

#include <fmt/format.h>

namespace trellis::runtime {

net::awaitable<bool> tcp_probe(std::string host, int port, std::string http_path,
                               std::chrono::milliseconds timeout) {
  auto executor = co_await net::asio::this_coro::executor;
  net::tcp::socket socket(executor);
  net::asio::steady_timer deadline(executor);
  deadline.expires_after(timeout);
  deadline.async_wait([&socket](net::error_code ec) {
    if (!ec) {
      net::error_code ignored;
      socket.close(ignored);
    }
  });
  net::error_code ec;
  auto address = net::asio::ip::make_address(host, ec);
  if (ec) co_return false;
  auto [connect_ec] =
      co_await socket.async_connect(net::tcp::endpoint(address, static_cast<uint16_t>(port)),
                                    net::use_nothrow);
  if (connect_ec) co_return false;
  if (http_path.empty()) {
    deadline.cancel();
    co_return true;
  }
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: trellis-probe/0.1\r\nAccept: */*\r\n"
      "Connection: close\r\n\r\n",
      http_path, host, port);
  auto [write_ec, written] =
      co_await net::asio::async_write(socket, net::asio::buffer(request), net::use_nothrow);
  if (write_ec) co_return false;
  std::string response;
  auto [read_ec, n] = co_await net::asio::async_read_until(
      socket, net::asio::dynamic_buffer(response, 8192), "\r\n", net::use_nothrow);
  deadline.cancel();
  if (read_ec) co_return false;
  // "HTTP/1.1 200 OK": 200..399 is success, as for Kubernetes.
  const size_t sp = response.find(' ');
  if (sp == std::string::npos || response.size() < sp + 4) co_return false;
  const int code = std::atoi(response.substr(sp + 1, 3).c_str());
  co_return code >= 200 && code < 400;
}

}  // namespace trellis::runtime
