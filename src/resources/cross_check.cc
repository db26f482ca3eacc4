#include "resources/cross_check.h"

#include <map>
#include <set>
#include <string>
#include <tuple>

namespace trellis::resources {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name

class Index {
 public:
  explicit Index(const std::vector<Resource>& resources) {
    for (const auto& r : resources) {
      const std::string ns = r.effective_namespace();
      names_.insert({r.type.kind, ns, r.meta.name});
      kinds_in_ns_.insert({r.type.kind, ns});
    }
  }
  bool has(const std::string& kind, const std::string& ns, const std::string& name) const {
    return names_.count({kind, ns, name}) > 0;
  }
  // Whether the manifests define any object of `kind` in `ns` — only then is a missing target
  // worth a warning.
  bool covers(const std::string& kind, const std::string& ns) const {
    return kinds_in_ns_.count({kind, ns}) > 0;
  }

 private:
  std::set<Key> names_;
  std::set<std::pair<std::string, std::string>> kinds_in_ns_;
};

ObjectRef ref_of(const Resource& r) {
  return {r.written_api_version, r.type.kind, r.effective_namespace(), r.meta.name};
}

void expect(const Index& index, Diagnostics& diags, const Resource& from, const std::string& field,
            const std::string& kind, const std::string& ns, const std::string& name) {
  if (name.empty() || !index.covers(kind, ns) || index.has(kind, ns, name)) return;
  diags.warning(from.location, ref_of(from), field,
                kind + " \"" + name + "\" is not defined in namespace " + ns +
                    " by these manifests (it must already exist in the cluster)");
}

}  // namespace

void cross_check(const std::vector<Resource>& resources, Diagnostics& diags) {
  const Index index(resources);

  std::map<Key, const Resource*> first;
  for (const auto& r : resources) {
    if (r.meta.name.empty() || r.as<OpaqueObject>()) continue;
    auto [it, inserted] = first.emplace(Key{r.type.kind, r.effective_namespace(), r.meta.name}, &r);
    if (!inserted) {
      const Location& prev = it->second->location;
      diags.warning(r.location, ref_of(r), "",
                    "defined again (first at " + prev.file + ":" + std::to_string(prev.line) +
                        "); applying both keeps only the later one");
    }
  }

  for (const auto& r : resources) {
    const std::string ns = r.effective_namespace();
    if (const auto* ts = r.as<TrafficSplit>()) {
      expect(index, diags, r, "spec.service", "Service", ns, ts->service);
      for (size_t i = 0; i < ts->backends.size(); ++i) {
        expect(index, diags, r, "spec.backends[" + std::to_string(i) + "].service", "Service", ns,
               ts->backends[i].service);
      }
    } else if (const auto* route = r.as<HttpRoute>()) {
      for (size_t i = 0; i < route->parent_refs.size(); ++i) {
        const auto& p = route->parent_refs[i];
        const std::string pns = p.ns.empty() ? ns : p.ns;
        const std::string field = "spec.parentRefs[" + std::to_string(i) + "]";
        if (p.parent_kind == ParentKind::kService) expect(index, diags, r, field, "Service", pns, p.name);
        if (p.parent_kind == ParentKind::kServer) expect(index, diags, r, field, "Server", pns, p.name);
      }
      for (size_t i = 0; i < route->rules.size(); ++i) {
        for (size_t j = 0; j < route->rules[i].backend_refs.size(); ++j) {
          const auto& b = route->rules[i].backend_refs[j].ref;
          if (!b.is_service()) continue;
          expect(index, diags, r,
                 "spec.rules[" + std::to_string(i) + "].backendRefs[" + std::to_string(j) + "]",
                 "Service", b.ns.empty() ? ns : b.ns, b.name);
        }
      }
    } else if (const auto* authz = r.as<ServerAuthorization>()) {
      expect(index, diags, r, "spec.server.name", "Server", ns, authz->server_name);
    } else if (const auto* policy = r.as<AuthorizationPolicy>()) {
      if (policy->target_kind == AuthorizationPolicy::TargetKind::kServer) {
        expect(index, diags, r, "spec.targetRef", "Server", ns, policy->target.name);
      }
      if (policy->mesh_tls_authentication) {
        const auto& a = *policy->mesh_tls_authentication;
        expect(index, diags, r, "spec.requiredAuthenticationRefs", "MeshTLSAuthentication",
               a.ns.empty() ? ns : a.ns, a.name);
      }
      if (policy->network_authentication) {
        const auto& a = *policy->network_authentication;
        expect(index, diags, r, "spec.requiredAuthenticationRefs", "NetworkAuthentication",
               a.ns.empty() ? ns : a.ns, a.name);
      }
    } else if (const auto* canary = r.as<Canary>()) {
      if (!canary->target_ref.kind.empty()) {
        expect(index, diags, r, "spec.targetRef", canary->target_ref.kind, ns,
               canary->target_ref.name);
      }
      for (size_t i = 0; i < canary->analysis.metrics.size(); ++i) {
        const auto& m = canary->analysis.metrics[i];
        if (!m.template_ref) continue;
        expect(index, diags, r, "spec.analysis.metrics[" + std::to_string(i) + "].templateRef",
               "MetricTemplate", m.template_ref->ns.empty() ? ns : m.template_ref->ns,
               m.template_ref->name);
      }
    } else if (r.as<ServiceProfile>()) {
      // The profile is named after the Service's FQDN: <svc>.<ns>.svc.<domain>.
      const std::string& name = r.meta.name;
      const size_t dot = name.find('.');
      if (dot != std::string::npos) {
        expect(index, diags, r, "metadata.name", "Service", ns, name.substr(0, dot));
      }
    }
  }
}

}  // namespace trellis::resources
