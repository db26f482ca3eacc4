#pragma once
// Kubernetes core kinds Trellis reads: workloads, services and their endpoints.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node. The forms keep what
// the control plane (discovery, injection, policy) and the local runtime (pods, probes,
// Deployment reconciliation, autoscaling) need; fields Kubernetes has but Trellis does not use
// are accepted and skipped so unknown fields are still caught.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/duration.h"
#include "base/quantity.h"
#include "base/result.h"
#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

enum class PortProtocol { kTcp, kUdp, kSctp };
const char* port_protocol_name(PortProtocol p);

// A reference to another object (Endpoints/EndpointSlice targetRef, ServiceAccount secrets).
struct CoreObjectRef {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
};

// ---- linkerd.io/inject and config.linkerd.io/* annotations ----

enum class InjectMode { kEnabled, kDisabled, kIngress };

// The `linkerd.io/inject` value in `annotations`, when present and valid.
std::optional<InjectMode> inject_mode(const std::map<std::string, std::string>& annotations);

// Where a set of annotations sits; decides which annotations have an effect there.
enum class AnnotationSite { kNamespace, kPod, kPodTemplate, kWorkload, kService };

// Validates linkerd.io/inject and config.linkerd.io/* values in `<object>.metadata.annotations`,
// where `object` is a document root or a pod template node. Bad values are errors on the
// annotation's path; config.linkerd.io keys that do not exist are warnings with a suggestion,
// and inject on a Service is a warning (it has no effect there). Reads the raw YAML so that the
// metadata map, already decoded, is not decoded (and its problems reported) twice.
void check_linkerd_annotations(const Node& object, AnnotationSite site);

// An inclusive port range; a single port has first == last. `name` is set instead for a named
// port (only where names are allowed, e.g. opaque-ports).
struct PortListEntry {
  int32_t first = 0;
  int32_t last = 0;
  std::string name;
};
// Parses a Linkerd port list ("25,443,8000-8100", optionally with port names). An empty
// string is an empty list (an opaque-ports override to none).
base::Result<std::vector<PortListEntry>, std::string> parse_port_list(std::string_view text,
                                                                 bool allow_names);

// ---- Namespace (v1) ----

struct Namespace {
  std::vector<std::string> finalizers;
  std::optional<InjectMode> inject;  // pods without their own annotation inherit this
};

// ---- Service (v1) ----

enum class ServiceType { kClusterIp, kNodePort, kLoadBalancer, kExternalName };

struct ServicePort {
  std::string name;  // required when the Service has more than one port
  int32_t port = 0;
  PortRef target_port;  // defaults to `port`; a name resolves against each pod's container ports
  PortProtocol protocol = PortProtocol::kTcp;
  std::string app_protocol;  // e.g. "http", "kubernetes.io/h2c", "linkerd.io/opaque"
  std::optional<int32_t> node_port;
};

struct Service {
  ServiceType type = ServiceType::kClusterIp;
  bool headless = false;  // clusterIP: None -> DNS returns pod addresses, no virtual IP
  std::optional<base::IpAddress> cluster_ip;  // unset: to be allocated
  std::vector<base::IpAddress> cluster_ips;   // dual-stack; [0] equals cluster_ip
  std::vector<ServicePort> ports;
  // Pods matched by these labels are the endpoints. An empty selector means endpoints are
  // managed by hand (Endpoints/EndpointSlice objects), as for mirrored or external services.
  std::map<std::string, std::string> selector;
  std::string external_name;  // type ExternalName: a DNS CNAME, no proxying by endpoints
  bool session_affinity_client_ip = false;
  bool external_traffic_local = false;  // externalTrafficPolicy: Local
  bool internal_traffic_local = false;  // internalTrafficPolicy: Local
  bool publish_not_ready_addresses = false;
  std::vector<base::IpAddress> external_ips;
  std::vector<base::Cidr> load_balancer_source_ranges;
};

// ---- Endpoints (v1) ----

struct EndpointAddress {
  base::IpAddress ip;
  std::string hostname;
  std::string node_name;
  std::optional<CoreObjectRef> target_ref;  // usually the Pod
};

struct EndpointPort {
  std::string name;  // matches the Service port name
  int32_t port = 0;
  PortProtocol protocol = PortProtocol::kTcp;
  std::string app_protocol;
};

struct EndpointSubset {
  std::vector<EndpointAddress> addresses;
  std::vector<EndpointAddress> not_ready_addresses;
  std::vector<EndpointPort> ports;
};

struct Endpoints {
  std::vector<EndpointSubset> subsets;
};

// ---- EndpointSlice (discovery.k8s.io v1, v1beta1) ----

enum class AddressType { kIpv4, kIpv6, kFqdn };

struct EndpointConditions {
  // Kubernetes says consumers should read an unset ready/serving as true.
  bool ready = true;
  bool serving = true;  // defaults to `ready` when unset
  bool terminating = false;
};

struct SliceEndpoint {
  std::vector<std::string> addresses;  // per address_type; consumers use the first
  EndpointConditions conditions;
  std::string hostname;
  std::string node_name;
  std::string zone;  // v1 zone, or v1beta1 topology["topology.kubernetes.io/zone"]
  std::optional<CoreObjectRef> target_ref;
  std::vector<std::string> hint_zones;  // topology-aware routing hints
  std::vector<std::string> hint_nodes;
};

struct SlicePort {
  std::string name;
  std::optional<int32_t> port;  // unset: all ports
  PortProtocol protocol = PortProtocol::kTcp;
  std::string app_protocol;
};

