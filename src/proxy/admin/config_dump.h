#pragma once
// The traffic part of GET /config_dump (contract C-9): for every service port the snapshot
// knows, the policy in force and where it came from —
//   "outbound": [{"authority": "web.ns.svc.cluster.local:80",
//                 "policy": <TrafficPolicy as protobuf JSON>, "source": "control|static|default"}]
//   "inbound":  {"routeMetrics": "request-authority", "authorities": [... with a policy ...]}
// (the inbound side matches the policy of the authority a request names, for route metrics).

#include <nlohmann/json.hpp>

#include "proxy/discovery/snapshot.h"

namespace trellis::proxy::admin {

// Adds "outbound" and "inbound" to `dump`.
void add_traffic_policies(nlohmann::json& dump, const discovery::Snapshot& snapshot);

}  // namespace trellis::proxy::admin
