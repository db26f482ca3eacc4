#pragma once
// A pool of HTTP/1 client connections to one endpoint (linkerd.md §2.4: one client per endpoint,
// idle connections kept 3 s). acquire() reuses the most recently idle connection that still
// looks open, or connects under the connect timeout; send() does acquire + send and puts the
// connection back when the response body has been read to its end with keep-alive.
//
// The keep-alive race (linkerd.md §9 #4): a server may close an idle connection just as we
// reuse it. When a *reused* connection fails with kClosedBeforeResponse, send() retries once on
// a fresh connection if the request is idempotent (or nothing of it was written) and its body
// can be replayed (empty, or at most max_replay_bytes recorded as it was sent).
//
// A 101 to an upgrade request, or a 2xx to CONNECT, does not go back to the pool: the response's
// body is then a TunnelBody (client_connection.h) that carries the upgraded stream.
//
// Single-threaded: create and use a pool on one worker's executor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/result.h"
#include "http/h1conn/client_connection.h"
#include "http/service.h"
#include "net/asio.h"
#include "net/socket_address.h"

namespace trellis::http::h1 {

struct PoolOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(1)};  // Linkerd outbound: 1 s
  // Idle connections are closed after this; keep it below the servers' keep-alive timeouts
  // so that we, not they, end idle connections.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(3)};
  size_t max_idle = 10000;
  // Request bodies up to this size are recorded as they are sent so that the keep-alive-race
  // retry can replay them; a larger body is not retried.
  size_t max_replay_bytes = 64 * 1024;
  ClientOptions client;
  // Turns a freshly connected socket into the connection's transport. Unset: plain TCP. The
  // proxy sets it to run an mTLS handshake to a meshed endpoint; an error counts as a failed
  // connect (ClientError::kConnect with that error).
  std::function<net::awaitable<base::Result<std::unique_ptr<Transport>, net::error_code>>(
      net::tcp::socket)>
      wrap;
};

struct PoolStats {
  uint64_t open = 0;                    // connections of this pool not yet closed (idle or busy)
  uint64_t idle = 0;                    // waiting in the pool
  uint64_t connects_total = 0;          // connection attempts
  uint64_t connect_failures_total = 0;  // attempts that failed or timed out
  uint64_t reused_total = 0;            // acquisitions served by an idle connection
  uint64_t stale_total = 0;             // idle connections found closed by the server on acquire
  uint64_t idle_expired_total = 0;      // idle connections closed after idle_timeout
  uint64_t retries_total = 0;           // keep-alive-race retries
};

namespace detail {
class PoolState;
}

class Pool {
 public:
  Pool(net::asio::any_io_executor executor, net::SocketAddress address, PoolOptions options = {});
  // Closes idle connections; busy ones close when their response ends.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // An idle connection that still looks open, or a new one. Reuse is visible as
  // requests_sent() > 0.
  net::awaitable<base::Result<std::unique_ptr<ClientConnection>, ClientError>> acquire();
  // Back to the idle set if it is idle (exchange complete, keep-alive); closed otherwise.
  void release(std::unique_ptr<ClientConnection> connection);
  // One request through the pool (see the retry rule above). The connection returns to the
  // pool when the response body has been read to its end.
  net::awaitable<base::Result<Response, ClientError>> send(Request request);

  PoolStats stats() const;
  const net::SocketAddress& address() const;

 private:
  std::shared_ptr<detail::PoolState> state_;
};

}  // namespace trellis::http::h1
