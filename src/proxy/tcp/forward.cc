#include "proxy/tcp/forward.h"

#include <memory>
#include <vector>

namespace trellis::proxy::tcp {
namespace {

using namespace net::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using http::h1::Transport;

struct Shared {
  Clock::time_point last_activity = Clock::now();
  ForwardResult result;
};

net::awaitable<net::error_code> write_all(Transport& to, std::string_view bytes,
                                          uint64_t& counter) {
  const net::asio::const_buffer buffer(bytes.data(), bytes.size());
  auto [ec, n] = co_await to.write(std::span(&buffer, 1));
  counter += n;
  co_return ec;
}

// Copies from `from` to `to` until EOF, then half-closes `to`. `prefix`: bytes already read
// from `from`, written first.
net::awaitable<void> pump(Transport& from, Transport& to, std::string prefix, uint64_t& counter,
                          Shared& shared, size_t buffer_size) {
  if (!prefix.empty()) {
    if (auto ec = co_await write_all(to, prefix, counter)) {
      if (!shared.result.error) shared.result.error = ec;
      from.close();
      to.close();
      co_return;
    }
  }
  std::vector<char> buf(buffer_size);
  while (true) {
    auto [rec, n] = co_await from.read_some(net::asio::buffer(buf));
    if (n > 0) {
      shared.last_activity = Clock::now();
      if (auto wec = co_await write_all(to, std::string_view(buf.data(), n), counter)) {
        // The receiver is gone: stop reading too, and make the sender see it (close, as a
        // transport cannot half-close its read side).
        if (!shared.result.error) shared.result.error = wec;
        from.close();
        to.close();
        co_return;
      }
    }
    if (rec) {
      if (rec != net::asio::error::eof && !shared.result.error) shared.result.error = rec;
      to.shutdown_send();  // propagate the FIN
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

net::awaitable<ForwardResult> forward(Transport& client, Transport& server,
                                      std::string client_prefix, ForwardOptions options,
                                      std::string server_prefix) {
  Shared shared;
  co_await ((pump(client, server, std::move(client_prefix), shared.result.client_to_server_bytes,
                  shared, options.buffer_size) &&
             pump(server, client, std::move(server_prefix), shared.result.server_to_client_bytes,
                  shared, options.buffer_size)) ||
            watchdog(shared, options.idle_timeout));
  client.close();
  server.close();
  co_return shared.result;
}

net::awaitable<ForwardResult> forward(net::tcp::socket& client, net::tcp::socket& server,
                                      std::string client_prefix, ForwardOptions options) {
  http::h1::StreamTransport<net::tcp::socket&> c(client);
  http::h1::StreamTransport<net::tcp::socket&> s(server);
  co_return co_await forward(c, s, std::move(client_prefix), options);
}

}  // namespace trellis::proxy::tcp
