#pragma once
// HTTP/1.1 client side of one connected stream. send() writes the request head (framing
// re-derived: exactly one of Content-Length / chunked, hop-by-hop fields dropped), streams the
// request body from a coroutine of its own, reads the response head strictly, and returns a
// Response whose Body streams the response from the socket. One exchange at a time: the
// connection is idle again only once the response body has been read to its end, the request
// body has been written completely, and the response allowed keep-alive.
//
//   ClientConnection conn(std::make_unique<TcpTransport>(std::move(socket)));
//   auto response = co_await conn.send(std::move(request));   // Result<Response, ClientError>
//   ... read response->body to the end ...; conn.is_idle() → reusable
//
// A 101 (or a 2xx to CONNECT) leaves the connection upgraded: take_tunnel() hands back the
// stream and any bytes the server sent after the head.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/body.h"
#include "http/h1/errors.h"
#include "http/h1/limits.h"
#include "http/h1conn/transport.h"
#include "http/service.h"
#include "net/asio.h"

namespace trellis::http::h1 {

struct ClientOptions {
  Limits limits;  // for response heads
  // From the end of the request (head and body written) to the complete response head.
  std::chrono::milliseconds response_timeout{std::chrono::minutes(5)};
  // No response-body bytes for this long.
  std::chrono::milliseconds body_read_timeout{std::chrono::minutes(5)};
  // One socket write (the server stopped reading).
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // With `Expect: 100-continue`, how long to wait for the 100 before sending the body anyway.
  std::chrono::milliseconds expect_continue_timeout{std::chrono::seconds(1)};
  size_t read_size = 16 * 1024;
  size_t max_body_chunk = 64 * 1024;
};

struct ClientError {
  enum class Kind : uint8_t {
    kConnect,               // the connection could not be established (Pool)
    kUnavailable,           // this connection cannot take a request (busy, closed, upgraded)
    kInvalidRequest,        // the head cannot be written as HTTP/1; nothing was sent
    kClosedBeforeResponse,  // EOF or reset before the first byte of a response
    kProtocol,              // the response head is malformed or cut short
    kTimeout,               // a write or the response-head deadline expired
    kRequestBody,           // reading the request body failed; the request was aborted
  };
  Kind kind = Kind::kUnavailable;
  // At least one byte of the request reached the socket. When false, the server cannot have
  // seen the request and any method may be retried.
  bool request_sent = false;
  std::optional<ParseError> parse_error;  // kProtocol, when the parser rejected the head
  std::optional<BodyError> body_error;    // kRequestBody
  net::error_code io_error;               // the socket error behind it, if any

  // Certainly not processed by the server: safe to retry whatever the method.
  bool retryable() const {
    return kind == Kind::kConnect || kind == Kind::kUnavailable ||
           (kind == Kind::kClosedBeforeResponse && !request_sent);
  }
};
const char* to_string(ClientError::Kind kind);

namespace detail {
class ClientCore;
}

class ClientConnection {
 public:
  explicit ClientConnection(std::unique_ptr<Transport> transport, ClientOptions options = {});
  ~ClientConnection();  // closes the stream; a response body still held fails with kCancelled
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Sends one request; the connection must be idle. Request.connection/stream_id are unused.
  net::awaitable<base::Result<Response, ClientError>> send(Request request);
  net::awaitable<base::Result<Response, ClientError>> send(const http::RequestHead& head,
                                                           BodyPtr body);

  // Ready for the next request (open, previous exchange complete and persistent).
  bool is_idle() const;
  bool is_open() const;
  bool is_upgraded() const;
  // is_idle() and the stream shows no sign of having been closed by the server (for pools).
  bool probe_idle();
  // Exchanges started on this connection.
  uint64_t requests_sent() const;

  struct Tunnel {
    std::unique_ptr<Transport> transport;
    std::string buffered;  // bytes the server sent after the 101 / 2xx head
  };
  // After a 101 or a 2xx to CONNECT: the stream, for the caller to forward bytes on.
  std::optional<Tunnel> take_tunnel();

  void close();
  // Runs once when the connection stops being an HTTP connection (closed, or its stream taken
  // by take_tunnel()); used by pools to keep their open-connection gauge right.
  void set_on_close(std::function<void()> on_close);

 private:
  std::shared_ptr<detail::ClientCore> core_;
};

// The body of a response that upgraded its connection (a 101, or a 2xx to CONNECT): no HTTP
// bytes, but it carries the upgraded stream, so the server side that answers the client can
// join the two streams once the head is written (Pool::send returns these).
class TunnelBody final : public Body {
 public:
  explicit TunnelBody(ClientConnection::Tunnel tunnel) : tunnel_(std::move(tunnel)) {}
  net::awaitable<base::Result<BodyChunk, BodyError>> next() override {
    co_return BodyChunk{{}, true, {}};
  }
  std::optional<uint64_t> size_hint() const override { return 0; }
  bool is_empty() const override { return true; }
  ClientConnection::Tunnel& tunnel() { return tunnel_; }

 private:
  ClientConnection::Tunnel tunnel_;
};

}  // namespace trellis::http::h1
