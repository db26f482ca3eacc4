#pragma once
// The injection decision for one pod template (linkerd.md §7, contract C-8): whether the proxy
// is added and why, and everything the sidecar needs — proxy environment (TRELLIS_PROXY_*,
// contract C-6), identity, ports, UID, `trellis-proxy init` arguments, resource hints. The same
// plan drives `trellis inject --manual`, the local runtime and (later) the Kubernetes webhook.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "resources/core.h"

namespace trellis::inject {

inline constexpr uint16_t kInboundPort = 4143;
inline constexpr uint16_t kOutboundPort = 4140;
inline constexpr uint16_t kAdminPort = 4191;
inline constexpr uint16_t kControlPort = 4190;  // tap
inline constexpr int64_t kProxyUid = 2102;
// Linkerd's proxyInit.ignoreInboundPorts / ignoreOutboundPorts chart default.
inline constexpr const char* kDefaultIgnoredPorts = "4567,4568";
// Linkerd's default opaque ports (proxy.opaquePorts).
inline constexpr const char* kDefaultOpaquePorts = "25,587,3306,4444,5432,6379,9300,11211";

inline constexpr const char* kInjectAnnotation = "linkerd.io/inject";
inline constexpr const char* kConfigPrefix = "config.linkerd.io/";
// Names of what a manual injection adds to a pod spec; uninject also removes Linkerd's own.
inline constexpr const char* kInitContainerName = "trellis-init";
inline constexpr const char* kProxyContainerName = "trellis-proxy";

// Cluster-wide settings (flags of the CLI / runtime / control plane), not per workload.
struct InjectOptions {
  std::string control_namespace = "linkerd";
  std::string trust_domain = "cluster.local";
  std::string cluster_domain = "cluster.local";
  std::string control_addr;      // empty: the proxy gets no control plane (C-6 control-addr)
  std::string control_identity;  // empty: trellis-control.<control-ns>.serviceaccount...
  std::string identity_token_file = "/var/run/trellis/identity/token";
  std::string trust_anchors_file = "/var/run/trellis/trust-anchors/ca-bundle.crt";
  std::string pod_name;  // when known (the runtime), TRELLIS_PROXY_POD_NAME
  std::string proxy_image = "trellis-proxy";
  std::string proxy_version = "0.1.0";
  std::string created_by = "trellis/cli 0.1.0";
};

// The workload whose pod template is being planned, for messages, labels and identity.
struct WorkloadRef {
  std::string kind;  // "Deployment", "Pod", "StatefulSet", ...
  std::string name;
  std::string ns;                // effective namespace ("default" when unset)
  std::string describe() const;  // "Deployment/emojivoto/web"
};

struct PodTemplateInput {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  resources::PodSpec spec;
};

struct NamespaceInput {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// Proxy resource requests/limits as written in config.linkerd.io/proxy-* annotations.
struct ResourceHints {
  std::map<std::string, std::string> requests;  // "cpu" -> "100m", "memory" -> "20Mi", ...
  std::map<std::string, std::string> limits;
};

struct InjectionPlan {
  bool inject = false;
  std::string reason;  // why (not): "linkerd.io/inject: enabled on the namespace" ...
  resources::InjectMode mode = resources::InjectMode::kDisabled;

  std::string service_account;
  std::string identity;  // <sa>.<ns>.serviceaccount.identity.<control-ns>.<trust-domain>
  int64_t proxy_uid = kProxyUid;
  std::optional<int64_t> proxy_gid;
  uint16_t inbound_port = kInboundPort;
  uint16_t outbound_port = kOutboundPort;
  uint16_t admin_port = kAdminPort;
  uint16_t control_port = kControlPort;

  std::string opaque_ports;        // resolved to numbers: "25,587,8080"
  std::string skip_inbound_ports;  // as given to `trellis-proxy init`
  std::string skip_outbound_ports;
  std::string skip_subnets;
  std::string log_level = "info";  // the proxy's level (see plan.cc for Linkerd's syntax)
  std::string default_inbound_policy = "all-unauthenticated";
  bool await = true;  // the app starts only after the proxy is ready
  ResourceHints resources;

  // TRELLIS_PROXY_* variables for the proxy, in a stable order.
  std::vector<std::pair<std::string, std::string>> proxy_env;
  // Arguments after `trellis-proxy init`.
  std::vector<std::string> init_args;
  // What injection adds to the pod's metadata (Linkerd's labels and annotations).
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// Decides and fills the plan. Annotations on the pod template win over the namespace's.
// Errors (bad config.linkerd.io values, an unknown named opaque port, a service account that
// cannot form an identity) name the annotation and the workload, one problem per line.
base::Result<InjectionPlan, std::string> plan(const WorkloadRef& workload,
                                              const PodTemplateInput& pod, const NamespaceInput& ns,
                                              const InjectOptions& options);

}  // namespace trellis::inject
