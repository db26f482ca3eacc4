#pragma once
// The demo workload's request handling, as an http::Service shared by the HTTP/1 and h2c
// server connections of one worker: health endpoints, the JSON info document, /status/N,
// /delay/D, fault and latency injection, upstream calls, and the trellis.demo.Demo gRPC service
// (recognised by content-type, on any port).

#include <cstdint>
#include <memory>
#include <string>

#include "demoapp/faults.h"
#include "demoapp/options.h"
#include "demoapp/upstream.h"
#include "http/service.h"
#include "net/asio.h"

namespace trellis::demoapp {

// Request bodies are read (to report their size) up to this many bytes; larger ones get 413.
inline constexpr size_t kMaxRequestBody = 64 * 1024 * 1024;

class DemoService final : public http::Service {
 public:
  // `options` must outlive the service; `upstreams` may be null (no upstream calls).
  DemoService(net::asio::any_io_executor executor, const ServeOptions& options, std::string name,
              uint64_t seed, Upstreams* upstreams);

  net::awaitable<http::Response> call(http::Request request) override;

  uint64_t requests() const { return requests_; }
  size_t in_flight() const { return in_flight_; }

 private:
  net::awaitable<http::Response> serve_http(http::Request request);
  net::awaitable<http::Response> serve_grpc(http::Request request);
  http::Response finish_http(int status, std::string body);

  net::asio::any_io_executor executor_;
  const ServeOptions& options_;
  std::string name_;
  FaultInjector faults_;
  Upstreams* upstreams_;
  uint64_t requests_ = 0;
  size_t in_flight_ = 0;
};

// The name responses report: --name, else the hostname, else "trellis-demo-app".
std::string default_name(const ServeOptions& options);

}  // namespace trellis::demoapp
