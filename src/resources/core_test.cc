// Tests of the Kubernetes core kinds: the internal form of valid manifests for every kind and
// version (defaults, conversions), the warnings for things that work but do nothing, the
// linkerd annotation checks, and a table of bad inputs with the exact diagnostics they produce.

#include "resources/core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::StartsWith;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::decode_yaml;
using std::chrono::seconds;

base::IpAddress ip(std::string_view text) { return *base::IpAddress::parse(text); }
base::Quantity milli(int64_t m) { return base::Quantity{m}; }

// ---------------------------------------------------------------------------------------------
// Namespace

TEST(CoreNamespace, DecodesInjectAndFinalizers) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
  annotations:
    linkerd.io/inject: enabled
    config.linkerd.io/opaque-ports: "25,3306,8000-8100"
    config.linkerd.io/default-inbound-policy: cluster-authenticated
spec:
  finalizers: [kubernetes, example.com/cleanup]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Namespace* ns = r.first<Namespace>();
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->inject, InjectMode::kEnabled);
  EXPECT_THAT(ns->finalizers, ElementsAre("kubernetes", "example.com/cleanup"));
}

TEST(CoreNamespace, WithoutSpecOrAnnotations) {
  auto r = decode_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}\n");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Namespace* ns = r.first<Namespace>();
  ASSERT_NE(ns, nullptr);
  EXPECT_FALSE(ns->inject.has_value());
  EXPECT_THAT(ns->finalizers, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Service

TEST(CoreService, ClusterIpWithNamedPorts) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Service
metadata:
  name: web-svc
  namespace: emojivoto
  annotations:
    config.linkerd.io/opaque-ports: "3306"
spec:
  clusterIP: 10.96.0.10
  selector:
    app: web-svc
  ports:
  - name: http
    port: 80
    targetPort: http
    appProtocol: kubernetes.io/h2c
  - name: grpc
    port: 8080
    protocol: TCP
  - name: dns
    port: 53
    targetPort: 5353
    protocol: UDP
  sessionAffinity: ClientIP
  internalTrafficPolicy: Local
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Service* svc = r.first<Service>();
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->type, ServiceType::kClusterIp);
  EXPECT_FALSE(svc->headless);
  ASSERT_TRUE(svc->cluster_ip.has_value());
  EXPECT_EQ(*svc->cluster_ip, ip("10.96.0.10"));
  EXPECT_THAT(svc->cluster_ips, ElementsAre(ip("10.96.0.10")));
  EXPECT_EQ(svc->selector, (std::map<std::string, std::string>{{"app", "web-svc"}}));
  ASSERT_EQ(svc->ports.size(), 3u);
  EXPECT_EQ(svc->ports[0].name, "http");
  EXPECT_EQ(svc->ports[0].port, 80);
  EXPECT_FALSE(svc->ports[0].target_port.is_number());
  EXPECT_EQ(svc->ports[0].target_port.name(), "http");
  EXPECT_EQ(svc->ports[0].protocol, PortProtocol::kTcp);
  EXPECT_EQ(svc->ports[0].app_protocol, "kubernetes.io/h2c");
  // targetPort defaults to port
  EXPECT_TRUE(svc->ports[1].target_port.is_number());
  EXPECT_EQ(svc->ports[1].target_port.number(), 8080);
  EXPECT_FALSE(svc->ports[1].node_port.has_value());
  EXPECT_EQ(svc->ports[2].target_port.number(), 5353);
  EXPECT_EQ(svc->ports[2].protocol, PortProtocol::kUdp);
  EXPECT_TRUE(svc->session_affinity_client_ip);
  EXPECT_TRUE(svc->internal_traffic_local);
  EXPECT_FALSE(svc->external_traffic_local);
}

TEST(CoreService, SeedServiceWithOneUnnamedPortAndDefaults) {
  // seed 002, service-v2.yaml
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Service
metadata:
  name: my-app
  namespace: default
spec:
  selector:
    app: my-app
    version: v2
  ports:
  - protocol: TCP
    port: 80
    targetPort: 8080
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Service* svc = r.first<Service>();
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->type, ServiceType::kClusterIp);
  EXPECT_FALSE(svc->cluster_ip.has_value());
  EXPECT_THAT(svc->cluster_ips, IsEmpty());
  ASSERT_EQ(svc->ports.size(), 1u);
  EXPECT_EQ(svc->ports[0].name, "");
  EXPECT_EQ(svc->ports[0].target_port.number(), 8080);
  EXPECT_FALSE(svc->session_affinity_client_ip);
  EXPECT_FALSE(svc->publish_not_ready_addresses);
}

TEST(CoreService, HeadlessWithoutPorts) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  publishNotReadyAddresses: true
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Service* svc = r.first<Service>();
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(svc->headless);
  EXPECT_FALSE(svc->cluster_ip.has_value());
  EXPECT_THAT(svc->ports, IsEmpty());
  EXPECT_TRUE(svc->publish_not_ready_addresses);
}

TEST(CoreService, ExternalName) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Service
metadata: {name: upstream}
spec:
  type: ExternalName
  externalName: api.example.com.
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Service* svc = r.first<Service>();
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->type, ServiceType::kExternalName);
  EXPECT_EQ(svc->external_name, "api.example.com.");
  EXPECT_THAT(svc->ports, IsEmpty());
}

TEST(CoreService, LoadBalancerDualStack) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Service
metadata: {name: gateway}
spec:
  type: LoadBalancer
  clusterIP: 10.96.1.1
  clusterIPs: [10.96.1.1, "fd00::1"]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: RequireDualStack
  externalTrafficPolicy: Local
  externalIPs: [192.0.2.10]
  loadBalancerSourceRanges: [10.0.0.0/8, 192.168.0.0/16]
  selector: {app: gateway}
  ports:
  - {name: mc-gateway, port: 4143, nodePort: 30143}
  - {name: mc-probe, port: 4191}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Service* svc = r.first<Service>();
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->type, ServiceType::kLoadBalancer);
  EXPECT_THAT(svc->cluster_ips, ElementsAre(ip("10.96.1.1"), ip("fd00::1")));
  EXPECT_TRUE(svc->external_traffic_local);
  EXPECT_THAT(svc->external_ips, ElementsAre(ip("192.0.2.10")));
  ASSERT_EQ(svc->load_balancer_source_ranges.size(), 2u);
  EXPECT_EQ(svc->load_balancer_source_ranges[1].to_string(), "192.168.0.0/16");
  EXPECT_EQ(svc->ports[0].node_port, 30143);
  EXPECT_FALSE(svc->ports[1].node_port.has_value());
}

TEST(CoreService, WarnsAboutThingsWithoutEffect) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    linkerd.io/inject: enabled
spec:
  externalName: api.example.com
  ports: [{port: 80}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("metadata.annotations[\"linkerd.io/inject\"]: has no effect on a "
                          "Service: the proxy injector reads pod templates and namespaces; put it "
                          "on the workload's spec.template.metadata.annotations or on the "
                          "Namespace",
                          "spec.externalName: has no effect unless type is ExternalName"));
}

// ---------------------------------------------------------------------------------------------
// Endpoints

TEST(CoreEndpoints, DecodesSubsets) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: emojivoto}
subsets:
- addresses:
  - ip: 10.1.0.5
    hostname: web-0
    nodeName: node-a
    targetRef: {kind: Pod, name: web-0, namespace: emojivoto, uid: abc-123}
  notReadyAddresses:
  - ip: 10.1.0.6
  ports:
  - {name: http, port: 8080}
  - {name: grpc, port: 8081, protocol: TCP, appProtocol: kubernetes.io/h2c}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Endpoints* ep = r.first<Endpoints>();
  ASSERT_NE(ep, nullptr);
  ASSERT_EQ(ep->subsets.size(), 1u);
  const EndpointSubset& s = ep->subsets[0];
  ASSERT_EQ(s.addresses.size(), 1u);
  EXPECT_EQ(s.addresses[0].ip, ip("10.1.0.5"));
  EXPECT_EQ(s.addresses[0].hostname, "web-0");
  EXPECT_EQ(s.addresses[0].node_name, "node-a");
  ASSERT_TRUE(s.addresses[0].target_ref.has_value());
  EXPECT_EQ(s.addresses[0].target_ref->kind, "Pod");
  EXPECT_EQ(s.addresses[0].target_ref->name, "web-0");
  EXPECT_EQ(s.addresses[0].target_ref->ns, "emojivoto");
  EXPECT_EQ(s.addresses[0].target_ref->uid, "abc-123");
  ASSERT_EQ(s.not_ready_addresses.size(), 1u);
  EXPECT_EQ(s.not_ready_addresses[0].ip, ip("10.1.0.6"));
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[1].name, "grpc");
  EXPECT_EQ(s.ports[1].port, 8081);
  EXPECT_EQ(s.ports[1].app_protocol, "kubernetes.io/h2c");
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice

