#pragma once
// The byte stream of one proxied connection, whatever it runs on (a TCP socket, or a mesh TLS
// stream after termination or origination): it is both an HTTP/1 transport and an HTTP/2
// transport, so every stage after accept/TLS — detection, serve_h1, the HTTP/2 session, tunnels
// and opaque forwarding — runs on the same object without knowing whether TLS is underneath.
// It counts the bytes it reads and writes (tcp_read_bytes_total / tcp_write_bytes_total).
//
// TLS notes: a peer that closes TCP without close_notify ends the stream like a FIN (the
// protocols on top carry their own framing, and opaque TCP has no other end marker);
// shutdown_send() half-closes TCP without close_notify, so the other direction keeps flowing
// (TLS 1.3 allows half-close, but Asio's ssl::stream cannot send close_notify without waiting
// for the peer's).

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include <boost/asio/ssl.hpp>

#include "http/h1conn/transport.h"
#include "http/h2/transport.h"
#include "net/asio.h"

namespace trellis::proxy {

class ConnectionTransport : public http::h1::Transport, public http::h2::Transport {
 public:
  using http::h1::Transport::write;
  // HTTP/2's single-buffer write, as a one-element gather write.
  net::awaitable<std::tuple<net::error_code, size_t>> write(
      net::asio::const_buffer buffer) final {
    co_return co_await write(std::span<const net::asio::const_buffer>(&buffer, 1));
  }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }

 protected:
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
};

// `Stream` is owned (tcp::socket, tls::TlsStream).
template <typename Stream>
class StreamConnectionTransport final : public ConnectionTransport {
 public:
  using ConnectionTransport::write;

  explicit StreamConnectionTransport(Stream stream) : stream_(std::move(stream)) {}

  Stream& stream() { return stream_; }

  net::asio::any_io_executor get_executor() override { return stream_.get_executor(); }

  net::awaitable<std::tuple<net::error_code, size_t>> read_some(
      net::asio::mutable_buffer buffer) override {
    auto [ec, n] = co_await stream_.async_read_some(buffer, net::use_nothrow);
    bytes_read_ += n;
    if constexpr (!std::is_same_v<Stream, net::tcp::socket>) {
      if (ec == net::asio::ssl::error::stream_truncated) ec = net::asio::error::eof;
    }
    co_return std::tuple{ec, n};
  }

  net::awaitable<std::tuple<net::error_code, size_t>> write(
      std::span<const net::asio::const_buffer> buffers) override {
    auto [ec, n] = co_await net::asio::async_write(stream_, buffers, net::use_nothrow);
    bytes_written_ += n;
    co_return std::tuple{ec, n};
  }

  void shutdown_send() override {
    net::error_code ec;
    lowest().shutdown(net::tcp::socket::shutdown_send, ec);
  }

  void cancel() override {
    net::error_code ec;
    lowest().cancel(ec);
  }

  void close() override {
    net::error_code ec;
    lowest().cancel(ec);
    lowest().close(ec);
  }

  bool is_open() const override { return lowest().is_open(); }

  bool probe_idle() override {
    auto& socket = lowest();
    if (!socket.is_open()) return false;
    char byte;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

 private:
  net::asio::basic_socket<net::asio::ip::tcp>& lowest() const {
    if constexpr (std::is_same_v<Stream, net::tcp::socket>) {
      return const_cast<net::tcp::socket&>(stream_);
    } else {
      return const_cast<Stream&>(stream_).lowest_layer();
    }
  }

  Stream stream_;
};

using TcpConnectionTransport = StreamConnectionTransport<net::tcp::socket>;

}  // namespace trellis::proxy
