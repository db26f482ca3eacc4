#pragma once
// `trellis-demo-app serve`: one Worker (io_context + thread) per --threads, each with its own
// SO_REUSEPORT listeners, DemoService, upstream clients and fault-injection generator.
//
// Per connection on the HTTP and gRPC ports: detect HTTP/1 vs the HTTP/2 preface
// (proxy::detect), then serve_h1 or an h2 ServerSession. The TCP port echoes (after an optional
// banner). SIGTERM/SIGINT: stop accepting, let in-flight requests finish (h1 connections close
// after their current response, h2 sessions GOAWAY), then exit 0.

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "demoapp/options.h"
#include "demoapp/service.h"
#include "demoapp/upstream.h"
#include "http/h1conn/server_connection.h"
#include "http/h2/server.h"
#include "net/asio.h"

namespace trellis::demoapp {

class Worker {
 public:
  Worker(const ServeOptions& options, std::string name, unsigned index, uint64_t seed);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens the listeners (throws std::system_error when a port cannot be bound). Port 0 binds
  // an ephemeral port; bound_ports() reports the actual ones (http, grpc, tcp; 0 when unused).
  struct Ports {
    uint16_t http = 0;
    uint16_t grpc = 0;
    uint16_t tcp = 0;
  };
  // `ports`: bind these instead of the configured ones (the other workers reuse the ports the
  // first one bound, so --http-port=0 works with several threads).
  void listen(const Ports* ports = nullptr);
  Ports bound_ports() const { return ports_; }
  // Runs the io_context on the calling thread until the worker has shut down.
  void run();
  // Thread-safe: begins graceful shutdown on the worker's thread.
  void shutdown();

  net::asio::io_context& io() { return *io_; }

 private:
  net::awaitable<void> accept_loop(net::tcp::acceptor acceptor, bool tcp_echo);
  net::awaitable<void> serve_http_connection(net::tcp::socket socket);
  net::awaitable<void> serve_tcp_echo(net::tcp::socket socket);
  net::awaitable<void> drain();
  void begin_shutdown();

  const ServeOptions& options_;
  unsigned index_;
  // Declared first so it is destroyed last: everything below holds handles into it.
  std::unique_ptr<net::asio::io_context> io_;
  Ports ports_;
  std::vector<net::tcp::acceptor> pending_acceptors_;  // opened by listen(), moved into loops
  std::list<net::tcp::acceptor*> acceptors_;
  std::list<http::h2::ServerSession*> h2_sessions_;
  std::list<net::tcp::socket*> echo_sockets_;
  std::list<net::tcp::socket*> detecting_;  // connections still in protocol detection
  http::h1::ShutdownSignal h1_shutdown_;
  http::h1::ServerCounters h1_counters_;
  http::h2::H2Counters h2_counters_;
  std::unique_ptr<Upstreams> upstreams_;
  std::unique_ptr<DemoService> service_;
  uint64_t next_connection_id_ = 1;
  size_t connections_ = 0;  // live connection coroutines (HTTP, gRPC, TCP)
  bool shutting_down_ = false;
};

// Runs serve mode until SIGTERM/SIGINT; returns the process exit code.
int run_serve(const ServeOptions& options);

}  // namespace trellis::demoapp
