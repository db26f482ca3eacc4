#include "proxy/tls/terminate.h"

#include "tls/client_hello.h"
#include "tls/handshake.h"

namespace trellis::proxy::mtls {

using namespace net::asio::experimental::awaitable_operators;

net::awaitable<Hello> read_client_hello(net::tcp::socket& socket, std::string bytes,
                                        const tls::Identity& local,
                                        std::chrono::milliseconds timeout) {
  Hello hello;
  hello.bytes = std::move(bytes);
  net::asio::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  char buf[4096];
  while (true) {
    const tls::HelloParse parse = tls::parse_client_hello(hello.bytes);
    if (parse.status == tls::HelloStatus::kClientHello) {
      hello.sni = parse.hello.server_name;
      hello.terminate = parse.hello.has_server_name && parse.hello.server_name == local.str();
      co_return hello;
    }
    // Not a hello we can read (or past the cap): not for us to terminate.
    if (parse.status != tls::HelloStatus::kNeedMore) co_return hello;
    auto r = co_await (socket.async_read_some(net::asio::buffer(buf), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1) co_return hello;
    auto [ec, n] = std::get<0>(r);
    hello.bytes.append(buf, n);
    if (ec) {
      hello.closed = true;
      co_return hello;
    }
  }
}

net::awaitable<base::Result<Terminated, tls::Error>> terminate(const MeshTls& mesh,
                                                               net::tcp::socket socket,
                                                               std::string hello_bytes,
                                                               std::chrono::milliseconds timeout) {
  auto stream = tls::make_server_stream(*mesh.server, std::move(socket), std::move(hello_bytes));
  if (!stream) co_return base::unexpected(stream.error());
  Terminated out;
  out.transport = std::make_unique<StreamConnectionTransport<tls::TlsStream>>(std::move(*stream));
  auto peer = co_await tls::server_handshake(out.transport->stream(), timeout);
  if (!peer) {
    out.transport->close();
    co_return base::unexpected(peer.error());
  }
  if (peer->identity) out.client_identity = peer->identity->str();
  out.alpn = peer->alpn;
  co_return out;
}

net::awaitable<detect::Detected> read_and_detect(http::h1::Transport& transport,
                                                 std::chrono::milliseconds timeout) {
  detect::Detected d;
  net::asio::steady_timer timer(transport.get_executor());
  timer.expires_after(timeout);
  char buf[detect::kMaxDetectBytes];
  while (true) {
    const size_t room = sizeof buf - d.bytes.size();  // > 0: the loop ends at a full window
    auto result = co_await (transport.read_some(net::asio::buffer(buf, room)) ||
                            timer.async_wait(net::use_nothrow));
    if (result.index() == 1) {
      d.timed_out = true;
      d.protocol = detect::Protocol::kOpaque;
      co_return d;
    }
    auto [ec, n] = std::get<0>(result);
    d.bytes.append(buf, n);
    d.protocol = d.bytes.empty() ? detect::Protocol::kOpaque : detect::detect(d.bytes);
    if (ec) {
      d.closed = true;
      if (d.protocol == detect::Protocol::kNeedMore) d.protocol = detect::Protocol::kOpaque;
      co_return d;
    }
    if (d.protocol != detect::Protocol::kNeedMore) co_return d;
    if (d.bytes.size() >= detect::kMaxDetectBytes) {
      d.protocol = detect::Protocol::kOpaque;
      co_return d;
    }
  }
}

}  // namespace trellis::proxy::mtls