TEST(CoreEndpointSlice, V1) {
  auto r = decode_yaml(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: emojivoto
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: [10.1.0.5]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-a
  zone: us-east-1a
  hostname: web-0
  targetRef: {kind: Pod, name: web-0, namespace: emojivoto}
  hints:
    forZones: [{name: us-east-1a}]
- addresses: [10.1.0.6]
  conditions: {ready: false, terminating: true}
- addresses: [10.1.0.7]
ports:
- {name: http, port: 8080, protocol: TCP, appProtocol: http}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const EndpointSlice* es = r.first<EndpointSlice>();
  ASSERT_NE(es, nullptr);
  EXPECT_EQ(es->address_type, AddressType::kIpv4);
  EXPECT_EQ(es->service_name, "web");
  ASSERT_EQ(es->endpoints.size(), 3u);
  const SliceEndpoint& e0 = es->endpoints[0];
  EXPECT_THAT(e0.addresses, ElementsAre("10.1.0.5"));
  EXPECT_TRUE(e0.conditions.ready);
  EXPECT_EQ(e0.node_name, "node-a");
  EXPECT_EQ(e0.zone, "us-east-1a");
  EXPECT_EQ(e0.hostname, "web-0");
  EXPECT_THAT(e0.hint_zones, ElementsAre("us-east-1a"));
  ASSERT_TRUE(e0.target_ref.has_value());
  EXPECT_EQ(e0.target_ref->name, "web-0");
  // serving defaults to ready; terminating as written
  EXPECT_FALSE(es->endpoints[1].conditions.ready);
  EXPECT_FALSE(es->endpoints[1].conditions.serving);
  EXPECT_TRUE(es->endpoints[1].conditions.terminating);
  // no conditions: ready and serving, not terminating
  EXPECT_TRUE(es->endpoints[2].conditions.ready);
  EXPECT_TRUE(es->endpoints[2].conditions.serving);
  EXPECT_FALSE(es->endpoints[2].conditions.terminating);
  ASSERT_EQ(es->ports.size(), 1u);
  EXPECT_EQ(es->ports[0].port, 8080);
  EXPECT_EQ(es->ports[0].app_protocol, "http");
}

TEST(CoreEndpointSlice, V1beta1TopologyBecomesZoneAndNode) {
  auto r = decode_yaml(R"(
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata:
  name: web-abc12
  labels: {kubernetes.io/service-name: web}
addressType: IPv6
endpoints:
- addresses: ["fd00::5"]
  topology:
    kubernetes.io/hostname: node-b
    topology.kubernetes.io/zone: eu-west-1c
ports:
- name: ""
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: discovery.k8s.io/v1beta1 EndpointSlice is deprecated; use "
                          "discovery.k8s.io/v1"));
  const EndpointSlice* es = r.first<EndpointSlice>();
  ASSERT_NE(es, nullptr);
  EXPECT_EQ(es->address_type, AddressType::kIpv6);
  ASSERT_EQ(es->endpoints.size(), 1u);
  EXPECT_EQ(es->endpoints[0].zone, "eu-west-1c");
  EXPECT_EQ(es->endpoints[0].node_name, "node-b");
  ASSERT_EQ(es->ports.size(), 1u);
  EXPECT_FALSE(es->ports[0].port.has_value());  // all ports
}

TEST(CoreEndpointSlice, FqdnAndMissingServiceLabel) {
  auto r = decode_yaml(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext}
addressType: FQDN
endpoints:
- addresses: [api.example.com]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("metadata.labels: has no kubernetes.io/service-name label, so the slice "
                          "belongs to no Service and discovery ignores it"));
  const EndpointSlice* es = r.first<EndpointSlice>();
  ASSERT_NE(es, nullptr);
  EXPECT_EQ(es->address_type, AddressType::kFqdn);
  EXPECT_EQ(es->service_name, "");
  EXPECT_THAT(es->endpoints[0].addresses, ElementsAre("api.example.com"));
}

// ---------------------------------------------------------------------------------------------
// Pod

TEST(CorePod, FullContainerModel) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: emojivoto
  annotations:
    linkerd.io/inject: ingress
    config.linkerd.io/skip-inbound-ports: "4222, 6222-6224"
    config.linkerd.io/skip-subnets: 10.0.0.0/8,fd00::/8
    config.linkerd.io/proxy-cpu-limit: 500m
    config.linkerd.io/proxy-log-level: warn,linkerd=debug
    config.linkerd.io/proxy-outbound-connect-timeout: 1500ms
    config.linkerd.io/enable-debug-sidecar: "true"
    config.linkerd.io/proxy-await: enabled
    config.linkerd.io/proxy-uid: "2102"
    config.linkerd.io/admin-port: "4191"
spec:
  serviceAccountName: web
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 5
  nodeSelector: {kubernetes.io/os: linux}
  volumes: [{name: data, emptyDir: {}}]
  initContainers:
  - name: proxy
    image: ghcr.io/trellis/proxy:v1
    restartPolicy: Always
    startupProbe:
      httpGet: {path: /ready, port: 4191}
      periodSeconds: 1
      failureThreshold: 120
  containers:
  - name: web
    image: buoyantio/emojivoto-web:v11
    command: [/app/web]
    args: [--addr, ":8080"]
    workingDir: /app
    env:
    - {name: WEB_PORT, value: "8080"}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    ports:
    - {name: http, containerPort: 8080}
    - {name: metrics, containerPort: 9090, protocol: TCP, hostPort: 19090}
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
        scheme: HTTPS
        httpHeaders: [{name: X-Probe, value: kubelet}]
      initialDelaySeconds: 2
      periodSeconds: 5
      timeoutSeconds: 3
      successThreshold: 2
      failureThreshold: 4
    livenessProbe:
      tcpSocket: {port: 8080}
      terminationGracePeriodSeconds: 7
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: "1", memory: 128Mi, example.com/gpu: 1}
    securityContext: {runAsUser: 1000}
    volumeMounts: [{name: data, mountPath: /data}]
  - name: worker
    image: busybox
    command: [sh, -c, sleep 1d]
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
    readinessProbe:
      grpc: {port: 9000, service: health}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Pod* pod = r.first<Pod>();
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->inject, InjectMode::kIngress);
  const PodSpec& s = pod->spec;
  EXPECT_EQ(s.service_account_name, "web");
  EXPECT_EQ(s.restart_policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(s.termination_grace_period, seconds(5));
  EXPECT_FALSE(s.host_network);

  ASSERT_EQ(s.init_containers.size(), 1u);
  const Container& proxy = s.init_containers[0];
  EXPECT_TRUE(proxy.sidecar);
  ASSERT_TRUE(proxy.startup_probe.has_value());
  EXPECT_EQ(proxy.startup_probe->handler, ProbeHandler::kHttpGet);
  EXPECT_EQ(proxy.startup_probe->path, "/ready");
  EXPECT_EQ(proxy.startup_probe->port.number(), 4191);
  EXPECT_EQ(proxy.startup_probe->scheme, "HTTP");
  EXPECT_EQ(proxy.startup_probe->period, seconds(1));
  EXPECT_EQ(proxy.startup_probe->failure_threshold, 120);
  EXPECT_EQ(proxy.image_pull_policy, "IfNotPresent");

  ASSERT_EQ(s.containers.size(), 2u);
  const Container& web = s.containers[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.image, "buoyantio/emojivoto-web:v11");
  EXPECT_FALSE(web.sidecar);
  EXPECT_THAT(web.command, ElementsAre("/app/web"));
  EXPECT_THAT(web.args, ElementsAre("--addr", ":8080"));
  EXPECT_EQ(web.working_dir, "/app");
  ASSERT_EQ(web.env.size(), 2u);
  EXPECT_EQ(web.env[0].name, "WEB_PORT");
  EXPECT_EQ(web.env[0].value, "8080");
  EXPECT_FALSE(web.env[0].value_from);
  EXPECT_EQ(web.env[1].name, "POD_IP");
  EXPECT_TRUE(web.env[1].value_from);
  ASSERT_EQ(web.ports.size(), 2u);
  EXPECT_EQ(web.ports[0].name, "http");
  EXPECT_EQ(web.ports[0].container_port, 8080);
  EXPECT_EQ(web.ports[0].protocol, PortProtocol::kTcp);
  EXPECT_FALSE(web.ports[0].host_port.has_value());
  EXPECT_EQ(web.ports[1].host_port, 19090);

  ASSERT_TRUE(web.readiness_probe.has_value());
  const Probe& rp = *web.readiness_probe;
  EXPECT_EQ(rp.handler, ProbeHandler::kHttpGet);
  EXPECT_EQ(rp.path, "/healthz");
  EXPECT_EQ(rp.port.name(), "http");
  EXPECT_EQ(rp.scheme, "HTTPS");
  ASSERT_EQ(rp.http_headers.size(), 1u);
  EXPECT_EQ(rp.http_headers[0].name, "X-Probe");
  EXPECT_EQ(rp.http_headers[0].value, "kubelet");
  EXPECT_EQ(rp.initial_delay, seconds(2));
  EXPECT_EQ(rp.period, seconds(5));
  EXPECT_EQ(rp.timeout, seconds(3));
  EXPECT_EQ(rp.success_threshold, 2);
  EXPECT_EQ(rp.failure_threshold, 4);

  ASSERT_TRUE(web.liveness_probe.has_value());
  const Probe& lp = *web.liveness_probe;
  EXPECT_EQ(lp.handler, ProbeHandler::kTcpSocket);
  EXPECT_EQ(lp.port.number(), 8080);
  // Kubernetes defaults
  EXPECT_EQ(lp.initial_delay, seconds(0));
  EXPECT_EQ(lp.period, seconds(10));
  EXPECT_EQ(lp.timeout, seconds(1));
  EXPECT_EQ(lp.success_threshold, 1);
  EXPECT_EQ(lp.failure_threshold, 3);
  EXPECT_EQ(lp.termination_grace_period, seconds(7));
  EXPECT_FALSE(web.startup_probe.has_value());

  EXPECT_EQ(web.resources.requests.at("cpu"), milli(100));
  EXPECT_EQ(web.resources.requests.at("memory"), milli(64LL * 1024 * 1024 * 1000));
  EXPECT_EQ(web.resources.limits.at("cpu"), milli(1000));
  EXPECT_EQ(web.resources.limits.at("example.com/gpu"), milli(1000));

  const Container& worker = s.containers[1];
  EXPECT_EQ(worker.image_pull_policy, "Always");  // untagged image
  ASSERT_TRUE(worker.liveness_probe.has_value());
  EXPECT_EQ(worker.liveness_probe->handler, ProbeHandler::kExec);
  EXPECT_THAT(worker.liveness_probe->command, ElementsAre("cat", "/tmp/healthy"));
  ASSERT_TRUE(worker.readiness_probe.has_value());
  EXPECT_EQ(worker.readiness_probe->handler, ProbeHandler::kGrpc);
  EXPECT_EQ(worker.readiness_probe->port.number(), 9000);
  EXPECT_EQ(worker.readiness_probe->grpc_service, "health");
}

