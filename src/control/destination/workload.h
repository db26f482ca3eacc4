#pragma once
// What discovery and policy need to know about a pod (or external workload): is it meshed, what
// is its identity, which of its ports are opaque, where its ports are, which labels it gets.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/store/store.h"
#include "resources/core.h"
#include "tls/identity.h"

namespace trellis::control::destination {

// Linkerd's default opaque ports (proxy.opaquePorts; linkerd.md §2.3).
inline constexpr std::string_view kDefaultOpaquePorts = "25,587,3306,4444,5432,6379,9300,11211";

// The annotation the injector adds to every meshed pod, and the label (linkerd.md §4.x).
inline constexpr std::string_view kProxyVersionAnnotation = "linkerd.io/proxy-version";
inline constexpr std::string_view kControlPlaneNsLabel = "linkerd.io/control-plane-ns";
inline constexpr std::string_view kOpaquePortsAnnotation = "config.linkerd.io/opaque-ports";
inline constexpr std::string_view kDefaultInboundPolicyAnnotation =
    "config.linkerd.io/default-inbound-policy";

// A pod is meshed when the injector marked it (linkerd.io/proxy-version annotation or
// linkerd.io/control-plane-ns label), or when injection is enabled for it: `linkerd.io/inject:
// enabled|ingress` on the pod (its template's annotations are copied to it), else on its
// namespace. `disabled` on the pod opts out.
bool is_meshed(const store::Snapshot& snapshot, const store::Object& pod);

// The pod's mesh identity from its service account; nullopt when not meshed.
std::optional<std::string> pod_identity(const store::Snapshot& snapshot, const store::Object& pod,
                                        const tls::IdentityDomain& domain);

// A pod is an endpoint when it has an IP, is Running (or says nothing about its phase), is not
// being deleted and is not reported not-ready (`include_not_ready` for publishNotReadyAddresses).
bool is_ready_endpoint(const store::Object& pod, bool include_not_ready = false);

// The container port a Service targetPort refers to: the number itself, or the port of that name
// in any of the pod's containers.
std::optional<int32_t> resolve_target_port(const resources::PodSpec& spec,
                                           const resources::PortRef& target);

// Whether `port` is opaque for this pod: config.linkerd.io/opaque-ports on the pod, else on its
// namespace, else the default list. Named entries resolve against the pod's container ports.
bool is_opaque_port(const store::Snapshot& snapshot, const store::Object& pod, int32_t port);

// Whether a port list annotation value includes `port` (names resolve through `spec` if given).
bool port_list_contains(std::string_view list, int32_t port,
                        const resources::PodSpec* spec = nullptr);

// The Deployment that owns the pod: from ownerReferences (a ReplicaSet's name minus its
// pod-template-hash), else the pod name minus "-<pod-template-hash>-<suffix>"; "" if unknown.
std::string deployment_of(const store::Object& pod);

// Metric labels of an endpoint backed by `pod` (proxies emit them as dst_<key>).
std::map<std::string, std::string> pod_metric_labels(const store::Object& pod);

}  // namespace trellis::control::destination
