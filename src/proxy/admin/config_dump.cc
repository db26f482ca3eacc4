#include "proxy/admin/config_dump.h"

#include "proxy/discovery/policy.h"

namespace trellis::proxy::admin {

void add_traffic_policies(nlohmann::json& dump, const discovery::Snapshot& snapshot) {
  nlohmann::json outbound = nlohmann::json::array();
  nlohmann::json inbound_authorities = nlohmann::json::array();
  for (const auto& svc : snapshot.services()) {
    for (const auto& [number, port] : svc.ports) {
      const std::string authority = svc.fqdn() + ":" + std::to_string(number);
      nlohmann::json entry;
      entry["authority"] = authority;
      entry["source"] = discovery::to_string(port.policy_source);
      if (port.routes) {
        entry["policy"] = nlohmann::json::parse(discovery::policy_to_json(port.routes->policy()),
                                                nullptr, false);
        inbound_authorities.push_back(authority);
      } else {
        entry["policy"] = nullptr;
      }
      outbound.push_back(std::move(entry));
    }
  }
  dump["outbound"] = std::move(outbound);
  dump["inbound"] = {{"routeMetrics", "request-authority"},
                     {"authorities", std::move(inbound_authorities)}};
}

}  // namespace trellis::proxy::admin
