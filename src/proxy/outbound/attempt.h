#pragma once
// One attempt of a routed request: pick an endpoint of the chosen backend and send, bounded by
// a deadline (the route's request timeout, or a per-try / backend-request timeout when that is
// sooner). The attempt runs as a coroutine of its own on the worker, so the deadline holds
// whatever the connection is doing: on expiry the caller moves on and the abandoned attempt's
// response, when it comes, is dropped (closing its connection).

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "base/result.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

struct Attempt {
  base::Result<endpoint::Dispatched, endpoint::DispatchError> result =
      base::unexpected(endpoint::DispatchError{ProxyError::kTimeout, "attempt timed out"});
  bool timed_out = false;
  std::map<std::string, std::string> endpoint_labels;  // dst_* of the endpoint tried
  std::string identity;                               // set when the endpoint was meshed
};

net::awaitable<Attempt> run_attempt(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                                    discovery::Destination apex, std::string backend_authority,
                                    http::Request request,
                                    std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace trellis::proxy::outbound
