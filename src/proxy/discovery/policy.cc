#include "proxy/discovery/policy.h"

#include <google/protobuf/util/json_util.h>

namespace trellis::proxy::discovery {

base::Result<std::shared_ptr<const route::RouteTable>, std::string> compile_policy(
    api::traffic::v1::TrafficPolicy policy, const std::string& authority) {
  if (policy.authority().empty()) policy.set_authority(authority);
  return route::RouteTable::compile(policy);
}

base::Result<std::shared_ptr<const route::RouteTable>, std::string> compile_policy_json(
    std::string_view json, const std::string& authority) {
  api::traffic::v1::TrafficPolicy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &policy, options);
  if (!status.ok()) return base::unexpected("policy: " + std::string(status.message()));
  return compile_policy(std::move(policy), authority);
}

std::string policy_to_json(const api::traffic::v1::TrafficPolicy& policy) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(policy, &out, options);
  return out;
}

}  // namespace trellis::proxy::discovery
