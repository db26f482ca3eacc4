#include "control/policy/policy.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "control/destination/workload.h"

namespace trellis::control::policy {
namespace {

const std::string* annotation(const store::Object& o, std::string_view key) {
  const auto& a = o.resource.meta.annotations;
  auto it = a.find(std::string(key));
  return it == a.end() ? nullptr : &it->second;
}

std::string protocol_name(resources::ProxyProtocol p) {
  switch (p) {
    case resources::ProxyProtocol::kUnknown: return "unknown";
    case resources::ProxyProtocol::kHttp1: return "HTTP/1";
    case resources::ProxyProtocol::kHttp2: return "HTTP/2";
    case resources::ProxyProtocol::kGrpc: return "gRPC";
    case resources::ProxyProtocol::kOpaque: return "opaque";
    case resources::ProxyProtocol::kTls: return "TLS";
  }
  return "unknown";
}

// A valid default-inbound-policy annotation value, or "" (invalid values are reported by
// validation and ignored here).
std::string policy_annotation(const store::Object* o) {
  if (o == nullptr) return {};
  const std::string* v = annotation(*o, destination::kDefaultInboundPolicyAnnotation);
  if (v == nullptr || !resources::parse_default_policy(*v)) return {};
  return *v;
}

}  // namespace

Workload parse_workload(std::string_view text) {
  Workload w;
  auto parts = base::split(text, ':');
  if (parts.size() == 2) {
    w.ns = std::string(parts[0]);
    w.name = std::string(parts[1]);
  } else if (parts.size() == 3 && parts[1] == "external") {
    w.ns = std::string(parts[0]);
    w.name = std::string(parts[2]);
    w.external = true;
  } else {
    return w;
  }
  w.valid = !w.ns.empty() && !w.name.empty();
  return w;
}

api::InboundServer inbound_server(const store::Snapshot& snapshot, const Workload& workload,
                                  uint32_t port, const PolicyOptions& options) {
  api::InboundServer out;
  const store::Object* object =
      !workload.valid ? nullptr
      : workload.external ? snapshot.find("ExternalWorkload", workload.ns, workload.name)
                          : snapshot.pod(workload.ns, workload.name);
  const auto* pod = object ? object->resource.as<resources::Pod>() : nullptr;

  // A Server in the workload's namespace that selects it and the port (first by name).
  if (object != nullptr) {
    for (const auto& o : snapshot.kind("Server")) {
      if (o->key.ns != workload.ns) continue;
      const auto& server = *o->resource.as<resources::Server>();
      const bool selects_kind = workload.external
                                    ? server.selects == resources::Server::Selects::kExternalWorkloads
                                    : server.selects == resources::Server::Selects::kPods;
      if (!selects_kind || !server.selector.matches(object->resource.meta.labels)) continue;
      bool port_matches = false;
      if (server.port.is_number()) {
        port_matches = static_cast<uint32_t>(server.port.number()) == port;
      } else if (pod != nullptr) {
        auto resolved = destination::resolve_target_port(pod->spec, server.port);
        port_matches = resolved && static_cast<uint32_t>(*resolved) == port;
      } else if (const auto* ew = object->resource.as<resources::ExternalWorkload>()) {
        for (const auto& p : ew->ports) {
          port_matches = port_matches || (p.name == server.port.name() &&
                                          static_cast<uint32_t>(p.port) == port);
        }
      }
      if (!port_matches) continue;
      out.set_server("Server/" + o->key.ns + "/" + o->key.name);
      out.set_default_policy(std::string(resources::to_string(server.access_policy)));
      out.set_protocol(protocol_name(server.proxy_protocol));
      auto& labels = *out.mutable_labels();
      labels["group"] = "policy.linkerd.io";
      labels["kind"] = "server";
      labels["name"] = o->key.name;
      out.set_policy_json("{}");
      return out;
    }
  }

  std::string policy = policy_annotation(object);
  if (policy.empty()) policy = policy_annotation(snapshot.namespace_object(workload.ns));
  if (policy.empty()) policy = options.default_inbound_policy;
  out.set_server("default");
  out.set_default_policy(policy);
  const bool opaque =
      object != nullptr && pod != nullptr &&
      destination::is_opaque_port(snapshot, *object, static_cast<int32_t>(port));
  out.set_protocol(opaque ? "opaque" : "unknown");
  auto& labels = *out.mutable_labels();
  labels["kind"] = "default";
  labels["name"] = policy;
  out.set_policy_json("{}");
  return out;
}

api::OutboundPolicy outbound_policy(const store::Snapshot& snapshot,
                                    const destination::Target& target,
                                    const destination::Resolver& resolver) {
  api::OutboundPolicy out;
  const auto update = resolver.resolve(snapshot, target);
  out.set_exists(update.exists());
  if (!update.exists()) return out;
  nlohmann::json j = {{"port", update.service().port()},
                      {"opaque", update.service().opaque()}};
  if (!update.service().name().empty()) {
    j["service"] = resolver.fqdn(update.service().name(), update.service().namespace_());
  }
  out.set_policy_json(j.dump());
  return out;
}

}  // namespace trellis::control::policy