TEST(CorePod, Defaults) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: app, image: "registry.local:5000/app:latest"}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Pod* pod = r.first<Pod>();
  ASSERT_NE(pod, nullptr);
  EXPECT_FALSE(pod->inject.has_value());
  EXPECT_EQ(pod->spec.service_account_name, "default");
  EXPECT_EQ(pod->spec.restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(pod->spec.termination_grace_period, seconds(30));
  EXPECT_THAT(pod->spec.init_containers, IsEmpty());
  ASSERT_EQ(pod->spec.containers.size(), 1u);
  // the ":5000" is the registry port, not a tag; ":latest" pulls always
  EXPECT_EQ(pod->spec.containers[0].image_pull_policy, "Always");
  EXPECT_TRUE(pod->spec.containers[0].resources.requests.empty());
}

TEST(CorePod, DeprecatedServiceAccountAndHostNetworkWarnings) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {linkerd.io/inject: enabled}
spec:
  serviceAccount: legacy
  hostNetwork: true
  containers:
  - name: app
    image: app:v1
    env:
    - {name: MODE, value: a}
    - {name: MODE, value: b}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.serviceAccount: serviceAccount is deprecated; use "
                          "serviceAccountName",
                          "spec.hostNetwork: pods on the host network are not injected (they share "
                          "the node's network namespace, so traffic cannot be redirected); "
                          "linkerd.io/inject has no effect",
                          "spec.containers[0].env[1].name: duplicate environment variable \"MODE\" "
                          "(also spec.containers[0].env[0].name); the last definition wins"));
  const Pod* pod = r.first<Pod>();
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->spec.service_account_name, "legacy");
  EXPECT_TRUE(pod->spec.host_network);
}

TEST(CorePod, ServiceAccountAndServiceAccountNameEqualAsKubectlPrintsThem) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  serviceAccount: web
  serviceAccountName: web
  containers: [{name: app, image: app:v1}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  EXPECT_EQ(r.first<Pod>()->spec.service_account_name, "web");
}

TEST(CorePod, UnknownLinkerdAnnotationIsAWarningWithSuggestion) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    config.linkerd.io/skip-inbound-port: "25"
    config.linkerd.io/admission-webhooks: disabled
    example.com/unrelated: anything
spec:
  containers: [{name: app, image: app:v1}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(
      r.warnings(),
      ElementsAre("metadata.annotations[\"config.linkerd.io/skip-inbound-port\"]: unknown Linkerd "
                  "annotation \"config.linkerd.io/skip-inbound-port\" (did you mean "
                  "\"config.linkerd.io/skip-inbound-ports\"?); it has no effect",
                  "metadata.annotations[\"config.linkerd.io/admission-webhooks\"]: unknown Linkerd "
                  "annotation \"config.linkerd.io/admission-webhooks\"; it is read from the "
                  "namespace's labels, not its annotations"));
}

TEST(CorePod, DiagnosticsCarryFileLineAndColumn) {
  auto r = decode_yaml(R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    config.linkerd.io/opaque-ports: "80,,81"
spec:
  containers:
  - name: app
    image: app:v1
    ports: [{containerPort: 70000}]
)",
                       "pod.yaml");
  EXPECT_THAT(r.formatted(),
              ElementsAre("pod.yaml:6:37: error: Pod/p: metadata.annotations[\"config.linkerd.io/"
                          "opaque-ports\"]: invalid port list \"80,,81\": empty item",
                          "pod.yaml:11:29: error: Pod/p: spec.containers[0].ports[0]."
                          "containerPort: value 70000 is out of range [1, 65535]"));
}

// ---------------------------------------------------------------------------------------------
// Deployment

// seed 001: the frontend Deployment
constexpr const char* kSeedFrontend = R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  namespace: demo
spec:
  replicas: 3
  selector:
    matchLabels:
      app: frontend
  template:
    metadata:
      labels:
        app: frontend
    spec:
      containers:
      - name: app
        image: ghcr.io/fluxcd/flagger-example/frontend:v0.1.0
        ports:
        - containerPort: 80
)";

TEST(CoreDeployment, SeedFrontendWithDefaults) {
  auto r = decode_yaml(kSeedFrontend);
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Deployment* d = r.first<Deployment>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->replicas, 3);
  EXPECT_EQ(d->selector.match_labels, (std::map<std::string, std::string>{{"app", "frontend"}}));
  EXPECT_EQ(d->pod_template.labels, (std::map<std::string, std::string>{{"app", "frontend"}}));
  EXPECT_FALSE(d->pod_template.inject.has_value());
  ASSERT_EQ(d->pod_template.spec.containers.size(), 1u);
  EXPECT_EQ(d->pod_template.spec.containers[0].ports[0].container_port, 80);
  EXPECT_EQ(d->strategy, DeploymentStrategy::kRollingUpdate);
  EXPECT_EQ(d->max_surge.value, 25);
  EXPECT_TRUE(d->max_surge.percent);
  EXPECT_EQ(d->max_unavailable.value, 25);
  EXPECT_TRUE(d->max_unavailable.percent);
  EXPECT_EQ(d->min_ready, seconds(0));
  EXPECT_EQ(d->revision_history_limit, 10);
  EXPECT_EQ(d->progress_deadline, seconds(600));
  EXPECT_FALSE(d->paused);
  // 25% of 3: surge rounds up to 1, unavailable rounds down to 0
  EXPECT_EQ(d->max_surge.resolve(d->replicas, true), 1);
  EXPECT_EQ(d->max_unavailable.resolve(d->replicas, false), 0);
}

