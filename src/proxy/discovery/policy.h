#pragma once
// Traffic policies in discovery: the static file carries one per service port as protobuf JSON
// (api/traffic.proto TrafficPolicy), the control plane in Destination.GetProfile. Both end up as
// an immutable RouteTable on the ServicePort, built once per policy version.

#include <memory>
#include <string>
#include <string_view>

#include "api/traffic.pb.h"
#include "base/result.h"
#include "proxy/route/route_table.h"

namespace trellis::proxy::discovery {

// Compiles `policy` for `authority` ("web.ns.svc.cluster.local:80", filled in when the policy
// leaves it empty). Errors name the problem (an invalid regex, ...).
base::Result<std::shared_ptr<const route::RouteTable>, std::string> compile_policy(
    api::traffic::v1::TrafficPolicy policy, const std::string& authority);

// Parses protobuf JSON (MessageToJsonString form; unknown fields are errors) and compiles it.
base::Result<std::shared_ptr<const route::RouteTable>, std::string> compile_policy_json(
    std::string_view json, const std::string& authority);

// A policy as protobuf JSON (for /config_dump).
std::string policy_to_json(const api::traffic::v1::TrafficPolicy& policy);

}  // namespace trellis::proxy::discovery
