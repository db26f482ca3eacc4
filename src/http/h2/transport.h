#pragma once
// The byte stream an HTTP/2 session runs on. Sessions see only this interface, so the same code
// serves plain TCP now, TLS streams later, and an in-memory pipe in the fuzz target.

#include <cstddef>
#include <tuple>

#include "net/asio.h"

namespace trellis::http::h2 {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual net::asio::any_io_executor get_executor() = 0;
  // Reads at least one byte. End of stream is reported as asio::error::eof.
  virtual net::awaitable<std::tuple<net::error_code, size_t>> read_some(
      net::asio::mutable_buffer buffer) = 0;
  // Writes the whole buffer.
  virtual net::awaitable<std::tuple<net::error_code, size_t>> write(
      net::asio::const_buffer buffer) = 0;
  // Half-close: no more bytes will be written (TCP FIN), reading continues.
  virtual void shutdown_send() = 0;
  // Cancels pending operations and closes the stream. Idempotent.
  virtual void close() = 0;
};

// Adapts any Asio stream with async_read_some/async_write_some and lowest_layer()
// (tcp::socket, ssl::stream<tcp::socket>). The stream must outlive the transport.
template <typename Stream>
class StreamTransport final : public Transport {
 public:
  explicit StreamTransport(Stream& stream) : stream_(stream) {}

  net::asio::any_io_executor get_executor() override { return stream_.get_executor(); }

  net::awaitable<std::tuple<net::error_code, size_t>> read_some(
      net::asio::mutable_buffer buffer) override {
    co_return co_await stream_.async_read_some(buffer, net::use_nothrow);
  }

  net::awaitable<std::tuple<net::error_code, size_t>> write(
      net::asio::const_buffer buffer) override {
    co_return co_await net::asio::async_write(stream_, buffer, net::use_nothrow);
  }

  void shutdown_send() override {
    net::error_code ec;
    stream_.lowest_layer().shutdown(net::tcp::socket::shutdown_send, ec);
  }

  void close() override {
    net::error_code ec;
    stream_.lowest_layer().cancel(ec);
    stream_.lowest_layer().close(ec);
  }

 private:
  Stream& stream_;
};

}  // namespace trellis::http::h2
