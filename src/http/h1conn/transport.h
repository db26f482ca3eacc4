#pragma once
// The byte stream an HTTP/1 connection runs on. The server and client connections see only this
// interface, so the same code serves plain TCP now and TLS streams later (one StreamTransport
// instantiation per stream type, no templates in the connection code). It has the same shape as
// h2::Transport plus gather writes, cancel() and an idle probe for pools.

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#include "net/asio.h"

namespace trellis::http::h1 {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual net::asio::any_io_executor get_executor() = 0;
  // Reads at least one byte. End of stream is reported as asio::error::eof.
  virtual net::awaitable<std::tuple<net::error_code, size_t>> read_some(
      net::asio::mutable_buffer buffer) = 0;
  // Writes every byte of every buffer (one gather write where the stream allows it).
  virtual net::awaitable<std::tuple<net::error_code, size_t>> write(
      std::span<const net::asio::const_buffer> buffers) = 0;
  // Half-close: no more bytes will be written (TCP FIN); reading continues.
  virtual void shutdown_send() = 0;
  // Cancels pending reads and writes; the stream stays open.
  virtual void cancel() = 0;
  // Cancels pending operations and closes the stream. Idempotent.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  // For a connection sitting idle in a pool: true when nothing is readable and the peer has not
  // closed it (no EOF, no error). Never blocks, never consumes bytes.
  virtual bool probe_idle() = 0;
};

// Adapts an Asio stream with async_read_some / async_write_some and lowest_layer() (tcp::socket,
// ssl::stream<tcp::socket>, PrefixedStream<...>). With a reference type (`tcp::socket&`) the
// caller keeps the stream; with a value type the transport owns it.
template <typename Stream>
class StreamTransport final : public Transport {
 public:
  using stream_type = std::remove_reference_t<Stream>;

  template <typename Arg>
    requires(!std::is_same_v<std::remove_cvref_t<Arg>, StreamTransport>)
  explicit StreamTransport(Arg&& stream) : stream_(std::forward<Arg>(stream)) {}

  stream_type& stream() { return stream_; }

  net::asio::any_io_executor get_executor() override { return stream_.get_executor(); }

  net::awaitable<std::tuple<net::error_code, size_t>> read_some(
      net::asio::mutable_buffer buffer) override {
    co_return co_await stream_.async_read_some(buffer, net::use_nothrow);
  }

  net::awaitable<std::tuple<net::error_code, size_t>> write(
      std::span<const net::asio::const_buffer> buffers) override {
    co_return co_await net::asio::async_write(stream_, buffers, net::use_nothrow);
  }

  void shutdown_send() override {
    net::error_code ec;
    stream_.lowest_layer().shutdown(net::tcp::socket::shutdown_send, ec);
  }

  void cancel() override {
    net::error_code ec;
    stream_.lowest_layer().cancel(ec);
  }

  void close() override {
    net::error_code ec;
    stream_.lowest_layer().cancel(ec);
    stream_.lowest_layer().close(ec);
  }

  bool is_open() const override { return stream_.lowest_layer().is_open(); }

  bool probe_idle() override {
    auto& socket = stream_.lowest_layer();
    if (!socket.is_open()) return false;
    char byte;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // -1/EAGAIN: open and quiet. 0: the peer closed. >0: unsolicited bytes (an HTTP/1 server
    // only talks when asked, so this is a close notice or garbage). Any other error: dead.
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

 private:
  Stream stream_;
};

using TcpTransport = StreamTransport<net::tcp::socket>;

}  // namespace trellis::http::h1
