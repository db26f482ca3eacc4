#pragma once
// Inbound and outbound policy per port (api/policy.proto). This version computes the shape the
// authorization-policy issue fills in: which Server (if any) selects a workload's port, its
// proxyProtocol, and the default inbound policy — the pod's
// config.linkerd.io/default-inbound-policy, else its namespace's, else the control plane's
// (all-unauthenticated unless configured otherwise).

#include <cstdint>
#include <string>
#include <string_view>

#include "api/policy.pb.h"
#include "control/destination/resolver.h"
#include "control/store/store.h"

namespace trellis::control::policy {

namespace api = trellis::api::policy::v1;

struct PolicyOptions {
  std::string default_inbound_policy = "all-unauthenticated";
};

// "<namespace>:<pod>" or "<namespace>:external:<name>".
struct Workload {
  std::string ns;
  std::string name;
  bool external = false;
  bool valid = false;
};
Workload parse_workload(std::string_view text);

api::InboundServer inbound_server(const store::Snapshot& snapshot, const Workload& workload,
                                  uint32_t port, const PolicyOptions& options);

api::OutboundPolicy outbound_policy(const store::Snapshot& snapshot,
                                    const destination::Target& target,
                                    const destination::Resolver& resolver);

}  // namespace trellis::control::policy