TEST(CoreDeployment, ExplicitStrategyAndExpressions) {
  auto r = decode_yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: emojivoto}
spec:
  replicas: 0
  paused: true
  minReadySeconds: 5
  revisionHistoryLimit: 2
  progressDeadlineSeconds: 120
  selector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: track, operator: In, values: [stable, canary]}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 2, maxUnavailable: "50%"}
  template:
    metadata:
      labels: {app: web, track: canary}
      annotations:
        linkerd.io/inject: enabled
        config.linkerd.io/proxy-memory-limit: 250Mi
    spec:
      containers: [{name: web, image: web:v2}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Deployment* d = r.first<Deployment>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->replicas, 0);
  EXPECT_TRUE(d->paused);
  EXPECT_EQ(d->min_ready, seconds(5));
  EXPECT_EQ(d->revision_history_limit, 2);
  EXPECT_EQ(d->progress_deadline, seconds(120));
  ASSERT_EQ(d->selector.match_expressions.size(), 1u);
  EXPECT_EQ(d->selector.match_expressions[0].op, "In");
  EXPECT_EQ(d->max_surge.value, 2);
  EXPECT_FALSE(d->max_surge.percent);
  EXPECT_EQ(d->max_unavailable.value, 50);
  EXPECT_TRUE(d->max_unavailable.percent);
  EXPECT_EQ(d->max_unavailable.resolve(5, false), 2);
  EXPECT_EQ(d->pod_template.inject, InjectMode::kEnabled);
  EXPECT_EQ(d->pod_template.annotations.at("config.linkerd.io/proxy-memory-limit"), "250Mi");
}

TEST(CoreDeployment, Recreate) {
  auto r = decode_yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_EQ(r.first<Deployment>()->strategy, DeploymentStrategy::kRecreate);
}

// Template 2 of seed 000, indentation restored: both inject annotations, no selector, no
// containers.
constexpr const char* kSeedTemplate2 = R"(
# Automatic injection for namespace
apiVersion: v1
kind: Namespace
metadata:
  name: my-app
  annotations:
    linkerd.io/inject: enabled
---
# Or inject specific deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
  annotations:
    linkerd.io/inject: enabled
spec:
  template:
    metadata:
      annotations:
        linkerd.io/inject: enabled
)";

TEST(CoreDeployment, SeedTemplate2ReportsMissingSelectorAndPodSpec) {
  auto r = decode_yaml(kSeedTemplate2);
  EXPECT_THAT(r.errors(), ElementsAre("spec.selector: missing required field",
                                      "spec.template.spec: missing required field"));
  // The Deployment-level annotation is repeated on the template, so nothing is lost.
  EXPECT_THAT(r.warnings(), IsEmpty());
  ASSERT_NE(r.first<Namespace>(), nullptr);
  EXPECT_EQ(r.first<Namespace>()->inject, InjectMode::kEnabled);
  ASSERT_NE(r.first<Deployment>(), nullptr);
  EXPECT_EQ(r.first<Deployment>()->pod_template.inject, InjectMode::kEnabled);
}

TEST(CoreDeployment, InjectOnDeploymentMetadataOnlyWarns) {
  auto r = decode_yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    linkerd.io/inject: enabled
    config.linkerd.io/proxy-log-level: debug
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {config.linkerd.io/proxy-log-level: info}
    spec: {containers: [{name: web, image: web:v1}]}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(
      r.warnings(),
      ElementsAre("metadata.annotations[\"linkerd.io/inject\"]: has no effect on the Deployment's "
                  "own metadata: the proxy injector reads the pod template and the namespace; put "
                  "it under spec.template.metadata.annotations",
                  "metadata.annotations[\"config.linkerd.io/proxy-log-level\"]: has no effect on "
                  "the Deployment's own metadata: the proxy injector reads the pod template and "
                  "the namespace; the pod template's value \"info\" applies"));
  EXPECT_FALSE(r.first<Deployment>()->pod_template.inject.has_value());
}

// What `kubectl get deployment -o yaml` prints (server-filled defaults, status, null
// timestamps) must decode cleanly, so users can validate what is running.
TEST(CoreDeployment, KubectlGetOutputDecodesCleanly) {
  auto r = decode_yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    deployment.kubernetes.io/revision: "1"
  creationTimestamp: "2024-05-01T10:00:00Z"
  generation: 1
  name: web
  namespace: emojivoto
  resourceVersion: "12345"
  uid: 7d1c2c7e-0000-4000-8000-000000000001
spec:
  progressDeadlineSeconds: 600
  replicas: 1
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app: web-svc
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 25%
    type: RollingUpdate
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web-svc
    spec:
      containers:
      - env:
        - name: WEB_PORT
          value: "8080"
        image: docker.l5d.io/buoyantio/emojivoto-web:v11
        imagePullPolicy: IfNotPresent
        name: web-svc
        ports:
        - containerPort: 8080
          name: http
          protocol: TCP
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      serviceAccount: web
      serviceAccountName: web
      terminationGracePeriodSeconds: 0
status:
  availableReplicas: 1
  observedGeneration: 1
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Deployment* d = r.first<Deployment>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->pod_template.spec.service_account_name, "web");
  EXPECT_EQ(d->pod_template.spec.termination_grace_period, seconds(0));
  EXPECT_EQ(d->pod_template.spec.containers[0].image_pull_policy, "IfNotPresent");
}

TEST(CoreService, Json) {
  auto r = decode_yaml(R"({"apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "web"},
  "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"},
                     {"name": "admin", "port": 9990, "targetPort": 9990}]}})",
                       "svc.json");
  EXPECT_THAT(r.errors(), IsEmpty());
  const Service* svc = r.first<Service>();
  ASSERT_NE(svc, nullptr);
  ASSERT_EQ(svc->ports.size(), 2u);
  EXPECT_EQ(svc->ports[0].target_port.name(), "http");
  EXPECT_EQ(svc->ports[1].target_port.number(), 9990);
}

// ---------------------------------------------------------------------------------------------
// ServiceAccount

TEST(CoreServiceAccount, Decodes) {
  auto r = decode_yaml(R"(
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: emojivoto}
automountServiceAccountToken: false
secrets: [{name: web-token-abcde}]
imagePullSecrets: [{name: regcred}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const ServiceAccount* sa = r.first<ServiceAccount>();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->automount_token, false);
  EXPECT_THAT(sa->secrets, ElementsAre("web-token-abcde"));
  EXPECT_THAT(sa->image_pull_secrets, ElementsAre("regcred"));

  auto bare = decode_yaml("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n");
  EXPECT_THAT(bare.errors(), IsEmpty());
  EXPECT_FALSE(bare.first<ServiceAccount>()->automount_token.has_value());
}

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler

TEST(CoreHpa, V1TargetCpuBecomesAMetric) {
  auto r = decode_yaml(R"(
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: frontend, namespace: demo}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: frontend}
  minReplicas: 2
  maxReplicas: 10
  targetCPUUtilizationPercentage: 60
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HorizontalPodAutoscaler* h = r.first<HorizontalPodAutoscaler>();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->scale_target_ref.api_version, "apps/v1");
  EXPECT_EQ(h->scale_target_ref.kind, "Deployment");
  EXPECT_EQ(h->scale_target_ref.name, "frontend");
  EXPECT_EQ(h->min_replicas, 2);
  EXPECT_EQ(h->max_replicas, 10);
  ASSERT_EQ(h->metrics.size(), 1u);
  EXPECT_EQ(h->metrics[0].type, MetricSourceType::kResource);
  EXPECT_EQ(h->metrics[0].name, "cpu");
  EXPECT_EQ(h->metrics[0].target_type, MetricTargetType::kUtilization);
  EXPECT_EQ(h->metrics[0].average_utilization, 60);
}

TEST(CoreHpa, DefaultsToEightyPercentCpu) {
  auto r = decode_yaml(R"(
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  const HorizontalPodAutoscaler* h = r.first<HorizontalPodAutoscaler>();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->min_replicas, 1);
  ASSERT_EQ(h->metrics.size(), 1u);
  EXPECT_EQ(h->metrics[0].name, "cpu");
  EXPECT_EQ(h->metrics[0].average_utilization, 80);
}

constexpr const char* kHpaV2Body = R"(
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 20
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 500Mi}}
  - type: ContainerResource
    containerResource:
      name: cpu
      container: app
      target: {type: Utilization, averageUtilization: 70}
  - type: Pods
    pods:
      metric: {name: requests_per_second, selector: {matchLabels: {verb: GET}}}
      target: {type: AverageValue, averageValue: "100"}
  - type: Object
    object:
      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}
      metric: {name: requests}
      target: {type: Value, value: 10k}
  - type: External
    external:
      metric: {name: queue_depth}
      target: {type: Value, value: 30}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 300}
)";

