#pragma once
// The proxy's connection pipeline, assembled in ONE function (DESIGN.md §7.5): read
// pipeline.cc's serve_connection() top to bottom to see every stage a connection goes through.

#include "http/service.h"
#include "net/asio.h"
#include "proxy/worker_context.h"

namespace trellis::proxy {

enum class Direction { kInbound, kOutbound };
const char* to_string(Direction d);

// Serves one accepted connection to completion.
net::awaitable<void> serve_connection(WorkerContext& worker, Direction direction,
                                      http::Service& http_service, net::tcp::socket socket);

}  // namespace trellis::proxy
