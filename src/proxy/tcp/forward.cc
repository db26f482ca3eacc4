#include "proxy/tcp/forward.h"

#include <memory>
#include <vector>

namespace trellis::proxy::tcp {
namespace {

using namespace net::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

struct Shared {
  Clock::time_point last_activity = Clock::now();
  ForwardResult result;
};

// Copies from `from` to `to` until EOF, then half-closes `to`.
net::awaitable<void> pump(net::tcp::socket& from, net::tcp::socket& to, uint64_t& counter,
                          Shared& shared, size_t buffer_size) {
  std::vector<char> buf(buffer_size);
  while (true) {
    auto [rec, n] = co_await from.async_read_some(net::asio::buffer(buf), net::use_nothrow);
    if (n > 0) {
      shared.last_activity = Clock::now();
      auto [wec, written] =
          co_await net::asio::async_write(to, net::asio::buffer(buf.data(), n), net::use_nothrow);
      counter += written;
      if (wec) {
        if (!shared.result.error) shared.result.error = wec;
        net::error_code ignored;
        from.shutdown(net::tcp::socket::shutdown_receive, ignored);
        co_return;
      }
    }
    if (rec) {
      if (rec != net::asio::error::eof && !shared.result.error) shared.result.error = rec;
      net::error_code ignored;
      to.shutdown(net::tcp::socket::shutdown_send, ignored);  // propagate the FIN
      co_return;
    }
  }
}

net::awaitable<void> watchdog(Shared& shared, std::chrono::milliseconds idle) {
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
  while (true) {
    const auto deadline = shared.last_activity + idle;
    if (Clock::now() >= deadline) {
      shared.result.idle_timeout = true;
      co_return;
    }
    timer.expires_at(deadline);
    co_await timer.async_wait(net::use_nothrow);
  }
}

}  // namespace

net::awaitable<ForwardResult> forward(net::tcp::socket& client, net::tcp::socket& server,
                                      std::string client_prefix, ForwardOptions options) {
  Shared shared;
  if (!client_prefix.empty()) {
    auto [ec, n] = co_await net::asio::async_write(server, net::asio::buffer(client_prefix),
                                                   net::use_nothrow);
    shared.result.client_to_server_bytes += n;
    if (ec) {
      shared.result.error = ec;
      net::error_code ignored;
      client.close(ignored);
      server.close(ignored);
      co_return shared.result;
    }
  }
  co_await ((pump(client, server, shared.result.client_to_server_bytes, shared, options.buffer_size) &&
             pump(server, client, shared.result.server_to_client_bytes, shared, options.buffer_size)) ||
            watchdog(shared, options.idle_timeout));
  net::error_code ignored;
  client.close(ignored);
  server.close(ignored);
  co_return shared.result;
}

}  // namespace trellis::proxy::tcp
