#include "resources/registry.h"

#include <algorithm>

#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

template <typename T>
void decode_as(Node& root, const TypeMeta& type, const ObjectMeta& meta, Resource& out) {
  T body{};
  decode(root, type, meta, body);
  out.body = std::move(body);
}

// Kubernetes kinds that are common in manifest directories but that Trellis does not use:
// accepted without validation beyond apiVersion/kind/metadata.
struct OpaqueKind {
  std::string_view group;
  std::string_view kind;
};
constexpr OpaqueKind kOpaqueKinds[] = {
    {"", "ConfigMap"}, {"", "Secret"}, {"", "PersistentVolumeClaim"}, {"", "PersistentVolume"},
    {"", "ResourceQuota"}, {"", "LimitRange"}, {"", "ReplicationController"}, {"", "Event"},
    {"apps", "StatefulSet"}, {"apps", "DaemonSet"}, {"apps", "ReplicaSet"},
    {"batch", "Job"}, {"batch", "CronJob"},
    {"networking.k8s.io", "Ingress"}, {"networking.k8s.io", "NetworkPolicy"},
    {"networking.k8s.io", "IngressClass"},
    {"policy", "PodDisruptionBudget"},
    {"rbac.authorization.k8s.io", "Role"}, {"rbac.authorization.k8s.io", "RoleBinding"},
    {"rbac.authorization.k8s.io", "ClusterRole"}, {"rbac.authorization.k8s.io", "ClusterRoleBinding"},
    {"apiextensions.k8s.io", "CustomResourceDefinition"},
    {"admissionregistration.k8s.io", "MutatingWebhookConfiguration"},
    {"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"},
    {"scheduling.k8s.io", "PriorityClass"}, {"storage.k8s.io", "StorageClass"},
    {"coordination.k8s.io", "Lease"}, {"apiregistration.k8s.io", "APIService"},
    {"gateway.networking.k8s.io", "Gateway"}, {"gateway.networking.k8s.io", "GatewayClass"},
    {"gateway.networking.k8s.io", "TLSRoute"}, {"gateway.networking.k8s.io", "TCPRoute"},
    {"gateway.networking.k8s.io", "ReferenceGrant"},
    {"flagger.app", "AlertProvider"},
};

// What to use instead of another mesh's resource.
std::string foreign_advice(std::string_view group, std::string_view kind) {
  if (base::ends_with(group, "istio.io")) {
    if (kind == "VirtualService") {
      return "for routing, rewrites and timeouts use an HTTPRoute (gateway.networking.k8s.io/v1 "
             "or policy.linkerd.io/v1beta3) whose parentRef is the Service; for weighted canary "
             "splits use a TrafficSplit (split.smi-spec.io/v1alpha1); for per-route retries and "
             "timeouts use a ServiceProfile";
    }
    if (kind == "DestinationRule") {
      return "load balancing and circuit breaking are configured with balancer.linkerd.io/* "
             "annotations on the Service; subsets become separate Services";
    }
    if (kind == "PeerAuthentication") {
      return "mTLS is automatic in Trellis; to require it use a Server with an "
             "AuthorizationPolicy and MeshTLSAuthentication, or config.linkerd.io/default-inbound-policy";
    }
    if (kind == "AuthorizationPolicy") {
      return "use policy.linkerd.io/v1alpha1 AuthorizationPolicy with a Server and "
             "MeshTLSAuthentication/NetworkAuthentication";
    }
    if (kind == "ServiceEntry" || kind == "Sidecar") {
      return "use a policy.linkerd.io/v1alpha1 EgressNetwork to control egress";
    }
    if (kind == "Gateway") {
      return "use a gateway.networking.k8s.io Gateway with your ingress controller, and "
             "multicluster.linkerd.io Link for cross-cluster traffic";
    }
    return "see DESIGN.md §5 for the kinds Trellis reads";
  }
  return "see DESIGN.md §5 for the kinds Trellis reads";
}

bool is_foreign_mesh_group(std::string_view group) {
  return base::ends_with(group, "istio.io") || base::ends_with(group, "kuma.io") ||
         base::ends_with(group, "openservicemesh.io") || base::ends_with(group, "consul.hashicorp.com") ||
         base::ends_with(group, "appmesh.k8s.aws");
}


}  // namespace

