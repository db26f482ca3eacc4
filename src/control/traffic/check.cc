#include "control/traffic/check.h"

#include <map>
#include <set>
#include <tuple>

#include "control/traffic/compile.h"

namespace trellis::control::traffic {
namespace {

using resources::Resource;
using NsName = std::pair<std::string, std::string>;

// A Service that traffic resources name but the manifests do not define, with the ports they
// use (80 when none says).
Resource synthesized_service(const NsName& key, const std::set<int32_t>& ports) {
  Resource r;
  r.type = {"", "v1", "Service"};
  r.written_api_version = "v1";
  r.meta.name = key.second;
  r.meta.ns = key.first;
  resources::Service svc;
  for (int32_t p : ports) {
    resources::ServicePort sp;
    sp.port = p;
    sp.target_port = resources::PortRef{p};
    svc.ports.push_back(std::move(sp));
  }
  r.body = std::move(svc);
  return r;
}

}  // namespace

resources::Diagnostics check(const std::vector<const Resource*>& store,
                             const CheckOptions& options) {
  // The last definition of an object wins, as in compile().
  std::map<NsName, const Resource*> services;
  std::set<std::string> client_namespaces = {""};
  std::map<NsName, std::set<int32_t>> named;  // Services named by traffic resources
  std::map<NsName, std::vector<NsName>> split_backends;
  for (const Resource* r : store) {
    if (r == nullptr) continue;
    const std::string ns = r->effective_namespace();
    if (r->as<resources::Service>()) {
      services[{ns, r->meta.name}] = r;
    } else if (const auto* sp = r->as<resources::ServiceProfile>()) {
      client_namespaces.insert(ns);
      if (!sp->service.empty()) named[{sp->service_namespace, sp->service}];
    } else if (const auto* ts = r->as<resources::TrafficSplit>()) {
      if (ts->service.empty()) continue;
      named[{ns, ts->service}];
      for (const auto& b : ts->backends) {
        split_backends[{ns, ts->service}].push_back({ns, b.service});
      }
    } else {
      const std::vector<resources::ParentRef>* parents = nullptr;
      if (const auto* h = r->as<resources::HttpRoute>()) parents = &h->parent_refs;
      if (const auto* g = r->as<resources::GrpcRoute>()) parents = &g->parent_refs;
      if (parents == nullptr) continue;
      client_namespaces.insert(ns);
      for (const auto& p : *parents) {
        if (p.parent_kind != resources::ParentKind::kService) continue;
        auto& ports = named[{p.ns.empty() ? ns : p.ns, p.name}];
        if (p.port) ports.insert(*p.port);
      }
    }
  }

  std::vector<Resource> synthesized;
  if (options.partial) {
    for (auto& [key, ports] : named) {
      if (services.count(key)) continue;
      // A split's apex has its backends' ports (a TrafficSplit keeps the port).
      for (const auto& b : split_backends[key]) {
        auto it = services.find(b);
        if (!ports.empty() || it == services.end()) continue;
        for (const auto& sp : it->second->as<resources::Service>()->ports) ports.insert(sp.port);
      }
      if (ports.empty()) ports.insert(80);
      synthesized.push_back(synthesized_service(key, ports));
    }
  }
  std::vector<const Resource*> subjects;
  for (const auto& [key, r] : services) subjects.push_back(r);
  for (const auto& r : synthesized) subjects.push_back(&r);

  resources::Diagnostics out;
  std::set<std::string> seen;
  for (const Resource* svc : subjects) {
    for (const auto& port : svc->as<resources::Service>()->ports) {
      for (const auto& client_ns : client_namespaces) {
        Options o;
        o.cluster_domain = options.cluster_domain;
        o.client_namespace = client_ns;
        o.report_missing_services = !options.partial;
        Compiled c = compile(*svc, port.port, store, o);
        for (const auto& d : c.problems.items()) {
          if (seen.insert(d.format()).second) out.add(d);
        }
      }
    }
  }
  out.sort();
  return out;
}

resources::Diagnostics check(const std::vector<Resource>& store, const CheckOptions& options) {
  std::vector<const Resource*> pointers;
  pointers.reserve(store.size());
  for (const auto& r : store) pointers.push_back(&r);
  return check(pointers, options);
}

}  // namespace trellis::control::traffic
