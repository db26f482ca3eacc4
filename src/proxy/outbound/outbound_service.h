#pragma once
// The outbound HTTP pipeline for requests the local application sends (DESIGN.md §2):
//   target  — transparent: the original destination (SO_ORIGINAL_DST); ingress:
//             l5d-dst-override, else Host/:authority
//   resolve — a known service port (discovery) or an unknown target, forwarded as-is
//   balance + endpoint — endpoint/dispatch.h
// with golden metrics (direction="outbound") and proxy errors as responses.

#include "http/service.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::outbound {

class OutboundService final : public http::Service {
 public:
  explicit OutboundService(WorkerContext& worker) : worker_(worker) {}
  net::awaitable<http::Response> call(http::Request request) override;

 private:
  WorkerContext& worker_;
};

}  // namespace trellis::proxy::outbound