struct EndpointSlice {
  AddressType address_type = AddressType::kIpv4;
  std::string service_name;  // label kubernetes.io/service-name: the Service it belongs to
  std::vector<SliceEndpoint> endpoints;
  std::vector<SlicePort> ports;
};

// ---- Pods and pod templates ----

struct ContainerPort {
  std::string name;
  int32_t container_port = 0;
  PortProtocol protocol = PortProtocol::kTcp;
  std::optional<int32_t> host_port;
  std::string host_ip;
};

struct EnvVar {
  std::string name;
  std::string value;
  bool value_from = false;  // valueFrom (secret, field, resource refs) kept opaque for now
};

enum class ProbeHandler { kHttpGet, kTcpSocket, kExec, kGrpc };

struct ProbeHttpHeader {
  std::string name;
  std::string value;
};

struct Probe {
  ProbeHandler handler = ProbeHandler::kHttpGet;
  // httpGet / tcpSocket / grpc: the port; a name refers to one of the container's ports.
  PortRef port;
  std::string host;            // httpGet / tcpSocket; empty = the pod IP
  std::string path = "/";      // httpGet
  std::string scheme = "HTTP";  // httpGet: HTTP or HTTPS
  std::vector<ProbeHttpHeader> http_headers;
  std::vector<std::string> command;  // exec
  std::string grpc_service;          // grpc health service name
  base::Duration initial_delay{0};
  base::Duration period = std::chrono::seconds(10);
  base::Duration timeout = std::chrono::seconds(1);
  int32_t success_threshold = 1;
  int32_t failure_threshold = 3;
  std::optional<base::Duration> termination_grace_period;  // probe-level override
};

struct ResourceRequirements {
  std::map<std::string, base::Quantity> requests;  // "cpu" in milli-cores, "memory" in milli-bytes
  std::map<std::string, base::Quantity> limits;
};

struct Container {
  std::string name;
  std::string image;  // informational for the local runtime, which runs command/args
  std::string image_pull_policy;  // Always, IfNotPresent, Never; defaulted from the tag
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<EnvVar> env;
  std::vector<ContainerPort> ports;
  std::optional<Probe> readiness_probe;
  std::optional<Probe> liveness_probe;
  std::optional<Probe> startup_probe;
  ResourceRequirements resources;
  // Init containers only: restartPolicy: Always makes a native sidecar that keeps running
  // alongside the main containers (how the proxy is injected on Kubernetes >= 1.29).
  bool sidecar = false;
};

enum class RestartPolicy { kAlways, kOnFailure, kNever };

struct PodSpec {
  std::vector<Container> containers;
  std::vector<Container> init_containers;
  std::string service_account_name = "default";  // the pod's mesh identity
  RestartPolicy restart_policy = RestartPolicy::kAlways;
  base::Duration termination_grace_period = std::chrono::seconds(30);
  // Host-network pods share the node's network namespace: they cannot be injected.
  bool host_network = false;
};

struct PodTemplate {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<InjectMode> inject;
  PodSpec spec;
};

struct Pod {
  std::optional<InjectMode> inject;  // from the Pod's own annotations
  PodSpec spec;
};

// ---- Deployment (apps/v1) ----

// Kubernetes IntOrString for rollout bounds: an absolute count or a percentage of replicas.
struct IntOrPercent {
  int64_t value = 0;
  bool percent = false;
  // The count for `replicas`; percentages round up for maxSurge and down for maxUnavailable.
  int64_t resolve(int64_t replicas, bool round_up) const;
};

enum class DeploymentStrategy { kRollingUpdate, kRecreate };

struct Deployment {
  int32_t replicas = 1;
  LabelSelector selector;
  PodTemplate pod_template;
  DeploymentStrategy strategy = DeploymentStrategy::kRollingUpdate;
  IntOrPercent max_surge{25, true};
  IntOrPercent max_unavailable{25, true};
  base::Duration min_ready{0};
  int32_t revision_history_limit = 10;
  base::Duration progress_deadline = std::chrono::seconds(600);
  bool paused = false;
};

// ---- ServiceAccount (v1) ----

struct ServiceAccount {
  std::optional<bool> automount_token;  // unset: the pod spec decides (default true)
  std::vector<std::string> secrets;
  std::vector<std::string> image_pull_secrets;
};

// ---- HorizontalPodAutoscaler (autoscaling v1, v2beta2, v2) ----

struct CrossVersionObjectReference {
  std::string api_version;
  std::string kind;
  std::string name;
};

enum class MetricSourceType { kResource, kContainerResource, kPods, kObject, kExternal };
enum class MetricTargetType { kUtilization, kValue, kAverageValue };

// One autoscaling metric; the selectors and described objects of custom metrics are not
// modelled (the local runtime scales on resource metrics only).
struct HpaMetric {
  MetricSourceType type = MetricSourceType::kResource;
  std::string name;       // resource name ("cpu") or custom metric name
  std::string container;  // ContainerResource only
  MetricTargetType target_type = MetricTargetType::kUtilization;
  std::optional<int32_t> average_utilization;  // percent of the request
  std::optional<base::Quantity> value;
  std::optional<base::Quantity> average_value;
};

struct HorizontalPodAutoscaler {
  CrossVersionObjectReference scale_target_ref;
  int32_t min_replicas = 1;
  int32_t max_replicas = 0;
  // v1's targetCPUUtilizationPercentage becomes one Resource cpu metric; with no metrics at all
  // Kubernetes scales on 80% average CPU utilization, and so does this form.
  std::vector<HpaMetric> metrics;
};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Namespace& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Service& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Endpoints& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, EndpointSlice& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Pod& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Deployment& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ServiceAccount& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, HorizontalPodAutoscaler& out);

}  // namespace trellis::resources
