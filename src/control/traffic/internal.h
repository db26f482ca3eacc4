#pragma once
// Shared between the compile stages of this folder (not part of the interface).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/traffic.pb.h"
#include "control/traffic/compile.h"
#include "resources/resource.h"

namespace trellis::control::traffic::internal {

namespace pb = api::traffic::v1;

inline constexpr uint64_t kMaxRequestBytes = 64 * 1024;  // buffered for replay (Linkerd)
inline constexpr uint64_t kBackoffMinMs = 25;            // Linkerd's fixed retry backoff
inline constexpr uint64_t kBackoffMaxMs = 250;
inline constexpr double kBackoffJitter = 1.0;

// "Kind/namespace/name".
std::string display(const resources::Resource& r);

// What every stage needs: the Service being compiled for, the store, where problems go.
struct Ctx {
  const resources::Resource& service_res;
  const resources::Service& service;
  std::string name;
  std::string ns;
  int32_t port = 0;
  const Options& options;
  std::vector<const resources::Resource*> store;  // deduplicated, deterministic order
  resources::Diagnostics& problems;

  // Annotation-derived settings of the Service itself (retry.linkerd.io/*, timeout.linkerd.io/*).
  resources::RetryPolicy service_retry;
  resources::TimeoutPolicy service_timeouts;

  void error(const resources::Resource& r, std::string field, std::string message) const;
  void warning(const resources::Resource& r, std::string field, std::string message) const;

  std::string fqdn(const std::string& svc, const std::string& svc_ns) const;
  const resources::Service* find_service(const std::string& svc_ns, const std::string& svc) const;
  pb::WeightedBackend backend(const std::string& svc, const std::string& svc_ns, int32_t svc_port,
                              uint64_t weight) const;
  // The Service itself as the only backend.
  pb::WeightedBackend self_backend() const { return backend(name, ns, port, 1); }
};

uint64_t to_ms(const std::optional<base::Duration>& d);

// retry.linkerd.io/* annotations as a policy; `grpc` selects the defaults for a GRPCRoute.
pb::RetryPolicy retry_from_annotations(const resources::RetryPolicy& rp, bool grpc);

// HTTPRoutes and GRPCRoutes attached to the Service port, in Gateway API precedence order.
// Returns false when none apply.
bool compile_gateway_routes(const Ctx& ctx, pb::TrafficPolicy& out);
// The resources compile_gateway_routes would use (to report them as ignored).
std::vector<const resources::Resource*> attached_routes(const Ctx& ctx);

}  // namespace trellis::control::traffic::internal
