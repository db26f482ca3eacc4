#pragma once
// The per-worker clients to endpoints that WorkerContext does not key by address alone:
//   - one multiplexed HTTP/2 connection per endpoint (DESIGN.md §2 "endpoint client"), plaintext
//     (h2c) or, for a meshed endpoint, over mTLS — keyed by address and expected identity;
//   - the HTTP/1 keep-alive pools to meshed endpoints (mTLS; WorkerContext::pool() holds the
//     plaintext ones).
// A connection that stops being usable (GOAWAY, error, close) is replaced on the next request;
// the old one finishes its in-flight streams on its own.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "base/result.h"
#include "http/h1conn/pool.h"
#include "http/h2/client.h"
#include "http/h2/settings.h"
#include "http/service.h"
#include "net/asio.h"
#include "net/socket_address.h"
#include "proxy/transport.h"

namespace trellis::proxy::endpoint {

struct H2Connection {
  std::unique_ptr<ConnectionTransport> transport;
  std::unique_ptr<http::h2::ClientSession> session;
};

// Turns a connected socket into a secured transport (the mTLS handshake); see connect.h.
using SecureFn = std::function<net::awaitable<base::Result<std::unique_ptr<ConnectionTransport>,
                                                           net::error_code>>(net::tcp::socket)>;

class H2Clients {
 public:
  explicit H2Clients(net::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // A usable session to `address`, connecting (within `connect_timeout`) when needed. The
  // returned pointer stays valid while the caller holds the shared_ptr.
  net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> get(
      const net::SocketAddress& address, std::chrono::milliseconds connect_timeout);
  // The same over mTLS to an endpoint whose proxy has `identity`; `secure` runs the handshake.
  net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> get(
      const net::SocketAddress& address, const std::string& identity,
      std::chrono::milliseconds connect_timeout, const SecureFn& secure);

  // The HTTP/1 pool to a meshed endpoint, created on first use with `options` (whose `wrap`
  // runs the mTLS handshake).
  http::h1::Pool& mesh_pool(const net::SocketAddress& address, const std::string& identity,
                            const std::function<http::h1::PoolOptions()>& options);

  http::h2::H2Counters& counters() { return counters_; }

 private:
  using Key = std::pair<net::SocketAddress, std::string>;
  net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> connect(
      Key key, std::chrono::milliseconds connect_timeout, const SecureFn* secure);

  net::asio::any_io_executor executor_;
  http::h2::H2Settings settings_;
  http::h2::H2Counters counters_;
  std::map<Key, std::shared_ptr<H2Connection>> connections_;
  std::map<Key, std::unique_ptr<http::h1::Pool>> mesh_pools_;
};

}  // namespace trellis::proxy::endpoint
