#pragma once
// Resource: one decoded manifest object, in the internal form of its kind.

#include <string>
#include <variant>

#include "resources/core.h"
#include "resources/diagnostics.h"
#include "resources/flagger.h"
#include "resources/meta.h"
#include "resources/policy.h"
#include "resources/route.h"
#include "resources/service_profile.h"
#include "resources/traffic_split.h"
#include "resources/type_meta.h"
#include "resources/workload.h"

namespace trellis::resources {

// An object of a kind Trellis knows of but does not model (ConfigMap, Secret, RBAC, ...).
struct OpaqueObject {};

using ResourceBody =
    std::variant<OpaqueObject, Namespace, Service, Endpoints, EndpointSlice, Pod, Deployment,
                 ServiceAccount, HorizontalPodAutoscaler, ServiceProfile, TrafficSplit, Server,
                 ServerAuthorization, AuthorizationPolicy, MeshTLSAuthentication,
                 NetworkAuthentication, HttpRoute, GrpcRoute, HttpLocalRateLimitPolicy,
                 EgressNetwork, ExternalWorkload, Link, Canary, MetricTemplate>;

struct Resource {
  TypeMeta type;        // canonical group/version/kind
  std::string written_api_version;  // as written in the manifest
  ObjectMeta meta;
  Location location;    // of the object's first line
  bool namespaced = true;
  ResourceBody body;

  // metadata.namespace, or "default" for namespaced kinds without one.
  std::string effective_namespace() const {
    if (!namespaced) return {};
    return meta.ns.empty() ? std::string("default") : meta.ns;
  }
  template <typename T>
  const T* as() const { return std::get_if<T>(&body); }
};

}  // namespace trellis::resources
