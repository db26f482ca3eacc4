#pragma once
// Opaque TCP forwarding: copy bytes both ways until both directions have ended, propagating a
// half-close (FIN) from one side to the other, with an idle timeout. Used for non-HTTP traffic,
// for configured opaque ports, and for Upgrade/CONNECT tunnels after the HTTP exchange.

#include <chrono>
#include <cstdint>
#include <string>

#include "http/h1conn/transport.h"
#include "net/asio.h"

namespace trellis::proxy::tcp {

struct ForwardResult {
  uint64_t client_to_server_bytes = 0;  // read from the client, written to the server
  uint64_t server_to_client_bytes = 0;
  bool idle_timeout = false;
  net::error_code error;                // first hard error (not EOF), if any
};

struct ForwardOptions {
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  size_t buffer_size = 16 * 1024;
};

// `client_prefix` holds bytes already read from the client (e.g. during protocol detection); they
// are written to the server first. `server_prefix` likewise for bytes already read from the
// server (what an upstream sent right after its 101). Both streams are closed when this returns.
net::awaitable<ForwardResult> forward(http::h1::Transport& client, http::h1::Transport& server,
                                      std::string client_prefix, ForwardOptions options = {},
                                      std::string server_prefix = {});
net::awaitable<ForwardResult> forward(net::tcp::socket& client, net::tcp::socket& server,
                                      std::string client_prefix, ForwardOptions options = {});

}  // namespace trellis::proxy::tcp
