#pragma once
// HTTP/1.1 server side of a connection: reads requests with the strict parser, hands each to the
// Service as a Request whose Body streams from the socket, and writes the Response back with
// framing re-derived by the serializer. One request at a time (RFC 9112 §9.3: no pipelining
// concurrency; pipelined bytes already received wait in the buffer for their turn).
//
//   ServerCounters counters;                       // one per worker; the proxy exports them
//   ServerResult r = co_await serve_h1(socket, std::move(detected_bytes), service, options,
//                                      connection_info, &counters, &worker_shutdown);
//   if (r.reason == ServerClose::kTunnel) forward(socket, upstream, std::move(r.tunnel_bytes));
//
// What ends a connection, and what the client sees, is listed in README.md.

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "http/h1/errors.h"
#include "http/h1/limits.h"
#include "http/h1conn/transport.h"
#include "http/service.h"
#include "net/asio.h"

namespace trellis::http::h1 {

struct ServerOptions {
  Limits limits;
  // Total time to receive a request head, from its first byte (from the connection's start for
  // the first request): the slowloris defence. Expiry with bytes received: 408 and close.
  std::chrono::milliseconds header_read_timeout{std::chrono::seconds(10)};
  // Keep-alive: how long a connection may wait for the first byte of its next request.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  // No request-body bytes for this long: the body fails with kTimeout and the connection closes.
  std::chrono::milliseconds body_read_timeout{std::chrono::minutes(5)};
  // One socket write (the peer stopped reading).
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // A request body the service left unread is read and discarded, up to this many bytes within
  // drain_timeout, so the connection can carry the next request; beyond that it closes.
  uint64_t max_drain_bytes = 256 * 1024;
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(5)};
  // After our FIN, bytes the client still sends are discarded for this long, so unread input
  // does not turn the close into a RST that destroys the response in flight.
  std::chrono::milliseconds linger_timeout{std::chrono::seconds(2)};
  size_t read_size = 16 * 1024;
  // Largest body chunk handed to the service (a bound, not a buffering target).
  size_t max_body_chunk = 64 * 1024;
};

// What HTTP/1 server connections count; one instance per worker, relaxed atomics so an exporter
// on another thread may read them. `rejected` counts every ParseError by reason: request heads
// answered with http_status() (including header_read_timeout, 408) and chunked request bodies
// that failed (those fail the body with kMalformed; the service decides the answer).
#define TRELLIS_H1_SERVER_COUNTERS(X)                                                           \
  X(connections_total, "HTTP/1 server connections started")                                    \
  X(requests_total, "requests parsed and handed to the service")                               \
  X(responses_total, "responses written completely")                                           \
  X(idle_timeouts_total, "connections closed while waiting for a request that never started")  \
  X(body_read_timeouts_total, "request bodies that stalled past body_read_timeout")            \
  X(body_errors_total, "request bodies that were malformed or cut off by the client")          \
  X(write_timeouts_total, "connections closed because the client stopped reading")            \
  X(continues_sent_total, "100 Continue interim responses sent")                               \
  X(bodies_drained_total, "unread request bodies discarded to keep the connection")            \
  X(undrained_closes_total, "connections closed because an unread request body was too big")  \
  X(invalid_responses_total, "service responses that could not be written (answered 502)")    \
  X(response_body_errors_total, "response bodies that failed or mis-sized mid-stream")         \
  X(dropped_trailers_total, "response trailer fields dropped as invalid or forbidden")         \
  X(tunnels_total, "connections handed back as tunnels (101 or 2xx to CONNECT)")               \
  X(shutdown_closes_total, "connections closed by graceful shutdown")

struct ServerCounters {
#define TRELLIS_H1_COUNTER_FIELD(name, help) std::atomic<uint64_t> name{0};
  TRELLIS_H1_SERVER_COUNTERS(TRELLIS_H1_COUNTER_FIELD)
#undef TRELLIS_H1_COUNTER_FIELD
  std::array<std::atomic<uint64_t>, kParseErrorCount> rejected{};

