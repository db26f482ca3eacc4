#pragma once
// A gRPC client over our own HTTP/2 client (DESIGN.md §4): the proxy talks to trellis-control
// without a gRPC runtime. One TLS 1.3 connection (ALPN h2, SNI and verified identity = the
// control plane's identity, client certificate = the proxy's current one when it has one)
// multiplexes every call; when it breaks, the next call reconnects, with exponential backoff and
// jitter between failed attempts.
//
// Calls follow gRPC's PROTOCOL-HTTP2.md: POST /<service>/<method>, content-type
// application/grpc, te: trailers, grpc-timeout; messages are length-prefixed (1 byte compressed
// flag, 4 bytes big-endian length); the status comes from grpc-status / grpc-message in the
// trailers, or in the headers of a trailers-only response.
//
// Everything runs on the channel's executor (one thread); call its methods from coroutines on
// that executor only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "http/h2/client.h"
#include "http/h2/grpc.h"
#include "http/h2/settings.h"
#include "net/asio.h"
#include "tls/context.h"
#include "tls/identity.h"

namespace trellis::proxy::control {

using http::h2::GrpcStatus;

struct GrpcError {
  GrpcStatus status = GrpcStatus::kUnknown;
  std::string message;
};
std::string to_string(const GrpcError& e);  // "UNAVAILABLE: connect refused"
const char* status_name(GrpcStatus s);

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Largest message accepted from the control plane (a big service's endpoint set is ~100 KiB).
inline constexpr size_t kMaxMessageBytes = 4 * 1024 * 1024;

// Exponential backoff with full jitter: attempt n waits a random time in [min(base*2^n, max)/2,
// min(base*2^n, max)].
class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, uint64_t seed);
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  std::chrono::milliseconds base_, max_;
  int attempt_ = 0;
  uint64_t state_;
};

struct ChannelOptions {
  std::string address;  // host:port
  tls::Identity server_identity;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_max{10000};
};

// A response stream of a server-streaming call.
class GrpcStream {
 public:
  // The next message; nullopt once the call ended with status OK; an error otherwise (the stream
  // is over then too). Cancellation: destroy the stream (RST_STREAM CANCEL is sent).
  virtual net::awaitable<base::Result<std::optional<std::string>, GrpcError>> next() = 0;
  virtual ~GrpcStream() = default;
};

// Splits length-prefixed gRPC messages out of a byte stream.
class MessageReader {
 public:
  // Appends bytes; false when a message is compressed or larger than kMaxMessageBytes.
  bool feed(std::string_view bytes);
  std::optional<std::string> pop();
  bool empty() const { return buffer_.empty(); }
  // True when the buffer holds only whole messages (nothing cut off).
  bool complete() const;
  const std::string& error() const { return error_; }

 private:
  std::string buffer_;
  std::string error_;
};

class GrpcChannel {
 public:
  // `tls` verifies the control plane and presents the proxy's certificate; it is read at every
  // connection attempt, so a rotated certificate is used from the next connection on.
  GrpcChannel(net::asio::any_io_executor executor, ChannelOptions options,
              const tls::ClientContext& tls);
  ~GrpcChannel();

  net::awaitable<base::Result<std::string, GrpcError>> unary(
      std::string path, std::string request, Metadata metadata,
      std::chrono::milliseconds timeout);

  net::awaitable<base::Result<std::unique_ptr<GrpcStream>, GrpcError>> server_streaming(
      std::string path, std::string request, Metadata metadata);

  // New calls use a fresh connection (after a certificate rotation); calls in flight finish on
  // the old one.
  void reconnect();
  // Closes the connection and fails every call; later calls return UNAVAILABLE.
  void close();

  uint64_t connects() const { return connects_; }
  bool connected() const;

 private:
  struct Connection;
  struct Call {
    http::Response response;
    std::shared_ptr<Connection> connection;
  };
  net::awaitable<base::Result<std::shared_ptr<Connection>, GrpcError>> connection();
  net::awaitable<base::Result<std::shared_ptr<Connection>, GrpcError>> connect_once();
  net::awaitable<base::Result<Call, GrpcError>> start_call(
      const std::string& path, std::string request, const Metadata& metadata,
      std::optional<std::chrono::milliseconds> timeout);

  net::asio::any_io_executor executor_;
  ChannelOptions options_;
  const tls::ClientContext& tls_;
  http::h2::H2Settings settings_;
  http::h2::H2Counters counters_;
  std::shared_ptr<Connection> current_;
  Backoff backoff_;
  std::chrono::steady_clock::time_point next_attempt_{};
  bool connecting_ = false;
  bool closed_ = false;
  uint64_t connects_ = 0;
};

}  // namespace trellis::proxy::control