TEST(CoreHpa, V2Metrics) {
  auto r = decode_yaml(std::string("apiVersion: autoscaling/v2\n") + kHpaV2Body);
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HorizontalPodAutoscaler* h = r.first<HorizontalPodAutoscaler>();
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->metrics.size(), 5u);
  EXPECT_EQ(h->metrics[0].type, MetricSourceType::kResource);
  EXPECT_EQ(h->metrics[0].name, "memory");
  EXPECT_EQ(h->metrics[0].target_type, MetricTargetType::kAverageValue);
  EXPECT_EQ(h->metrics[0].average_value, milli(500LL * 1024 * 1024 * 1000));
  EXPECT_EQ(h->metrics[1].type, MetricSourceType::kContainerResource);
  EXPECT_EQ(h->metrics[1].container, "app");
  EXPECT_EQ(h->metrics[1].average_utilization, 70);
  EXPECT_EQ(h->metrics[2].type, MetricSourceType::kPods);
  EXPECT_EQ(h->metrics[2].name, "requests_per_second");
  EXPECT_EQ(h->metrics[2].average_value, milli(100000));
  EXPECT_EQ(h->metrics[3].type, MetricSourceType::kObject);
  EXPECT_EQ(h->metrics[3].name, "requests");
  EXPECT_EQ(h->metrics[3].target_type, MetricTargetType::kValue);
  EXPECT_EQ(h->metrics[3].value, milli(10000000));
  EXPECT_EQ(h->metrics[4].type, MetricSourceType::kExternal);
  EXPECT_EQ(h->metrics[4].name, "queue_depth");
  EXPECT_EQ(h->metrics[4].value, milli(30000));
}

TEST(CoreHpa, V2beta2IsTheSameShapeButDeprecated) {
  auto r = decode_yaml(std::string("apiVersion: autoscaling/v2beta2\n") + kHpaV2Body);
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), ElementsAre("apiVersion: autoscaling/v2beta2 HorizontalPodAutoscaler "
                                        "is deprecated; use autoscaling/v2"));
  ASSERT_NE(r.first<HorizontalPodAutoscaler>(), nullptr);
  EXPECT_EQ(r.first<HorizontalPodAutoscaler>()->metrics.size(), 5u);
}

// ---------------------------------------------------------------------------------------------
// Annotation helpers

TEST(CorePortList, ParsesPortsRangesAndNames) {
  auto ports = parse_port_list(" 25, 443 ,8000-8100", false);
  ASSERT_TRUE(ports.ok());
  ASSERT_EQ(ports->size(), 3u);
  EXPECT_EQ((*ports)[0].first, 25);
  EXPECT_EQ((*ports)[0].last, 25);
  EXPECT_EQ((*ports)[2].first, 8000);
  EXPECT_EQ((*ports)[2].last, 8100);

  auto named = parse_port_list("mysql,3306", true);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)[0].name, "mysql");
  EXPECT_EQ((*named)[1].first, 3306);

  auto empty = parse_port_list("", false);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  auto bad_name = parse_port_list("mysql", false);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error(),
            "invalid port list \"mysql\": \"mysql\" is not a port or a port range such as "
            "8000-8100");
  auto zero = parse_port_list("0", false);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error(), "invalid port list \"0\": \"0\" is not a port number (1-65535)");
  auto range = parse_port_list("1-70000", false);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error(),
            "invalid port list \"1-70000\": range \"1-70000\" must be between 1 and 65535");
}

TEST(CoreInjectMode, ReadsTheAnnotation) {
  EXPECT_EQ(inject_mode({{"linkerd.io/inject", "enabled"}}), InjectMode::kEnabled);
  EXPECT_EQ(inject_mode({{"linkerd.io/inject", "disabled"}}), InjectMode::kDisabled);
  EXPECT_EQ(inject_mode({{"linkerd.io/inject", "ingress"}}), InjectMode::kIngress);
  EXPECT_FALSE(inject_mode({{"linkerd.io/inject", "true"}}).has_value());
  EXPECT_FALSE(inject_mode({}).has_value());
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: each row is a manifest and exactly the errors it must produce.

struct BadCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> errors;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

const std::string kSvc = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
const std::string kEp = "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\n";
const std::string kSlice =
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\n";
const std::string kPod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";
const std::string kNs = "apiVersion: v1\nkind: Namespace\n";
const std::string kSa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n";
const std::string kHpa1 =
    "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\n";
const std::string kHpa2 =
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\n";
const std::string kTarget = "  scaleTargetRef: {kind: Deployment, name: web}\n";

// A Pod whose only container is `{name: app, image: app:v1, <fields>}`.
std::string pod_container(const std::string& fields) {
  return kPod + "spec:\n  containers:\n  - {name: app, image: app:v1, " + fields + "}\n";
}

// A Pod with `annotations` (a flow map body) on its metadata.
std::string pod_annotated(const std::string& annotations) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {" + annotations +
         "}\nspec: {containers: [{name: app, image: app:v1}]}\n";
}

// A Deployment selecting app=web with `spec_extra` lines added to its spec, and the template's
// spec replaced by `pod_spec` (a flow map) when given.
std::string deployment(const std::string& spec_extra,
                       const std::string& pod_spec = "{containers: [{name: web, image: web:v1}]}",
                       const std::string& labels = "{app: web}") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
         "  selector: {matchLabels: {app: web}}\n" +
         spec_extra + "  template:\n    metadata: {labels: " + labels + "}\n    spec: " + pod_spec +
         "\n";
}

const char* kAnn = "metadata.annotations[\"config.linkerd.io/";