  uint64_t rejected_for(ParseError e) const {
    return rejected[static_cast<size_t>(e)].load(std::memory_order_relaxed);
  }
  // f(name, help, value) for every scalar counter, in declaration order; the per-reason
  // `rejected` counts are exported separately with to_string(ParseError) as the label.
  template <typename F>
  void for_each(F&& f) const {
#define TRELLIS_H1_COUNTER_VISIT(name, help) f(#name, help, name.load(std::memory_order_relaxed));
    TRELLIS_H1_SERVER_COUNTERS(TRELLIS_H1_COUNTER_VISIT)
#undef TRELLIS_H1_COUNTER_VISIT
  }
};

// Why serve_h1 returned.
enum class ServerClose : uint8_t {
  kClientClosed,    // EOF (or reset) between requests
  kNotPersistent,   // Connection: close, HTTP/1.0 without keep-alive, or a close-delimited reply
  kParseError,      // the request was rejected with the parser's status
  kHeaderTimeout,   // 408
  kIdleTimeout,     // no request started within idle_timeout (or header_read_timeout at first)
  kBodyError,       // the request body was malformed, cut off or stalled
  kUndrained,       // the service left more request body than we would drain
  kResponseError,   // the service's response could not be written or its body failed
  kIoError,         // socket error or write timeout
  kShutdown,        // graceful shutdown
  kTunnel,          // 101 / 2xx to CONNECT: the caller takes over the stream
};
const char* to_string(ServerClose reason);

struct ServerResult {
  ServerClose reason = ServerClose::kClientClosed;
  uint64_t requests = 0;
  // kTunnel: bytes the client sent after the request that belong to the tunnel (write them to
  // the upstream first), and the Response the service returned (head already written; whatever
  // the service attached to it, e.g. its upstream connection, is still there).
  std::string tunnel_bytes;
  std::optional<Response> tunnel_response;
};

// Graceful shutdown for every connection of a worker. trigger() makes idle connections close at
// once and busy ones finish their current response with `Connection: close`. Single-threaded:
// trigger it on the worker's thread; it must outlive the connections subscribed to it.
class ShutdownSignal {
 public:
  class Subscription {
   public:
    Subscription() = default;
    Subscription(ShutdownSignal* signal, std::list<std::function<void()>>::iterator it)
        : signal_(signal), it_(it) {}
    Subscription(Subscription&& other) noexcept { *this = std::move(other); }
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription() { reset(); }
    void reset();

   private:
    ShutdownSignal* signal_ = nullptr;
    std::list<std::function<void()>>::iterator it_;
  };

  void trigger();
  bool triggered() const { return triggered_; }
  // `on_trigger` runs once, from trigger() (or now, if already triggered).
  Subscription subscribe(std::function<void()> on_trigger);

 private:
  std::list<std::function<void()>> listeners_;
  bool triggered_ = false;
};

namespace detail {
class ServerCore;
}

// One connection. run() serves requests until the connection ends; shutdown() may be called
// from the connection's thread at any time. The object must outlive run().
class ServerConnection {
 public:
  ServerConnection(Transport& transport, Service& service, const ServerOptions& options,
                   std::shared_ptr<const ConnectionInfo> connection,
                   ServerCounters* counters = nullptr);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // `initial_bytes`: bytes already read from the transport (protocol detection); parsed first.
  net::awaitable<ServerResult> run(std::string initial_bytes);
  void shutdown();

 private:
  std::unique_ptr<detail::ServerCore> core_;
};

net::awaitable<ServerResult> serve_h1(Transport& transport, std::string initial_bytes,
                                      Service& service, const ServerOptions& options,
                                      std::shared_ptr<const ConnectionInfo> connection,
                                      ServerCounters* counters = nullptr,
                                      ShutdownSignal* shutdown = nullptr);

// Any Asio stream (tcp::socket, TLS stream, PrefixedStream); the caller keeps ownership.
template <typename Stream>
  requires(!std::derived_from<Stream, Transport>)
net::awaitable<ServerResult> serve_h1(Stream& stream, std::string initial_bytes, Service& service,
                                      const ServerOptions& options,
                                      std::shared_ptr<const ConnectionInfo> connection,
                                      ServerCounters* counters = nullptr,
                                      ShutdownSignal* shutdown = nullptr) {
  StreamTransport<Stream&> transport(stream);
  co_return co_await serve_h1(static_cast<Transport&>(transport), std::move(initial_bytes),
                              service, options, std::move(connection), counters, shutdown);
}

}  // namespace trellis::http::h1
