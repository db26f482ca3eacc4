// Fuzz target: arbitrary bytes, after a valid client preface, into a ServerSession over an
// in-memory transport with a trivial service. The session must never crash, leak or hang,
// whatever frames arrive. The input is delivered in chunks whose size comes from the first
// byte, so frames also arrive split at arbitrary points.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "http/body.h"
#include "http/h2/server.h"
#include "http/h2/settings.h"
#include "http/h2/transport.h"
#include "http/service.h"
#include "net/asio.h"

namespace {

using namespace trellis;
using namespace trellis::http;

class MemoryTransport final : public h2::Transport {
 public:
  MemoryTransport(net::asio::io_context& io, std::string input, size_t chunk)
      : io_(io), input_(std::move(input)), chunk_(chunk) {}

  net::asio::any_io_executor get_executor() override { return io_.get_executor(); }

  net::awaitable<std::tuple<net::error_code, size_t>> read_some(
      net::asio::mutable_buffer buffer) override {
    // Yield between reads so stream handlers and the writer run as they would on a socket.
    co_await net::asio::post(io_, net::asio::use_awaitable);
    if (closed_) co_return std::tuple{net::asio::error::operation_aborted, size_t{0}};
    if (offset_ == input_.size()) {
      // Input exhausted: let pending work settle for a few turns, then end of stream.
      for (int i = 0; i < 32 && !closed_; ++i) {
        co_await net::asio::post(io_, net::asio::use_awaitable);
      }
      co_return std::tuple{net::asio::error::eof, size_t{0}};
    }
    const size_t n = std::min({buffer.size(), chunk_, input_.size() - offset_});
    std::memcpy(buffer.data(), input_.data() + offset_, n);
    offset_ += n;
    co_return std::tuple{net::error_code{}, n};
  }

  net::awaitable<std::tuple<net::error_code, size_t>> write(
      net::asio::const_buffer buffer) override {
    co_await net::asio::post(io_, net::asio::use_awaitable);
    if (closed_) co_return std::tuple{net::asio::error::operation_aborted, size_t{0}};
    co_return std::tuple{net::error_code{}, buffer.size()};  // the peer reads everything
  }

  void shutdown_send() override {}
  void close() override { closed_ = true; }

 private:
  net::asio::io_context& io_;
  std::string input_;
  size_t chunk_;
  size_t offset_ = 0;
  bool closed_ = false;
};

// Reads up to 64 KiB of the request, answers with a small body and trailers; /big streams more.
class TrivialService final : public Service {
 public:
  net::awaitable<Response> call(Request request) override {
    auto body = co_await read_all(*request.body, 64 * 1024);
    Response r = make_response(body ? 200 : 400, "ok");
    if (request.head.path == "/big") {
      r.body = make_buffered_body(std::string(100 * 1024, 'b'), Headers{{"grpc-status", "0"}});
    } else {
      r.body = make_buffered_body("ok", Headers{{"x-trailer", "1"}});
    }
    co_return r;
  }
};

const std::string kPreface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                             std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t chunk = size > 0 ? 1 + (data[0] % 64) * 97 : 1;
  net::asio::io_context io;
  MemoryTransport transport(io, kPreface + std::string(reinterpret_cast<const char*>(data), size),
                            chunk);
  TrivialService service;
  h2::H2Settings settings;
  h2::H2Counters counters;
  net::asio::co_spawn(io, h2::serve_h2(transport, service, settings, counters),
                      net::asio::detached);
  io.run();
  return 0;
}
