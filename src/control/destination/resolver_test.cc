#include "control/destination/resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/store/directory_source.h"

namespace trellis::control::destination {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// A store holding `yaml` (checked to have no errors).
std::unique_ptr<store::Store> store_of(const std::string& yaml) {
  auto s = std::make_unique<store::Store>();
  s->start();
  auto origin = store::load_origin("test.yaml", yaml);
  for (const auto& d : origin.diagnostics) {
    if (d.severity == resources::Severity::kError) ADD_FAILURE() << d.format();
  }
  s->apply({std::move(origin)}, false);
  return s;
}

std::string pod(const std::string& name, const std::string& ip, const std::string& extra = "",
                const std::string& status_extra = "", const std::string& labels = "app: web") {
  return R"(---
apiVersion: v1
kind: Pod
metadata:
  name: )" + name + R"(
  namespace: emojivoto
  labels: {)" + labels + R"(, pod-template-hash: 5d9f7}
)" + extra + R"(spec:
  serviceAccountName: web
  containers:
    - name: app
      image: demo
      ports:
        - name: http
          containerPort: 8080
status:
  phase: Running
  podIP: )" + ip + "\n" + status_extra;
}

constexpr char kMeshedNamespace[] = R"(---
apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
  annotations:
    linkerd.io/inject: enabled
)";

constexpr char kService[] = R"(---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: emojivoto
spec:
  clusterIP: 198.19.0.10
  selector:
    app: web
  ports:
    - name: http
      port: 80
      targetPort: http
)";

std::vector<std::string> addresses(const api::Update& u) {
  std::vector<std::string> out;
  for (const auto& e : u.endpoints()) out.push_back(e.address());
  return out;
}

TEST(ParseTargetTest, Forms) {
  struct Row {
    const char* path;
    Target::Kind kind;
    const char* name;
    const char* ns;
    const char* ip;
    uint32_t port;
  };
  const Row rows[] = {
      {"web", Target::Kind::kService, "web", "ctx", "", 80},
      {"web:8080", Target::Kind::kService, "web", "ctx", "", 8080},
      {"web.emojivoto", Target::Kind::kService, "web", "emojivoto", "", 80},
      {"web.emojivoto.svc:81", Target::Kind::kService, "web", "emojivoto", "", 81},
      {"web.emojivoto.svc.cluster.local:82", Target::Kind::kService, "web", "emojivoto", "", 82},
      {"Web.Emojivoto.svc.cluster.local.:83", Target::Kind::kService, "web", "emojivoto", "", 83},
      {"198.19.0.10:80", Target::Kind::kAddress, "", "", "198.19.0.10", 80},
      {"[fd00::1]:9090", Target::Kind::kAddress, "", "", "fd00::1", 9090},
      // Two labels are service.namespace, whatever they look like (Kubernetes search paths).
      {"example.com:80", Target::Kind::kService, "example", "com", "", 80},
      {"www.example.com:80", Target::Kind::kInvalid, "", "", "", 80},
      {"web.emojivoto.svc.other.domain:80", Target::Kind::kInvalid, "", "", "", 80},
      {"web:0", Target::Kind::kInvalid, "", "", "", 80},
      {"web:70000", Target::Kind::kInvalid, "", "", "", 80},
      {"web:x", Target::Kind::kInvalid, "", "", "", 80},
      {"", Target::Kind::kInvalid, "", "", "", 80},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.path);
    const Target t = parse_target(row.path, "ctx", "cluster.local");
    EXPECT_EQ(t.kind, row.kind);
    if (row.kind == Target::Kind::kInvalid) continue;
    EXPECT_EQ(t.name, row.name);
    EXPECT_EQ(t.ns, row.ns);
    EXPECT_EQ(t.ip, row.ip);
    EXPECT_EQ(t.port, row.port);
  }
  EXPECT_EQ(parse_target("web", "", "cluster.local").ns, "default");
}

class ResolverTest : public ::testing::Test {
 protected:
  api::Update get(store::Store& s, const std::string& path, const std::string& ns = "emojivoto") {
    return resolver_.resolve(*s.snapshot(), parse_target(path, ns, "cluster.local"));
  }
  Resolver resolver_{ResolverOptions{}};
};