const std::vector<KindInfo>& known_kinds() {
  static const std::vector<KindInfo> kinds = {
      {"", "Namespace", {"v1"}, false, {}, &decode_as<Namespace>},
      {"", "Service", {"v1"}, true, {}, &decode_as<Service>},
      {"", "Endpoints", {"v1"}, true, {}, &decode_as<Endpoints>},
      {"", "Pod", {"v1"}, true, {}, &decode_as<Pod>},
      {"", "ServiceAccount", {"v1"}, true, {}, &decode_as<ServiceAccount>},
      {"discovery.k8s.io", "EndpointSlice", {"v1beta1", "v1"}, true, {{"v1beta1", "v1"}},
       &decode_as<EndpointSlice>},
      {"apps", "Deployment", {"v1"}, true, {}, &decode_as<Deployment>},
      {"autoscaling", "HorizontalPodAutoscaler", {"v1", "v2beta2", "v2"}, true,
       {{"v2beta2", "v2"}}, &decode_as<HorizontalPodAutoscaler>},
      {"linkerd.io", "ServiceProfile", {"v1alpha1", "v1alpha2"}, true, {},
       &decode_as<ServiceProfile>},
      {"split.smi-spec.io", "TrafficSplit", {"v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"}, true,
       {}, &decode_as<TrafficSplit>},
      {"policy.linkerd.io", "Server", {"v1alpha1", "v1beta1", "v1beta2", "v1beta3"}, true,
       {{"v1alpha1", "v1beta3"}, {"v1beta1", "v1beta3"}}, &decode_as<Server>},
      {"policy.linkerd.io", "ServerAuthorization", {"v1alpha1", "v1beta1"}, true,
       {{"v1alpha1", "v1beta1"}}, &decode_as<ServerAuthorization>},
      {"policy.linkerd.io", "AuthorizationPolicy", {"v1alpha1"}, true, {},
       &decode_as<AuthorizationPolicy>},
      {"policy.linkerd.io", "MeshTLSAuthentication", {"v1alpha1"}, true, {},
       &decode_as<MeshTLSAuthentication>},
      {"policy.linkerd.io", "NetworkAuthentication", {"v1alpha1"}, true, {},
       &decode_as<NetworkAuthentication>},
      {"policy.linkerd.io", "HTTPRoute", {"v1alpha1", "v1beta1", "v1beta2", "v1beta3"}, true, {},
       &decode_as<HttpRoute>},
      {"policy.linkerd.io", "HTTPLocalRateLimitPolicy", {"v1alpha1"}, true, {},
       &decode_as<HttpLocalRateLimitPolicy>},
      {"policy.linkerd.io", "EgressNetwork", {"v1alpha1"}, true, {}, &decode_as<EgressNetwork>},
      {"gateway.networking.k8s.io", "HTTPRoute", {"v1alpha2", "v1beta1", "v1"}, true,
       {{"v1alpha2", "v1"}}, &decode_as<HttpRoute>},
      {"gateway.networking.k8s.io", "GRPCRoute", {"v1alpha2", "v1"}, true, {{"v1alpha2", "v1"}},
       &decode_as<GrpcRoute>},
      {"workload.linkerd.io", "ExternalWorkload", {"v1alpha1", "v1beta1"}, true,
       {{"v1alpha1", "v1beta1"}}, &decode_as<ExternalWorkload>},
      {"multicluster.linkerd.io", "Link", {"v1alpha1", "v1alpha2", "v1alpha3"}, true, {},
       &decode_as<Link>},
      {"flagger.app", "Canary", {"v1beta1"}, true, {}, &decode_as<Canary>},
      {"flagger.app", "MetricTemplate", {"v1beta1"}, true, {}, &decode_as<MetricTemplate>},
  };
  return kinds;
}

std::pair<std::string, std::string> split_api_version(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  if (slash == std::string_view::npos) return {"", std::string(api_version)};
  return {std::string(api_version.substr(0, slash)), std::string(api_version.substr(slash + 1))};
}

