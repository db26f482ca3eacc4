#pragma once
// Calls to the --upstream targets from one worker: HTTP/1 over keep-alive pools (one per
// resolved address) and unary gRPC over one lazily connected h2c session per target. Host names
// go through the system resolver (in the local runtime /etc/hosts maps service names), cached
// for a few seconds. Single-threaded: one instance per worker io_context.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "demoapp/options.h"
#include "demoapp/responses.h"
#include "http/h1conn/pool.h"
#include "http/service.h"
#include "net/asio.h"
#include "net/socket_address.h"

namespace trellis::demoapp {

// Resolves `host` (an IP literal or a name) to one address, preferring IPv4.
net::awaitable<base::Result<net::SocketAddress, std::string>> resolve(
    net::asio::any_io_executor executor, const std::string& host, uint16_t port,
    Duration timeout);

// An h2c connection to one target, (re)connected on demand: send() waits for a connection in
// progress, and replaces a session that can no longer take requests (GOAWAY, closed).
class GrpcChannel {
 public:
  GrpcChannel(net::asio::any_io_executor executor, Target target, Duration connect_timeout);
  ~GrpcChannel();
  GrpcChannel(const GrpcChannel&) = delete;
  GrpcChannel& operator=(const GrpcChannel&) = delete;

  // One request on the channel's session, bounded by `timeout` (head and body).
  struct Reply {
    int status = 0;
    http::Headers headers;
    std::string body;
    http::Headers trailers;
  };
  net::awaitable<base::Result<Reply, std::string>> exchange(http::Request request,
                                                            Duration timeout);
  // Ends the session (abortively); later calls reconnect.
  void close();

 private:
  struct Connection;
  net::awaitable<base::Result<std::shared_ptr<Connection>, std::string>> connection();
  static net::awaitable<void> drive(std::shared_ptr<Connection> connection);

  net::asio::any_io_executor executor_;
  Target target_;
  Duration connect_timeout_;
  std::shared_ptr<Connection> current_;
  bool connecting_ = false;
  net::asio::steady_timer connected_;  // notifies waiters for a connection in progress
};

// A unary gRPC call of trellis.demo.Demo/Hello with a JSON message; the outcome as an
// UpstreamResult (ok when grpc-status is 0).
net::awaitable<UpstreamResult> grpc_hello(GrpcChannel& channel, const Target& target,
                                          std::string_view name, Duration timeout,
                                          const http::Headers& extra_headers = {});

class Upstreams {
 public:
  Upstreams(net::asio::any_io_executor executor, const ServeOptions& options, std::string name);
  ~Upstreams();

  bool empty() const { return targets_.empty(); }
  // Calls every upstream (sequentially, in flag order).
  net::awaitable<std::vector<UpstreamResult>> call_all();
  // Closes idle connections and sessions (graceful shutdown).
  void close();

 private:
  struct HttpTarget {
    Target target;
    std::optional<net::SocketAddress> address;
    std::chrono::steady_clock::time_point resolved_at;
    // Shared with the calls in flight: replacing the pool (new address, shutdown) must not
    // destroy it under a request that is still using it.
    std::shared_ptr<http::h1::Pool> pool;
  };
  net::awaitable<UpstreamResult> call_http(HttpTarget& t);

  net::asio::any_io_executor executor_;
  const ServeOptions& options_;
  std::string name_;
  std::vector<Target> targets_;
  std::vector<std::unique_ptr<HttpTarget>> http_;   // indexed like targets_ (null for grpc)
  std::vector<std::unique_ptr<GrpcChannel>> grpc_;  // indexed like targets_ (null for http)
};

}  // namespace trellis::demoapp
