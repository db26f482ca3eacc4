#pragma once
// The outbound HTTP pipeline for requests the local application sends (DESIGN.md §2):
//   target  — transparent: the original destination (SO_ORIGINAL_DST); ingress:
//             l5d-dst-override, else Host/:authority
//   resolve — a known service port (discovery) or an unknown target, forwarded as-is
//   route   — a service port with a traffic policy: route_request.h (match, filters, mirrors,
//             weighted backends, retries, timeouts)
//   balance + endpoint — endpoint/dispatch.h
// with golden metrics (direction="outbound") and proxy errors as responses.

#include "http/service.h"
#include "proxy/outbound/route_request.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

class OutboundService final : public http::Service {
 public:
  explicit OutboundService(WorkerContext& worker) : worker_(worker) {}
  net::awaitable<http::Response> call(http::Request request) override;

 private:
  WorkerContext& worker_;
  RouteState routes_;
};

}  // namespace trellis::proxy::outbound