bool decode_object(Node& root, Resource& out) {
  DecodeContext& ctx = root.context();
  out.location = root.location();
  if (!root.is_map()) {
    root.error("expected a Kubernetes object (a map with apiVersion, kind and metadata), got " +
               root.describe());
    return false;
  }
  // Peek at identity first so every diagnostic names the object.
  std::string api_version, kind;
  if (auto n = root.get("apiVersion", kRequired)) {
    if (auto s = n->as_string()) api_version = *s;
  }
  if (auto n = root.get("kind", kRequired)) {
    if (auto s = n->as_string()) kind = *s;
  }
  ctx.object.api_version = api_version;
  ctx.object.kind = kind;
  {
    const YAML::Node& raw = root.raw();
    for (auto it = raw.begin(); it != raw.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar() != "metadata" || !it->second.IsMap()) continue;
      for (auto m = it->second.begin(); m != it->second.end(); ++m) {
        if (!m->first.IsScalar() || !m->second.IsScalar()) continue;
        if (m->first.Scalar() == "name") ctx.object.name = m->second.Scalar();
        if (m->first.Scalar() == "namespace") ctx.object.ns = m->second.Scalar();
      }
    }
  }
  if (api_version.empty() || kind.empty()) return false;

  auto [group, version] = split_api_version(api_version);
  out.written_api_version = api_version;

  if (is_foreign_mesh_group(group)) {
    root.warning(api_version + " " + kind +
                 " is not a Trellis resource and is ignored; " + foreign_advice(group, kind));
    return false;
  }

  // Seed variant: TrafficSplit published under linkerd.io.
  if (group == "linkerd.io" && kind == "TrafficSplit") {
    root.warning_at("apiVersion", "TrafficSplit is not a linkerd.io kind; read as " +
                                      std::string("split.smi-spec.io/") +
                                      (version == "v1alpha1" ? "v1alpha1" : "v1alpha2") +
                                      " (write apiVersion: split.smi-spec.io/v1alpha1)");
    group = "split.smi-spec.io";
    version = version == "v1alpha1" ? "v1alpha1" : "v1alpha2";
  }

  const KindInfo* info = nullptr;
  std::vector<std::string> kinds_in_group;
  bool group_known = false;
  for (const auto& k : known_kinds()) {
    if (k.group != group) continue;
    group_known = true;
    kinds_in_group.emplace_back(k.kind);
    if (k.kind == kind) info = &k;
  }
  if (info == nullptr) {
    for (const auto& o : kOpaqueKinds) {
      if (o.group == group && o.kind == kind) {
        out.type = {group, version, kind};
        out.body = OpaqueObject{};
        if (auto md = root.get("metadata", kRequired); md && md->is_map()) {
          out.meta = decode_metadata(*md, true);
        }
        return true;
      }
    }
    if (group_known) {
      std::string msg = "unknown kind " + quote(kind) + " in " + (group.empty() ? "the core group" : group);
      const std::string near = base::closest_match(kind, kinds_in_group);
      if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
      msg += "; known kinds: " + base::join(kinds_in_group, ", ");
      root.error_at("kind", msg);
    } else {
      root.warning(api_version + " " + kind +
                   " is not a kind Trellis uses; it was not validated and will be ignored");
    }
    return false;
  }

  if (std::find(info->versions.begin(), info->versions.end(), version) == info->versions.end()) {
    std::vector<std::string> versions(info->versions.begin(), info->versions.end());
    for (auto& v : versions) v = group.empty() ? v : group + "/" + v;
    root.error_at("apiVersion", kind + " is not served as " + quote(api_version) +
                                    "; supported versions: " + base::join(versions, ", "));
    return false;
  }
  for (const auto& [old_version, replacement] : info->deprecated) {
    if (old_version == version) {
      root.warning_at("apiVersion", std::string(group) + "/" + version + " " + kind +
                                        " is deprecated; use " + std::string(group) + "/" +
                                        std::string(replacement));
    }
  }

  out.type = {group, version, kind};
  out.namespaced = info->namespaced;
  bool meta_ok = false;
  if (auto md = root.get("metadata", kRequired)) {
    if (md->is_map()) {
      out.meta = decode_metadata(*md, info->namespaced);
      md->finish();
      meta_ok = true;
    } else {
      md->error("expected a map, got " + md->describe());
    }
  }
  root.ignore({"status"});
  info->decode(root, out.type, out.meta, out);
  root.finish();
  return meta_ok;
}

}  // namespace trellis::resources
