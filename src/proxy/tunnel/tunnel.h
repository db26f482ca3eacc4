#pragma once
// The tunnel stage: Upgrade (WebSocket, ...) and CONNECT. The HTTP exchange that opens a tunnel
// runs through the ordinary services; when the answer is a 101 (or a 2xx to CONNECT) its body is
// an http::h1::TunnelBody carrying the upstream stream, serve_h1 hands the client stream back
// (ServerClose::kTunnel), and join() turns both into one bidirectional byte copy (tcp::forward:
// half-close propagated, idle timeout, bytes counted by the transports). A refused upgrade is an
// ordinary response and never gets here.
//
// CONNECT on the outbound side is answered by the proxy itself (open()): the authority is the
// target — a known service port is balanced over its endpoints (mTLS to meshed ones), anything
// else must be an ip:port.

#include <memory>
#include <string>

#include "http/h1conn/server_connection.h"
#include "http/service.h"
#include "proxy/tcp/forward.h"
#include "proxy/transport.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::tunnel {

// Joins `client` (the connection serve_h1 returned with kTunnel) with the upstream stream in
// result.tunnel_response's body. Without one (a service answered 101 on its own) the client is
// closed. Both streams are closed on return.
net::awaitable<tcp::ForwardResult> join(WorkerContext& worker, http::h1::Transport& client,
                                        http::h1::ServerResult result);

// A 200 response to CONNECT whose body carries `upstream`, for join() to forward to.
http::Response connect_established(std::unique_ptr<http::h1::Transport> upstream);

}  // namespace trellis::proxy::tunnel
