#pragma once
// TCP and HTTP GET probes from the daemon's network namespace (the host), used for readiness
// probes of containers and for the control plane's and proxies' /ready.

#include <chrono>
#include <string>

#include "net/asio.h"

namespace trellis::runtime {

// Connects to host:port within `timeout`; with a non-empty `http_path`, sends a GET and
// succeeds on a 200..399 status line (as Kubernetes does). False on any failure.
net::awaitable<bool> tcp_probe(std::string host, int port, std::string http_path,
                               std::chrono::milliseconds timeout);

}  // namespace trellis::runtime
