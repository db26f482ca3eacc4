#include "proxy/detect/read.h"

namespace trellis::proxy::detect {

net::awaitable<Detected> read_and_detect(net::tcp::socket& socket,
                                         std::chrono::milliseconds timeout) {
  using namespace net::asio::experimental::awaitable_operators;
  Detected d;
  net::asio::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  char buf[kMaxDetectBytes];
  while (true) {
    const size_t room = sizeof buf - d.bytes.size();  // > 0: the loop ends at a full window
    auto result = co_await (socket.async_read_some(net::asio::buffer(buf, room), net::use_nothrow) ||
                            timer.async_wait(net::use_nothrow));
    if (result.index() == 1) {
      d.timed_out = true;
      d.protocol = Protocol::kOpaque;
      co_return d;
    }
    auto [ec, n] = std::get<0>(result);
    d.bytes.append(buf, n);
    d.protocol = d.bytes.empty() ? Protocol::kOpaque : detect(d.bytes);
    if (ec) {
      d.closed = true;
      if (d.protocol == Protocol::kNeedMore) d.protocol = Protocol::kOpaque;
      co_return d;
    }
    if (d.protocol != Protocol::kNeedMore) co_return d;
    if (d.bytes.size() >= kMaxDetectBytes) {
      d.protocol = Protocol::kOpaque;
      co_return d;
    }
  }
}

}  // namespace trellis::proxy::detect