TEST_F(ResolverTest, SelectorNamedPortReadinessAndIdentity) {
  auto s = store_of(std::string(kMeshedNamespace) + kService +
                    pod("web-5d9f7-aaaaa", "198.18.0.7") +
                    pod("web-5d9f7-bbbbb", "198.18.0.8") +
                    // not ready
                    pod("web-5d9f7-ccccc", "198.18.0.9", "",
                        "  conditions:\n    - type: Ready\n      status: \"False\"\n") +
                    // other labels
                    pod("db-1", "198.18.0.20", "", "", "app: db"));
  const auto u = get(*s, "web.emojivoto.svc.cluster.local:80");
  EXPECT_TRUE(u.exists());
  EXPECT_EQ(u.service().name(), "web");
  EXPECT_EQ(u.service().namespace_(), "emojivoto");
  EXPECT_THAT(u.service().cluster_ips(), ElementsAre("198.19.0.10"));
  EXPECT_EQ(u.service().port_name(), "http");
  EXPECT_THAT(addresses(u), ElementsAre("198.18.0.7:8080", "198.18.0.8:8080"));
  const auto& e = u.endpoints(0);
  EXPECT_EQ(e.identity(), "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(e.protocol_hint(), api::PROTOCOL_HINT_H2);
  EXPECT_EQ(e.weight(), kDefaultWeight);
  EXPECT_THAT(e.labels(), UnorderedElementsAre(Pair("pod", "web-5d9f7-aaaaa"),
                                               Pair("namespace", "emojivoto"),
                                               Pair("serviceaccount", "web"),
                                               Pair("deployment", "web"),
                                               Pair("pod_template_hash", "5d9f7")));
  // The same answer by short name, by name.ns, and by ClusterIP.
  EXPECT_THAT(addresses(get(*s, "web")), ElementsAre("198.18.0.7:8080", "198.18.0.8:8080"));
  EXPECT_THAT(addresses(get(*s, "web.emojivoto", "other")),
              ElementsAre("198.18.0.7:8080", "198.18.0.8:8080"));
  EXPECT_THAT(addresses(get(*s, "198.19.0.10:80")),
              ElementsAre("198.18.0.7:8080", "198.18.0.8:8080"));
  // A pod IP: that pod alone.
  const auto p = get(*s, "198.18.0.8:8080");
  EXPECT_TRUE(p.exists());
  EXPECT_THAT(addresses(p), ElementsAre("198.18.0.8:8080"));
}

TEST_F(ResolverTest, UnknownTargetsDoNotExist) {
  auto s = store_of(kService);
  EXPECT_FALSE(get(*s, "nope.emojivoto.svc.cluster.local:80").exists());
  EXPECT_FALSE(get(*s, "web", "other-namespace").exists());
  EXPECT_FALSE(get(*s, "198.19.9.9:80").exists());
  EXPECT_FALSE(get(*s, "www.example.com:80").exists());
}

TEST_F(ResolverTest, UnmeshedPodHasNoIdentityAndPodWithoutIpIsNotAnEndpoint) {
  auto s = store_of(std::string(kService) + pod("web-1", "198.18.0.7") +
                    R"(---
apiVersion: v1
kind: Pod
metadata:
  name: web-2
  namespace: emojivoto
  labels: {app: web}
spec:
  containers:
    - name: app
      image: demo
      ports: [{name: http, containerPort: 8080}]
)");
  const auto u = get(*s, "web:80");
  ASSERT_EQ(u.endpoints_size(), 1);
  EXPECT_EQ(u.endpoints(0).identity(), "");
  EXPECT_EQ(u.endpoints(0).protocol_hint(), api::PROTOCOL_HINT_UNKNOWN);
}

TEST_F(ResolverTest, MeshedByAnnotationAndOpaquePorts) {
  auto s = store_of(
      std::string(kService) +
      pod("web-1", "198.18.0.7",
          "  annotations:\n    linkerd.io/proxy-version: 0.1.0\n"
          "    config.linkerd.io/opaque-ports: \"8080\"\n"));
  const auto u = get(*s, "web:80");
  ASSERT_EQ(u.endpoints_size(), 1);
  EXPECT_EQ(u.endpoints(0).identity(),
            "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(u.endpoints(0).protocol_hint(), api::PROTOCOL_HINT_OPAQUE);
}

TEST_F(ResolverTest, NamedPortMissingOnPodSkipsIt) {
  auto s = store_of(std::string(kService) + R"(---
apiVersion: v1
kind: Pod
metadata:
  name: web-odd
  namespace: emojivoto
  labels: {app: web}
spec:
  containers:
    - name: app
      image: demo
      ports: [{name: admin, containerPort: 9000}]
status:
  phase: Running
  podIP: 198.18.0.30
)" + pod("web-1", "198.18.0.7"));
  EXPECT_THAT(addresses(get(*s, "web:80")), ElementsAre("198.18.0.7:8080"));
}

TEST_F(ResolverTest, EndpointSlicesWhenNoSelector) {
  auto s = store_of(std::string(kMeshedNamespace) + R"(---
apiVersion: v1
kind: Service
metadata:
  name: ext
  namespace: emojivoto
spec:
  clusterIP: 198.19.0.20
  ports: [{name: http, port: 80, targetPort: 9999}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-abc
  namespace: emojivoto
  labels:
    kubernetes.io/service-name: ext
addressType: IPv4
ports:
  - name: http
    port: 8443
endpoints:
  - addresses: ["198.18.1.1"]
  - addresses: ["198.18.1.2"]
    conditions: {ready: false}
  - addresses: ["198.18.0.7"]
    targetRef: {kind: Pod, name: web-1, namespace: emojivoto}
)" + pod("web-1", "198.18.0.7"));
  const auto u = get(*s, "ext:80");
  EXPECT_TRUE(u.exists());
  EXPECT_THAT(addresses(u), ElementsAre("198.18.0.7:8443", "198.18.1.1:8443"));
  // The pod-backed endpoint carries the pod's identity; the bare address none.
  EXPECT_EQ(u.endpoints(0).identity(),
            "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(u.endpoints(1).identity(), "");
}

TEST_F(ResolverTest, EndpointsObjectWhenNoSlices) {
  auto s = store_of(R"(---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: emojivoto}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: emojivoto}
subsets:
  - addresses: [{ip: 198.18.2.1}, {ip: 198.18.2.2}]
    notReadyAddresses: [{ip: 198.18.2.3}]
    ports: [{port: 7000}]
)");
  EXPECT_THAT(addresses(get(*s, "legacy:80")), ElementsAre("198.18.2.1:7000", "198.18.2.2:7000"));
}

TEST_F(ResolverTest, ExternalWorkloads) {
  auto s = store_of(std::string(kService) + R"(---
apiVersion: workload.linkerd.io/v1beta1
kind: ExternalWorkload
metadata:
  name: vm-1
  namespace: emojivoto
  labels: {app: web}
spec:
  meshTLS:
    identity: spiffe://root.linkerd.cluster.local/vm-1
    serverName: vm-1.cluster.local
  ports:
    - name: http
      port: 8081
  workloadIPs:
    - ip: 198.18.3.1
)");
  const auto u = get(*s, "web:80");
  ASSERT_EQ(u.endpoints_size(), 1);
  EXPECT_EQ(u.endpoints(0).address(), "198.18.3.1:8081");
  EXPECT_EQ(u.endpoints(0).identity(), "spiffe://root.linkerd.cluster.local/vm-1");
  EXPECT_EQ(u.endpoints(0).protocol_hint(), api::PROTOCOL_HINT_H2);
}

TEST_F(ResolverTest, ProfileNamesTheService) {
  auto s = store_of(std::string(kService));
  const auto p = resolver_.profile(*s->snapshot(), parse_target("198.19.0.10:80", "", "cluster.local"));
  EXPECT_EQ(p.fully_qualified_name(), "web.emojivoto.svc.cluster.local");
  EXPECT_FALSE(p.opaque_protocol());
  EXPECT_EQ(resolver_.profile(*s->snapshot(), parse_target("nope:80", "x", "cluster.local"))
                .fully_qualified_name(),
            "");
}

TEST_F(ResolverTest, ProfileCarriesTheCompiledTrafficPolicy) {
  namespace pb = trellis::api::traffic::v1;
  auto s = store_of(std::string(kService) + R"(---
apiVersion: v1
kind: Service
metadata: {name: web-v2, namespace: emojivoto}
spec:
  selector: {app: web-v2}
  ports: [{port: 80}]
---
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: web-split, namespace: emojivoto}
spec:
  service: web
  backends:
  - {service: web, weight: 900m}
  - {service: web-v2, weight: 100m}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: consumer, namespace: client}
spec:
  parentRefs: [{name: web, namespace: emojivoto, kind: Service, group: "", port: 8080}]
  rules: [{backendRefs: [{name: web-v2, namespace: emojivoto, port: 80}]}]
)");
  const auto p =
      resolver_.profile(*s->snapshot(), parse_target("web.emojivoto:80", "", "cluster.local"));
  EXPECT_EQ(p.fully_qualified_name(), "web.emojivoto.svc.cluster.local");
  EXPECT_EQ(p.policy().authority(), "web.emojivoto.svc.cluster.local:80");
  EXPECT_EQ(p.policy().source(), pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  ASSERT_EQ(p.policy().default_route().backends_size(), 2);
  EXPECT_EQ(p.policy().default_route().backends(0).authority(),
            "web.emojivoto.svc.cluster.local:80");
  EXPECT_EQ(p.policy().default_route().backends(0).weight(), 900u);
  EXPECT_EQ(p.policy().default_route().backends(1).authority(),
            "web-v2.emojivoto.svc.cluster.local:80");
  EXPECT_EQ(p.policy().default_route().backends(1).weight(), 100u);
  // policy_json is the same policy as protobuf JSON (for the proxy's /config_dump).
  EXPECT_THAT(p.policy_json(), ::testing::HasSubstr("\"source\":\"SOURCE_SERVICE_PROFILE\""));
  EXPECT_THAT(p.policy_json(), ::testing::HasSubstr("web-v2.emojivoto.svc.cluster.local:80"));

  // Port 8080: the consumer route applies to clients in namespace "client" only.
  const Target t8080 = parse_target("web.emojivoto.svc.cluster.local:8080", "", "cluster.local");
  EXPECT_EQ(resolver_.profile(*s->snapshot(), t8080, "emojivoto").policy().source(),
            pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);  // the split, on every port
  const auto consumer = resolver_.profile(*s->snapshot(), t8080, "client");
  EXPECT_EQ(consumer.policy().source(), pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  // A ServiceProfile/TrafficSplit wins over routes, whoever asks.
  EXPECT_EQ(consumer.policy().http_routes_size(), 0);
}

TEST_F(ResolverTest, ProfileUsesTheClientsConsumerRoutes) {
  namespace pb = trellis::api::traffic::v1;
  auto s = store_of(std::string(kService) + R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: consumer, namespace: client}
spec:
  parentRefs: [{name: web, namespace: emojivoto, kind: Service, group: "", port: 80}]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]
)");
  const Target t = parse_target("198.19.0.10:80", "", "cluster.local");
  EXPECT_EQ(resolver_.profile(*s->snapshot(), t, "emojivoto").policy().source(),
            pb::TrafficPolicy::SOURCE_DEFAULT);
  const auto p = resolver_.profile(*s->snapshot(), t, "client");
  EXPECT_EQ(p.policy().source(), pb::TrafficPolicy::SOURCE_ROUTES);
  ASSERT_EQ(p.policy().http_routes_size(), 1);
  EXPECT_EQ(p.policy().http_routes(0).origin(), "HTTPRoute/client/consumer");
  // Not a Service: no policy at all (the proxy keeps its default route).
  const auto none = resolver_.profile(*s->snapshot(), parse_target("198.18.9.9:80", "", "x"));
  EXPECT_FALSE(none.has_policy());
}

TEST_F(ResolverTest, ProfileStreamsReactToTrafficResourcesAnywhere) {
  const Target t = parse_target("web.emojivoto:80", "", "cluster.local");
  store::Change c;
  c.changed.insert({"", "Pod", "other", "x"});
  EXPECT_FALSE(Resolver::affects_profile(c, t, "client"));
  c.changed = {{"gateway.networking.k8s.io", "HTTPRoute", "other", "r"}};
  EXPECT_TRUE(Resolver::affects_profile(c, t, "client"));
  c.changed = {{"", "Pod", "client", "x"}};
  EXPECT_TRUE(Resolver::affects_profile(c, t, "client"));
  c.changed = {{"", "Service", "other", "backend"}};
  EXPECT_TRUE(Resolver::affects_profile(c, t, "client"));
}

TEST_F(ResolverTest, AffectsOnlyTheTargetNamespace) {
  const Target t = parse_target("web.emojivoto:80", "", "cluster.local");
  store::Change c;
  c.changed.insert({"", "Pod", "other", "x"});
  EXPECT_FALSE(Resolver::affects(c, t));
  c.changed.insert({"", "Pod", "emojivoto", "x"});
  EXPECT_TRUE(Resolver::affects(c, t));
}

}  // namespace
}  // namespace trellis::control::destination