std::vector<BadCase> bad_cases() {
  return {
      // ---- Service ----
      {"ServiceUnknownFieldSuggests",
       kSvc + "spec: {ports: [{port: 80, targetport: 8080}]}\n",
       {"spec.ports[0].targetport: unknown field \"targetport\" (did you mean \"targetPort\"?)"}},
      {"ServicePortWrongType",
       kSvc + "spec: {ports: [{port: \"80\"}]}\n",
       {"spec.ports[0].port: expected an integer, got the string \"80\""}},
      {"ServicePortsMissing",
       kSvc + "spec: {selector: {app: web}}\n",
       {"spec.ports: missing required field"}},
      {"ServicePortsEmpty",
       kSvc + "spec: {ports: []}\n",
       {"spec.ports: must have at least one port (only headless Services, with clusterIP: None, "
        "and ExternalName Services may have none)"}},
      {"ServiceSpecMissing", kSvc, {"spec: missing required field"}},
      {"ServiceSecondPortUnnamed",
       kSvc + "spec: {ports: [{name: http, port: 80}, {port: 443}]}\n",
       {"spec.ports[1].name: required when the Service has more than one port"}},
      {"ServiceDuplicatePortName",
       kSvc + "spec: {ports: [{name: http, port: 80}, {name: http, port: 81}]}\n",
       {"spec.ports[1].name: duplicate port name \"http\" (also spec.ports[0].name)"}},
      {"ServiceDuplicatePortAndProtocol",
       kSvc + "spec: {ports: [{name: a, port: 80}, {name: b, port: 80, protocol: TCP}]}\n",
       {"spec.ports[1].port: duplicate port 80/TCP (also spec.ports[0])"}},
      {"ServiceBadProtocol",
       kSvc + "spec: {ports: [{port: 80, protocol: tcp}]}\n",
       {"spec.ports[0].protocol: unsupported value \"tcp\"; expected one of: TCP, UDP, SCTP (did "
        "you mean \"TCP\"?)"}},
      {"ServicePortOutOfRange",
       kSvc + "spec: {ports: [{port: 70000}]}\n",
       {"spec.ports[0].port: value 70000 is out of range [1, 65535]"}},
      {"ServiceBadTargetPortName",
       kSvc + "spec: {ports: [{port: 80, targetPort: http_port}]}\n",
       {"spec.ports[0].targetPort: invalid port name \"http_port\": must contain only lower case "
        "alphanumeric characters and '-'"}},
      {"ServiceNodePortOnClusterIp",
       kSvc + "spec: {ports: [{port: 80, nodePort: 30080}]}\n",
       {"spec.ports[0].nodePort: may only be set when type is NodePort or LoadBalancer"}},
      {"ServiceHeadlessLoadBalancer",
       kSvc + "spec: {type: LoadBalancer, clusterIP: None, ports: [{port: 80}]}\n",
       {"spec.clusterIP: may not be \"None\" when type is LoadBalancer (a headless Service has "
        "no virtual IP to expose)"}},
      {"ServiceBadClusterIp",
       kSvc + "spec: {clusterIP: 10.0.0.300, ports: [{port: 80}]}\n",
       {"spec.clusterIP: invalid cluster IP \"10.0.0.300\": must be an IP address, \"None\" for "
        "a headless Service, or empty to have one allocated"}},
      {"ServiceClusterIpsMismatch",
       kSvc + "spec: {clusterIP: 10.0.0.1, clusterIPs: [10.0.0.2], ports: [{port: 80}]}\n",
       {"spec.clusterIPs[0]: must match spec.clusterIP \"10.0.0.1\""}},
      {"ServiceExternalNameMissing",
       kSvc + "spec: {type: ExternalName}\n",
       {"spec.externalName: required when type is ExternalName"}},
      {"ServiceBadLoadBalancerSourceRange",
       kSvc + "spec: {type: LoadBalancer, ports: [{port: 80}], "
              "loadBalancerSourceRanges: [10.0.0.0/33]}\n",
       {"spec.loadBalancerSourceRanges[0]: invalid CIDR \"10.0.0.0/33\": prefix length 33 "
        "exceeds 32"}},
      {"ServiceExternalTrafficPolicyOnClusterIp",
       kSvc + "spec: {externalTrafficPolicy: Local, ports: [{port: 80}]}\n",
       {"spec.externalTrafficPolicy: may only be set when type is NodePort or LoadBalancer"}},
      {"ServiceNameNotDns1035",
       "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n",
       {"metadata.name: invalid Service name \"1web\": must start with a lower case letter (a "
        "DNS-1035 label, e.g. 'my-name')"}},
      {"ServiceBadSelectorLabel",
       kSvc + "spec: {selector: {app: \"-web\"}, ports: [{port: 80}]}\n",
       {"spec.selector.app: invalid label value \"-web\": must start and end with an "
        "alphanumeric character"}},
      {"ServiceBadAppProtocol",
       kSvc + "spec: {ports: [{port: 80, appProtocol: \"h2 c\"}]}\n",
       {"spec.ports[0].appProtocol: invalid appProtocol \"h2 c\": must be a protocol name or a "
        "domain-prefixed name such as \"kubernetes.io/h2c\" (name part must consist of "
        "alphanumeric characters, '-', '_' or '.')"}},

      // ---- Endpoints ----
      {"EndpointsBadIp",
       kEp + "subsets: [{addresses: [{ip: 10.0.0}], ports: [{port: 80}]}]\n",
       {"subsets[0].addresses[0].ip: invalid IP address \"10.0.0\""}},
      {"EndpointsSubsetWithoutAddresses",
       kEp + "subsets: [{ports: [{port: 80}]}]\n",
       {"subsets[0]: must have addresses or notReadyAddresses"}},
      {"EndpointsPortMissing",
       kEp + "subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: http}]}]\n",
       {"subsets[0].ports[0].port: missing required field"}},
      {"EndpointsUnderSpec",
       kEp + "spec: {subsets: []}\n",
       {"spec: unknown field \"spec\"; Endpoints has no spec; subsets is a top-level field"}},

      // ---- EndpointSlice ----
      {"SliceAddressTypeMissing",
       kSlice + "endpoints: [{addresses: [10.0.0.1]}]\n",
       {"addressType: missing required field"}},
      {"SliceAddressTypeMismatch",
       kSlice + "addressType: IPv4\nendpoints: [{addresses: [\"fd00::1\"]}]\n",
       {"endpoints[0].addresses[0]: address \"fd00::1\" is not an IPv4 address, but addressType "
        "is IPv4"}},
      {"SliceV1Topology",
       kSlice + "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], topology: {a: b}}]\n",
       {"endpoints[0].topology: unknown field \"topology\"; discovery.k8s.io/v1 replaced topology "
        "with zone (and nodeName)"}},
      {"SliceAddressesMissing",
       kSlice + "addressType: IPv4\nendpoints: [{nodeName: a}]\n",
       {"endpoints[0].addresses: missing required field"}},
      {"SliceConditionNotBool",
       kSlice + "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {ready: "
                "\"yes\"}}]\n",
       {"endpoints[0].conditions.ready: expected a boolean (true or false), got the string "
        "\"yes\""}},
      {"SliceDuplicatePortName",
       kSlice + "addressType: IPv4\nports: [{name: http, port: 80}, {name: http, port: 81}]\n",
       {"ports[1].name: duplicate port name \"http\" (also ports[0].name)"}},

      // ---- Pod ----
      {"PodSpecMissing", kPod, {"spec: missing required field"}},
      {"PodContainersMissing",
       kPod + "spec: {restartPolicy: Always}\n",
       {"spec.containers: missing required field"}},
      {"PodContainersEmpty",
       kPod + "spec: {containers: []}\n",
       {"spec.containers: must have at least one container"}},
      {"PodContainersAtTopLevel",
       kPod + "containers: []\nspec: {containers: [{name: app, image: app:v1}]}\n",
       {"containers: unknown field \"containers\"; containers go under spec (spec.containers)"}},
      {"PodUnknownSpecFieldSuggests",
       kPod + "spec: {containers: [{name: app, image: app:v1}], nodeSelectors: {a: b}}\n",
       {"spec.nodeSelectors: unknown field \"nodeSelectors\" (did you mean \"nodeSelector\"?)"}},
      {"PodBadContainerName",
       kPod + "spec: {containers: [{name: App_1, image: app:v1}]}\n",
       {"spec.containers[0].name: invalid container name \"App_1\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"PodDuplicateContainerName",
       kPod + "spec:\n  containers: [{name: app, image: a:1}]\n"
              "  initContainers: [{name: app, image: b:1}]\n",
       {"spec.initContainers[0].name: duplicate container name \"app\" (also "
        "spec.containers[0].name)"}},
      {"PodImageMissing",
       kPod + "spec: {containers: [{name: app}]}\n",
       {"spec.containers[0].image: missing required field"}},
      {"PodContainerPortMissing",
       pod_container("ports: [{name: http}]"),
       {"spec.containers[0].ports[0].containerPort: missing required field"}},
      {"PodDuplicateContainerPortName",
       pod_container("ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]"),
       {"spec.containers[0].ports[1].name: duplicate port name \"http\" (also "
        "spec.containers[0].ports[0].name)"}},
      {"PodBadContainerPortName",
       pod_container("ports: [{name: 8080, containerPort: 8080}]"),
       {"spec.containers[0].ports[0].name: expected a string, got the integer 8080 (quote it: "
        "\"8080\")"}},
      {"PodProbeTwoHandlers",
       pod_container("readinessProbe: {httpGet: {port: 80}, exec: {command: [\"true\"]}}"),
       {"spec.containers[0].readinessProbe: must specify exactly one handler, got httpGet and "
        "exec"}},
      {"PodProbeNoHandler",
       pod_container("livenessProbe: {periodSeconds: 5}"),
       {"spec.containers[0].livenessProbe: must specify exactly one handler: httpGet, tcpSocket, "
        "exec or grpc"}},
      {"PodProbeUnknownNamedPort",
       pod_container("ports: [{name: http, containerPort: 80}], "
                     "readinessProbe: {httpGet: {path: /, port: admin}}"),
       {"spec.containers[0].readinessProbe.httpGet.port: port name \"admin\" does not match any "
        "port of container \"app\" (declared: http)"}},
      {"PodProbePortMissing",
       pod_container("readinessProbe: {tcpSocket: {host: x}}"),
       {"spec.containers[0].readinessProbe.tcpSocket.port: missing required field"}},
      {"PodGrpcProbeNamedPort",
       pod_container("ports: [{name: grpc, containerPort: 9000}], "
                     "readinessProbe: {grpc: {port: grpc}}"),
       {"spec.containers[0].readinessProbe.grpc.port: expected a port number (1-65535), got the "
        "string \"grpc\""}},
      {"PodLivenessSuccessThreshold",
       pod_container("livenessProbe: {tcpSocket: {port: 80}, successThreshold: 2}"),
       {"spec.containers[0].livenessProbe.successThreshold: must be 1 for liveness and startup "
        "probes"}},
      {"PodProbeZeroPeriod",
       pod_container("readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 0}"),
       {"spec.containers[0].readinessProbe.periodSeconds: value 0 is out of range [1, "
        "2147483647]"}},
      {"PodProbeBadScheme",
       pod_container("readinessProbe: {httpGet: {port: 80, scheme: https}}"),
       {"spec.containers[0].readinessProbe.httpGet.scheme: unsupported value \"https\"; expected "
        "one of: HTTP, HTTPS (did you mean \"HTTPS\"?)"}},
      {"PodBadQuantity",
       pod_container("resources: {limits: {cpu: 1.5.0}}"),
       {"spec.containers[0].resources.limits.cpu: invalid quantity \"1.5.0\": more than one "
        "decimal point"}},
      {"PodUnknownResourceName",
       pod_container("resources: {requests: {cpus: 1}}"),
       {"spec.containers[0].resources.requests.cpus: unsupported resource name \"cpus\"; expected "
        "cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource "
        "such as example.com/gpu (did you mean \"cpu\"?)"}},
      {"PodRequestAboveLimit",
       pod_container("resources: {requests: {memory: 1Gi}, limits: {memory: 512Mi}}"),
       {"spec.containers[0].resources.requests.memory: must be less than or equal to the limit "
        "(512Mi)"}},
      {"PodNegativeQuantity",
       pod_container("resources: {requests: {cpu: -1}}"),
       {"spec.containers[0].resources.requests.cpu: must be greater than or equal to 0"}},
      {"PodEnvValueNotString",
       pod_container("env: [{name: PORT, value: 8080}]"),
       {"spec.containers[0].env[0].value: expected a string, got the integer 8080 (quote it: "
        "\"8080\")"}},
      {"PodEnvValueAndValueFrom",
       pod_container("env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: a}}}]"),
       {"spec.containers[0].env[0].valueFrom: may not be set when value is not empty"}},
      {"PodEnvNameMissing",
       pod_container("env: [{value: x}]"),
       {"spec.containers[0].env[0].name: missing required field"}},
      {"PodRestartPolicyOnContainer",
       pod_container("restartPolicy: Always"),
       {"spec.containers[0].restartPolicy: may only be set on init containers (restartPolicy: "
        "Always makes an init container a native sidecar)"}},
      {"PodInitContainerRestartPolicyNever",
       kPod + "spec:\n  containers: [{name: app, image: a:1}]\n"
              "  initContainers: [{name: init, image: b:1, restartPolicy: Never}]\n",
       {"spec.initContainers[0].restartPolicy: unsupported value \"Never\"; expected one of: "
        "Always"}},
      {"PodProbeOnInitContainer",
       kPod + "spec:\n  containers: [{name: app, image: a:1}]\n"
              "  initContainers: [{name: init, image: b:1, readinessProbe: {exec: {command: "
              "[true]}}}]\n",
       {"spec.initContainers[0].readinessProbe: may not be set on an init container unless its "
        "restartPolicy is Always (a native sidecar)"}},
      {"PodBadRestartPolicy",
       kPod + "spec: {restartPolicy: Sometimes, containers: [{name: app, image: a:1}]}\n",
       {"spec.restartPolicy: unsupported value \"Sometimes\"; expected one of: Always, "
        "OnFailure, Never"}},
      {"PodServiceAccountConflict",
       kPod + "spec: {serviceAccount: a, serviceAccountName: b, containers: [{name: app, image: "
              "a:1}]}\n",
       {"spec.serviceAccount: differs from serviceAccountName \"b\"; remove the deprecated "
        "serviceAccount"}},
      {"PodDuplicateHostPort",
       kPod + "spec:\n  containers:\n  - {name: a, image: a:1, ports: [{containerPort: 80, "
              "hostPort: 8080}]}\n  - {name: b, image: b:1, ports: [{containerPort: 81, hostPort: "
              "8080}]}\n",
       {"spec.containers[1].ports[0].hostPort: duplicate hostPort 8080/TCP (also "
        "spec.containers[0].ports[0].hostPort)"}},

      // ---- linkerd annotations ----
      {"AnnotationInjectBadValue",
       pod_annotated("linkerd.io/inject: enable"),
       {"metadata.annotations[\"linkerd.io/inject\"]: invalid value \"enable\"; expected one of: "
        "enabled, disabled, ingress (did you mean \"enabled\"?)"}},
      {"AnnotationInjectBoolean",
       pod_annotated("linkerd.io/inject: true"),
       {"metadata.annotations[\"linkerd.io/inject\"]: expected a string, got the boolean true "
        "(quote it: \"true\")"}},
      {"AnnotationSkipInboundPortsName",
       pod_annotated("config.linkerd.io/skip-inbound-ports: \"80,http\""),
       {std::string(kAnn) + "skip-inbound-ports\"]: invalid port list \"80,http\": \"http\" is "
                            "not a port or a port range such as 8000-8100"}},
      {"AnnotationOpaquePortsReversedRange",
       pod_annotated("config.linkerd.io/opaque-ports: \"5000-4000\""),
       {std::string(kAnn) + "opaque-ports\"]: invalid port list \"5000-4000\": range "
                            "\"5000-4000\" is reversed (write 4000-5000)"}},
      {"AnnotationProxyLogLevelEmpty",
       pod_annotated("config.linkerd.io/proxy-log-level: \"\""),
       {std::string(kAnn) + "proxy-log-level\"]: must not be empty"}},
      {"AnnotationSkipSubnetsBadCidr",
       pod_annotated("config.linkerd.io/skip-subnets: \"10.0.0.0/8,10.300.0.0/16\""),
       {std::string(kAnn) + "skip-subnets\"]: invalid CIDR \"10.300.0.0/16\": expected an "
                            "address and prefix length such as \"10.0.0.0/8\""}},
      {"AnnotationProxyCpuLimitBadQuantity",
       pod_annotated("config.linkerd.io/proxy-cpu-limit: \"1 core\""),
       {std::string(kAnn) + "proxy-cpu-limit\"]: invalid quantity \"1 core\": unknown suffix "
                            "\" core\" (use m for thousandths, e.g. \"900m\", or k, M, G, "
                            "Ki, Mi, Gi)"}},
      {"AnnotationConnectTimeoutBadDuration",
       pod_annotated("config.linkerd.io/proxy-outbound-connect-timeout: \"100\""),
       {std::string(kAnn) + "proxy-outbound-connect-timeout\"]: missing unit in duration "
                            "\"100\" (use one of ns, us, ms, s, m, h, e.g. \"5s\")"}},
      {"AnnotationDefaultInboundPolicy",
       pod_annotated("config.linkerd.io/default-inbound-policy: all-authenticate"),
       {std::string(kAnn) + "default-inbound-policy\"]: invalid value \"all-authenticate\"; "
                            "expected one of: all-unauthenticated, all-authenticated, "
                            "cluster-unauthenticated, cluster-authenticated, deny, audit (did "
                            "you mean \"all-authenticated\"?)"}},
      {"AnnotationAdminPortNotANumber",
       pod_annotated("config.linkerd.io/admin-port: admin"),
       {std::string(kAnn) + "admin-port\"]: invalid value \"admin\": expected a port number "
                            "(1-65535)"}},
      {"AnnotationInjectOnNamespace",
       kNs + "metadata: {name: ns, annotations: {linkerd.io/inject: \"yes\"}}\n",
       {"metadata.annotations[\"linkerd.io/inject\"]: invalid value \"yes\"; expected one of: "
        "enabled, disabled, ingress"}},
      {"AnnotationOnTemplate",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
       "  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: "
       "web}\n      annotations: {config.linkerd.io/proxy-await: \"true\"}\n"
       "    spec: {containers: [{name: web, image: web:v1}]}\n",
       {"spec.template.metadata.annotations[\"config.linkerd.io/proxy-await\"]: invalid value "
        "\"true\"; expected one of: enabled, disabled"}},

      // ---- Namespace ----
      {"NamespaceNameWithDot",
       kNs + "metadata: {name: my.app}\n",
       {"metadata.name: invalid Namespace name \"my.app\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name') (a DNS-1123 label: no dots)"}},
      {"NamespaceUnqualifiedFinalizer",
       kNs + "metadata: {name: ns}\nspec: {finalizers: [cleanup]}\n",
       {"spec.finalizers[0]: invalid finalizer \"cleanup\": only \"kubernetes\" may be "
        "unqualified; custom finalizers must be domain-prefixed, e.g. \"example.com/cleanup\""}},

      // ---- Deployment ----
      {"DeploymentSelectorMissing",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
       "    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: w:1}]}\n",
       {"spec.selector: missing required field"}},
      {"DeploymentSelectorDoesNotMatch",
       deployment("", "{containers: [{name: web, image: web:v1}]}", "{app: webb, tier: front}"),
       {"spec.template.metadata.labels: do not match spec.selector (app=web); the template's "
        "labels are: app=webb, tier=front"}},
      {"DeploymentTemplateWithoutLabels",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
       "  selector: {matchLabels: {app: web}}\n"
       "  template: {spec: {containers: [{name: web, image: w:1}]}}\n",
       {"spec.template.metadata.labels: do not match spec.selector (app=web); the template's "
        "labels are: none"}},
      {"DeploymentEmptySelector",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {}\n"
       "  template:\n    spec: {containers: [{name: web, image: w:1}]}\n",
       {"spec.selector: must not be empty: a Deployment needs matchLabels or matchExpressions to "
        "find its pods"}},
      {"DeploymentBadSelectorOperator",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
       "  selector: {matchExpressions: [{key: app, operator: Equals, values: [web]}]}\n"
       "  template:\n    metadata: {labels: {app: web}}\n"
       "    spec: {containers: [{name: web, image: w:1}]}\n",
       {"spec.selector.matchExpressions[0].operator: unsupported value \"Equals\"; expected one "
        "of: In, NotIn, Exists, DoesNotExist"}},
      {"DeploymentContainersUnderTemplate",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
       "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
       "    containers: [{name: web, image: w:1}]\n",
       {"spec.template.spec: missing required field",
        "spec.template.containers: unknown field \"containers\"; containers go under "
        "spec.template.spec (spec.template.spec.containers)"}},
      {"DeploymentRecreateWithRollingUpdate",
       deployment("  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n"),
       {"spec.strategy.rollingUpdate: may not be set when type is Recreate"}},
      {"DeploymentMaxUnavailableOver100",
       deployment("  strategy: {rollingUpdate: {maxUnavailable: 150%}}\n"),
       {"spec.strategy.rollingUpdate.maxUnavailable: must not be greater than 100%"}},
      {"DeploymentSurgeAndUnavailableZero",
       deployment("  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}}\n"),
       {"spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when maxSurge is 0 (the "
        "rollout could never make progress)"}},
      {"DeploymentBadMaxSurge",
       deployment("  strategy: {rollingUpdate: {maxSurge: one}}\n"),
       {"spec.strategy.rollingUpdate.maxSurge: expected a non-negative integer or a percentage "
        "such as \"25%\", got the string \"one\""}},
      {"DeploymentBadStrategyType",
       deployment("  strategy: {type: BlueGreen}\n"),
       {"spec.strategy.type: unsupported value \"BlueGreen\"; expected one of: RollingUpdate, "
        "Recreate"}},
      {"DeploymentTemplateRestartNever",
       deployment("", "{restartPolicy: Never, containers: [{name: web, image: w:1}]}"),
       {"spec.template.spec.restartPolicy: must be Always in a Deployment's pod template (a "
        "Deployment keeps its pods running)"}},
      {"DeploymentProgressDeadlineTooShort",
       deployment("  minReadySeconds: 30\n  progressDeadlineSeconds: 30\n"),
       {"spec.progressDeadlineSeconds: must be greater than minReadySeconds (30)"}},
      {"DeploymentNegativeReplicas",
       deployment("  replicas: -1\n"),
       {"spec.replicas: value -1 is out of range [0, 2147483647]"}},
      {"DeploymentReplicasAtTopLevel",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nreplicas: 2\nspec:\n"
       "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
       "    spec: {containers: [{name: web, image: w:1}]}\n",
       {"replicas: unknown field \"replicas\"; replicas goes under spec (spec.replicas)"}},

      // ---- ServiceAccount ----
      {"ServiceAccountAutomountNotBool",
       kSa + "automountServiceAccountToken: \"false\"\n",
       {"automountServiceAccountToken: expected a boolean (true or false), got the string "
        "\"false\""}},
      {"ServiceAccountPullSecretWithoutName",
       kSa + "imagePullSecrets: [{}]\n",
       {"imagePullSecrets[0].name: missing required field"}},

      // ---- HorizontalPodAutoscaler ----
      {"HpaMaxReplicasMissing",
       kHpa2 + "spec:\n" + kTarget,
       {"spec.maxReplicas: missing required field"}},
      {"HpaMaxBelowMin",
       kHpa2 + "spec:\n" + kTarget + "  minReplicas: 5\n  maxReplicas: 3\n",
       {"spec.maxReplicas: must be greater than or equal to minReplicas (5)"}},
      {"HpaMinReplicasZero",
       kHpa2 + "spec:\n" + kTarget + "  minReplicas: 0\n  maxReplicas: 3\n",
       {"spec.minReplicas: value 0 is out of range [1, 2147483647]"}},
      {"HpaScaleTargetNameMissing",
       kHpa2 + "spec:\n  scaleTargetRef: {kind: Deployment}\n  maxReplicas: 3\n",
       {"spec.scaleTargetRef.name: missing required field"}},
      {"HpaV1WithMetrics",
       kHpa1 + "spec:\n" + kTarget + "  maxReplicas: 3\n  metrics: []\n",
       {"spec.metrics: unknown field \"metrics\"; metrics needs apiVersion autoscaling/v2; "
        "autoscaling/v1 has only targetCPUUtilizationPercentage"}},
      {"HpaV2WithTargetCpu",
       kHpa2 + "spec:\n" + kTarget + "  maxReplicas: 3\n  targetCPUUtilizationPercentage: 50\n",
       {"spec.targetCPUUtilizationPercentage: unknown field \"targetCPUUtilizationPercentage\"; "
        "autoscaling/v2 uses metrics: [{type: Resource, resource: {name: cpu, target: {type: "
        "Utilization, averageUtilization: N}}}]"}},
      {"HpaMetricSourceMissing",
       kHpa2 + "spec:\n" + kTarget + "  maxReplicas: 3\n  metrics: [{type: Resource}]\n",
       {"spec.metrics[0].resource: missing required field"}},
      {"HpaMetricWrongSource",
       kHpa2 + "spec:\n" + kTarget +
           "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
           "    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n"
           "    pods: {metric: {name: x}, target: {type: AverageValue, averageValue: 1}}\n",
       {"spec.metrics[0].pods: must not be set when type is Resource"}},
      {"HpaUtilizationWithoutValue",
       kHpa2 + "spec:\n" + kTarget +
           "  maxReplicas: 3\n  metrics:\n  - type: Resource\n"
           "    resource: {name: cpu, target: {type: Utilization}}\n",
       {"spec.metrics[0].resource.target.averageUtilization: required when type is "
        "Utilization"}},
      {"HpaUtilizationOnPodsMetric",
       kHpa2 + "spec:\n" + kTarget +
           "  maxReplicas: 3\n  metrics:\n  - type: Pods\n"
           "    pods: {metric: {name: rps}, target: {type: Utilization, averageUtilization: 5}}\n",
       {"spec.metrics[0].pods.target.type: Utilization is only valid for Resource and "
        "ContainerResource metrics"}},
      {"HpaBadMetricType",
       kHpa2 + "spec:\n" + kTarget + "  maxReplicas: 3\n  metrics: [{type: resource}]\n",
       {"spec.metrics[0].type: unsupported value \"resource\"; expected one of: Resource, "
        "ContainerResource, Pods, Object, External (did you mean \"Resource\"?)"}},
  };
}

class CoreBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(CoreBadInput, ReportsExactlyTheseErrors) {
  const BadCase& c = GetParam();
  auto r = decode_yaml(c.yaml);
  EXPECT_EQ(r.errors(), c.errors) << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(Table, CoreBadInput, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(CoreBadInputTable, HasAtLeastThirtyRows) { EXPECT_GE(bad_cases().size(), 30u); }

// Several problems in one object are all reported, each on its own path.
TEST(CoreBadInputTable, ReportsEveryProblemAtOnce) {
  auto r = decode_yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: many
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web:v1
        ports: [{containerPort: 0}]
        resources: {limits: {memory: lots}}
      - name: web
        image: web:v1
)");
  EXPECT_THAT(r.errors(),
              ElementsAre("spec.replicas: expected an integer, got the string \"many\"",
                          "spec.template.spec.containers[0].ports[0].containerPort: value 0 is "
                          "out of range [1, 65535]",
                          StartsWith("spec.template.spec.containers[0].resources.limits.memory: "
                                     "invalid quantity \"lots\""),
                          "spec.template.spec.containers[1].name: duplicate container name "
                          "\"web\" (also spec.template.spec.containers[0].name)"));
}

}  // namespace
}  // namespace trellis::resources
