#include "control/destination/resolver.h"

#include <algorithm>
#include <charconv>

#include <google/protobuf/util/json_util.h>

#include "base/address.h"
#include "base/strings.h"
#include "control/destination/workload.h"
#include "control/traffic/compile.h"
#include "net/socket_address.h"

namespace trellis::control::destination {
namespace {

std::string endpoint_address(const std::string& ip, int32_t port) {
  auto parsed = base::IpAddress::parse(ip);
  if (!parsed) return {};
  return net::SocketAddress{*parsed, static_cast<uint16_t>(port)}.to_string();
}

bool selector_matches(const std::map<std::string, std::string>& selector,
                      const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

const std::string* annotation(const store::Object& o, std::string_view key) {
  const auto& a = o.resource.meta.annotations;
  auto it = a.find(std::string(key));
  return it == a.end() ? nullptr : &it->second;
}

bool service_port_opaque(const store::Object& service, uint32_t port) {
  const std::string* list = annotation(service, kOpaquePortsAnnotation);
  return list != nullptr && port_list_contains(*list, static_cast<int32_t>(port));
}

void sort_endpoints(api::Update& update) {
  auto* eps = update.mutable_endpoints();
  std::sort(eps->begin(), eps->end(), [](const api::Endpoint& a, const api::Endpoint& b) {
    return a.address() < b.address();
  });
  // The same address twice (a pod listed by two slices): keep the first.
  auto last = std::unique(eps->begin(), eps->end(),
                          [](const api::Endpoint& a, const api::Endpoint& b) {
                            return a.address() == b.address();
                          });
  while (eps->end() != last) eps->RemoveLast();
}

}  // namespace

Target parse_target(std::string_view path, std::string_view context_namespace,
                    std::string_view cluster_domain) {
  Target t;
  std::string_view host = path;
  uint32_t port = 80;
  // "[v6]:port", "host:port", "host"
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return t;
    std::string_view rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return t;
      rest.remove_prefix(1);
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
      if (ec != std::errc() || p != rest.data() + rest.size()) return t;
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    if (host.find(':') != colon) {
      // A bare IPv6 address without brackets: no port.
    } else {
      std::string_view ps = host.substr(colon + 1);
      auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
      if (ec != std::errc() || p != ps.data() + ps.size()) return t;
      host = host.substr(0, colon);
    }
  }
  if (port == 0 || port > 65535 || host.empty()) return t;
  t.port = port;
  if (auto ip = base::IpAddress::parse(host)) {
    t.kind = Target::Kind::kAddress;
    t.ip = ip->to_string();
    return t;
  }
  std::string name = base::to_lower(host);
  if (base::ends_with(name, ".")) name.pop_back();
  const std::string suffix = ".svc." + std::string(cluster_domain);
  if (base::ends_with(name, suffix)) {
    name = name.substr(0, name.size() - suffix.size());
  } else if (base::ends_with(name, ".svc")) {
    name = name.substr(0, name.size() - 4);
  }
  auto parts = base::split(name, '.');
  if (parts.size() == 1) {
    t.name = std::string(parts[0]);
    t.ns = context_namespace.empty() ? std::string("default") : std::string(context_namespace);
  } else if (parts.size() == 2) {
    t.name = std::string(parts[0]);
    t.ns = std::string(parts[1]);
  } else {
    return t;  // some other DNS name: not a service of this cluster
  }
  if (t.name.empty() || t.ns.empty()) return t;
  t.kind = Target::Kind::kService;
  return t;
}

bool Resolver::affects(const store::Change& change, const Target& target) {
  if (target.kind != Target::Kind::kService) return !change.changed.empty();
  for (const auto& key : change.changed) {
    if (key.ns == target.ns || key.kind == "Namespace") return true;
  }
  return false;
}

void Resolver::add_pod_endpoint(const store::Snapshot& snapshot, const store::Object& pod,
                                const std::string& ip, int32_t port, api::Update& out) const {
  const std::string address = endpoint_address(ip, port);
  if (address.empty()) return;
  api::Endpoint* ep = out.add_endpoints();
  ep->set_address(address);
  ep->set_weight(kDefaultWeight);
  if (auto identity = pod_identity(snapshot, pod, options_.identity_domain)) {
    ep->set_identity(*identity);
    ep->set_protocol_hint(is_opaque_port(snapshot, pod, port) ? api::PROTOCOL_HINT_OPAQUE
                                                              : api::PROTOCOL_HINT_H2);
  }
  for (const auto& [k, v] : pod_metric_labels(pod)) (*ep->mutable_labels())[k] = v;
}

api::Update Resolver::resolve_service(const store::Snapshot& snapshot,
                                      const store::Object& object, uint32_t port) const {
  api::Update out;
  const auto& svc = *object.resource.as<resources::Service>();
  if (svc.type == resources::ServiceType::kExternalName) return out;  // exists=false
  out.set_exists(true);
  const std::string& ns = object.key.ns;
  api::ServiceInfo* info = out.mutable_service();
  info->set_name(object.key.name);
  info->set_namespace_(ns);
  info->set_cluster_domain(options_.cluster_domain);
  for (const auto& ip : svc.cluster_ips) info->add_cluster_ips(ip.to_string());
  if (svc.cluster_ips.empty() && svc.cluster_ip) info->add_cluster_ips(svc.cluster_ip->to_string());
  info->set_port(port);
  info->set_opaque(service_port_opaque(object, port));
  for (const auto& [k, v] : object.resource.meta.labels) (*info->mutable_labels())[k] = v;

  // The service port asked about; a port the Service does not declare targets itself.
  const resources::ServicePort* sp = nullptr;
  for (const auto& p : svc.ports) {
    if (static_cast<uint32_t>(p.port) == port) sp = &p;
  }
  resources::PortRef target{static_cast<int32_t>(port)};
  std::string port_name;
  if (sp != nullptr) {
    target = sp->target_port;
    port_name = sp->name;
    info->set_port_name(sp->name);
  }

  if (!svc.selector.empty()) {
    if (auto it = snapshot.pods_by_ns.find(ns); it != snapshot.pods_by_ns.end()) {
      for (const auto& pod : it->second) {
        if (!selector_matches(svc.selector, pod->resource.meta.labels)) continue;
        if (!is_ready_endpoint(*pod, svc.publish_not_ready_addresses)) continue;
        const auto* p = pod->resource.as<resources::Pod>();
        auto target_port = resolve_target_port(p->spec, target);
        if (!target_port) continue;  // no container port of that name on this pod
        add_pod_endpoint(snapshot, *pod, pod->extras.status.pod_ips.front(), *target_port, out);
      }
    }
    if (auto it = snapshot.external_workloads_by_ns.find(ns);
        it != snapshot.external_workloads_by_ns.end()) {
      for (const auto& o : it->second) {
        if (!selector_matches(svc.selector, o->resource.meta.labels)) continue;
        const auto& ew = *o->resource.as<resources::ExternalWorkload>();
        if (ew.workload_ips.empty()) continue;
        std::optional<int32_t> tp;
        if (target.is_number()) {
          tp = target.number();
        } else {
          for (const auto& p : ew.ports) {
            if (p.name == target.name()) tp = p.port;
          }
        }
        if (!tp) continue;
        const base::IpAddress* ip = &ew.workload_ips.front();
        for (const auto& candidate : ew.workload_ips) {
          if (candidate.is_v4()) {
            ip = &candidate;
            break;
          }
        }
        api::Endpoint* ep = out.add_endpoints();
        ep->set_address(net::SocketAddress{*ip, static_cast<uint16_t>(*tp)}.to_string());
        ep->set_weight(kDefaultWeight);
        ep->set_identity(ew.identity);
        const std::string* list = annotation(*o, kOpaquePortsAnnotation);
        const bool opaque = port_list_contains(list ? *list : kDefaultOpaquePorts, *tp);
        ep->set_protocol_hint(opaque ? api::PROTOCOL_HINT_OPAQUE : api::PROTOCOL_HINT_H2);
        auto& labels = *ep->mutable_labels();
        labels["external_workload"] = o->key.name;
        labels["namespace"] = ns;
      }
    }
    sort_endpoints(out);
    return out;
  }

  // No selector: endpoints are managed by hand.
  auto endpoint_for = [&](const std::string& ip, int32_t p,
                          const std::optional<resources::CoreObjectRef>& ref) {
    if (ref && ref->kind == "Pod") {
      const std::string& pod_ns = ref->ns.empty() ? ns : ref->ns;
      if (const store::Object* pod = snapshot.pod(pod_ns, ref->name)) {
        add_pod_endpoint(snapshot, *pod, ip, p, out);
        return;
      }
    }
    const std::string address = endpoint_address(ip, p);
    if (address.empty()) return;
    api::Endpoint* ep = out.add_endpoints();
    ep->set_address(address);
    ep->set_weight(kDefaultWeight);
  };
  auto slices = snapshot.slices_by_service.find({ns, object.key.name});
  if (slices != snapshot.slices_by_service.end() && !slices->second.empty()) {
    for (const auto& o : slices->second) {
      const auto& slice = *o->resource.as<resources::EndpointSlice>();
      if (slice.address_type == resources::AddressType::kFqdn) continue;
      std::optional<int32_t> slice_port;
      for (const auto& p : slice.ports) {
        if (p.name == port_name && p.port) slice_port = *p.port;
      }
      if (!slice_port) continue;
      for (const auto& e : slice.endpoints) {
        if (e.addresses.empty() || e.conditions.terminating) continue;
        if (!e.conditions.ready && !svc.publish_not_ready_addresses) continue;
        endpoint_for(e.addresses.front(), *slice_port, e.target_ref);
      }
    }
  } else if (auto eps = snapshot.endpoints.find({ns, object.key.name});
             eps != snapshot.endpoints.end()) {
    const auto& endpoints = *eps->second->resource.as<resources::Endpoints>();
    for (const auto& subset : endpoints.subsets) {
      std::optional<int32_t> subset_port;
      for (const auto& p : subset.ports) {
        if (p.name == port_name || (subset.ports.size() == 1 && port_name.empty())) {
          subset_port = p.port;
        }
      }
      if (!subset_port) continue;
      for (const auto& a : subset.addresses) {
        endpoint_for(a.ip.to_string(), *subset_port, a.target_ref);
      }
      if (svc.publish_not_ready_addresses) {
        for (const auto& a : subset.not_ready_addresses) {
          endpoint_for(a.ip.to_string(), *subset_port, a.target_ref);
        }
      }
    }
  }
  sort_endpoints(out);
  return out;
}

api::Update Resolver::resolve(const store::Snapshot& snapshot, const Target& target) const {
  api::Update out;
  switch (target.kind) {
    case Target::Kind::kInvalid:
      return out;
    case Target::Kind::kService:
      if (const store::Object* svc = snapshot.service(target.ns, target.name)) {
        return resolve_service(snapshot, *svc, target.port);
      }
      return out;
    case Target::Kind::kAddress:
      break;
  }
  if (auto it = snapshot.service_by_cluster_ip.find(target.ip);
      it != snapshot.service_by_cluster_ip.end()) {
    return resolve_service(snapshot, *it->second, target.port);
  }
  if (auto it = snapshot.pod_by_ip.find(target.ip); it != snapshot.pod_by_ip.end()) {
    const store::Object& pod = *it->second;
    if (!is_ready_endpoint(pod, true)) return out;
    out.set_exists(true);
    out.mutable_service()->set_namespace_(pod.key.ns);
    out.mutable_service()->set_cluster_domain(options_.cluster_domain);
    out.mutable_service()->set_port(target.port);
    add_pod_endpoint(snapshot, pod, target.ip, static_cast<int32_t>(target.port), out);
    return out;
  }
  for (const auto& [ns, workloads] : snapshot.external_workloads_by_ns) {
    for (const auto& o : workloads) {
      const auto& ew = *o->resource.as<resources::ExternalWorkload>();
      for (const auto& ip : ew.workload_ips) {
        if (ip.to_string() != target.ip) continue;
        out.set_exists(true);
        out.mutable_service()->set_namespace_(ns);
        out.mutable_service()->set_cluster_domain(options_.cluster_domain);
        out.mutable_service()->set_port(target.port);
        api::Endpoint* ep = out.add_endpoints();
        ep->set_address(net::SocketAddress{ip, static_cast<uint16_t>(target.port)}.to_string());
        ep->set_weight(kDefaultWeight);
        ep->set_identity(ew.identity);
        ep->set_protocol_hint(api::PROTOCOL_HINT_H2);
        (*ep->mutable_labels())["external_workload"] = o->key.name;
        (*ep->mutable_labels())["namespace"] = ns;
        return out;
      }
    }
  }
  return out;
}

std::vector<const resources::Resource*> traffic_inputs(const store::Snapshot& snapshot) {
  std::vector<const resources::Resource*> out;
  for (const auto& [key, o] : snapshot.services) out.push_back(&o->resource);
  for (const char* kind : kTrafficKinds) {
    for (const auto& o : snapshot.kind(kind)) out.push_back(&o->resource);
  }
  return out;
}

api::Profile Resolver::profile(const store::Snapshot& snapshot, const Target& target,
                               std::string_view client_namespace) const {
  api::Profile out;
  const store::Object* service = nullptr;
  if (target.kind == Target::Kind::kService) {
    service = snapshot.service(target.ns, target.name);
  } else if (target.kind == Target::Kind::kAddress) {
    if (auto it = snapshot.service_by_cluster_ip.find(target.ip);
        it != snapshot.service_by_cluster_ip.end()) {
      service = it->second.get();
    }
  }
  if (service == nullptr) return out;  // not a Service: no policy, the proxy's default route
  out.set_fully_qualified_name(fqdn(service->key.name, service->key.ns));
  out.set_opaque_protocol(service_port_opaque(*service, target.port));
  control::traffic::Options options;
  options.cluster_domain = options_.cluster_domain;
  options.client_namespace = std::string(client_namespace);
  auto compiled = control::traffic::compile(service->resource, static_cast<int32_t>(target.port),
                                            traffic_inputs(snapshot), options);
  *out.mutable_policy() = std::move(compiled.policy);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(out.policy(), &json);
  out.set_policy_json(std::move(json));
  return out;
}

bool Resolver::affects_profile(const store::Change& change, const Target& target,
                               std::string_view client_namespace) {
  if (target.kind != Target::Kind::kService) return !change.changed.empty();
  for (const auto& key : change.changed) {
    // Routes and splits may live in the client's namespace (consumer routes, client-side
    // profile overrides) and send traffic to Services of other namespaces.
    if (key.ns == target.ns || key.ns == client_namespace || key.kind == "Service") return true;
    for (const char* kind : kTrafficKinds) {
      if (key.kind == kind) return true;
    }
  }
  return false;
}

}  // namespace trellis::control::destination
