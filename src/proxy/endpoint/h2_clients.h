#pragma once
// One multiplexed HTTP/2 connection per endpoint (DESIGN.md §2 "endpoint client"), per worker.
// A connection that stops being usable (GOAWAY, error, close) is replaced on the next request;
// the old one finishes its in-flight streams on its own.

#include <map>
#include <memory>

#include "base/result.h"
#include "http/h2/client.h"
#include "http/h2/settings.h"
#include "http/service.h"
#include "net/asio.h"
#include "net/socket_address.h"

namespace trellis::proxy::endpoint {

struct H2Connection {
  explicit H2Connection(net::asio::any_io_executor ex) : socket(ex) {}
  net::tcp::socket socket;
  std::unique_ptr<http::h2::StreamTransport<net::tcp::socket>> transport;
  std::unique_ptr<http::h2::ClientSession> session;
};

class H2Clients {
 public:
  explicit H2Clients(net::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // A usable session to `address`, connecting (within `connect_timeout`) when needed. The
  // returned pointer stays valid while the caller holds the shared_ptr.
  net::awaitable<base::Result<std::shared_ptr<H2Connection>, net::error_code>> get(
      const net::SocketAddress& address, std::chrono::milliseconds connect_timeout);

  http::h2::H2Counters& counters() { return counters_; }

 private:
  net::asio::any_io_executor executor_;
  http::h2::H2Settings settings_;
  http::h2::H2Counters counters_;
  std::map<net::SocketAddress, std::shared_ptr<H2Connection>> connections_;
};

}  // namespace trellis::proxy::endpoint
