#include "control/destination/workload.h"

#include "base/strings.h"

namespace trellis::control::destination {
namespace {

const std::string* annotation(const store::Object& o, std::string_view key) {
  const auto& a = o.resource.meta.annotations;
  auto it = a.find(std::string(key));
  return it == a.end() ? nullptr : &it->second;
}

}  // namespace

bool is_meshed(const store::Snapshot& snapshot, const store::Object& pod) {
  if (annotation(pod, kProxyVersionAnnotation) != nullptr) return true;
  if (pod.resource.meta.labels.contains(std::string(kControlPlaneNsLabel))) return true;
  const auto* p = pod.resource.as<resources::Pod>();
  if (p == nullptr) return false;
  if (p->spec.host_network) return false;  // host-network pods cannot be injected
  if (p->inject) return *p->inject != resources::InjectMode::kDisabled;
  if (const store::Object* ns = snapshot.namespace_object(pod.key.ns)) {
    if (const auto* n = ns->resource.as<resources::Namespace>(); n && n->inject) {
      return *n->inject != resources::InjectMode::kDisabled;
    }
  }
  return false;
}

std::optional<std::string> pod_identity(const store::Snapshot& snapshot, const store::Object& pod,
                                        const tls::IdentityDomain& domain) {
  if (!is_meshed(snapshot, pod)) return std::nullopt;
  const auto* p = pod.resource.as<resources::Pod>();
  const std::string sa = p == nullptr || p->spec.service_account_name.empty()
                             ? std::string("default")
                             : p->spec.service_account_name;
  auto id = tls::service_account_identity(sa, pod.key.ns, domain);
  if (!id) return std::nullopt;
  return id->str();
}

bool is_ready_endpoint(const store::Object& pod, bool include_not_ready) {
  const auto& status = pod.extras.status;
  if (pod.extras.deleting || status.pod_ips.empty()) return false;
  if (!status.phase.empty() && status.phase != "Running") return false;
  if (!include_not_ready && status.ready.has_value() && !*status.ready) return false;
  return true;
}

std::optional<int32_t> resolve_target_port(const resources::PodSpec& spec,
                                           const resources::PortRef& target) {
  if (target.is_number()) return target.number();
  for (const auto& c : spec.containers) {
    for (const auto& p : c.ports) {
      if (p.name == target.name()) return p.container_port;
    }
  }
  return std::nullopt;
}

bool port_list_contains(std::string_view list, int32_t port, const resources::PodSpec* spec) {
  auto entries = resources::parse_port_list(list, true);
  if (!entries) return false;  // reported by validation; an unreadable list marks nothing
  for (const auto& e : *entries) {
    if (!e.name.empty()) {
      if (spec == nullptr) continue;
      resources::PortRef ref{e.name};
      if (auto resolved = resolve_target_port(*spec, ref); resolved && *resolved == port) {
        return true;
      }
      continue;
    }
    if (port >= e.first && port <= e.last) return true;
  }
  return false;
}

bool is_opaque_port(const store::Snapshot& snapshot, const store::Object& pod, int32_t port) {
  const auto* p = pod.resource.as<resources::Pod>();
  const resources::PodSpec* spec = p ? &p->spec : nullptr;
  if (const std::string* list = annotation(pod, kOpaquePortsAnnotation)) {
    return port_list_contains(*list, port, spec);
  }
  if (const store::Object* ns = snapshot.namespace_object(pod.key.ns)) {
    if (const std::string* list = annotation(*ns, kOpaquePortsAnnotation)) {
      return port_list_contains(*list, port, spec);
    }
  }
  return port_list_contains(kDefaultOpaquePorts, port, spec);
}

std::string deployment_of(const store::Object& pod) {
  const auto& labels = pod.resource.meta.labels;
  const auto hash_it = labels.find("pod-template-hash");
  const std::string hash = hash_it == labels.end() ? std::string() : hash_it->second;
  for (const auto& owner : pod.extras.owners) {
    if (owner.kind == "Deployment") return owner.name;
    if (owner.kind == "ReplicaSet") {
      if (!hash.empty() && base::ends_with(owner.name, "-" + hash)) {
        return owner.name.substr(0, owner.name.size() - hash.size() - 1);
      }
      return {};  // a bare ReplicaSet
    }
  }
  if (auto it = labels.find("linkerd.io/proxy-deployment"); it != labels.end()) {
    return it->second;
  }
  if (!hash.empty()) {
    const std::string& name = pod.key.name;
    if (auto pos = name.rfind("-" + hash + "-"); pos != std::string::npos && pos > 0) {
      return name.substr(0, pos);
    }
  }
  return {};
}

std::map<std::string, std::string> pod_metric_labels(const store::Object& pod) {
  std::map<std::string, std::string> labels;
  labels["pod"] = pod.key.name;
  labels["namespace"] = pod.key.ns;
  if (const auto* p = pod.resource.as<resources::Pod>()) {
    labels["serviceaccount"] =
        p->spec.service_account_name.empty() ? "default" : p->spec.service_account_name;
  }
  if (std::string d = deployment_of(pod); !d.empty()) labels["deployment"] = d;
  const auto& meta_labels = pod.resource.meta.labels;
  if (auto it = meta_labels.find("pod-template-hash"); it != meta_labels.end()) {
    labels["pod_template_hash"] = it->second;
  }
  return labels;
}

}  // namespace trellis::control::destination
