#include "resources/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using testing::decode_yaml;

base::Cidr cidr(const char* s) { return *base::Cidr::parse(s); }
base::IpAddress ip(const char* s) { return *base::IpAddress::parse(s); }

// apiVersion/kind/metadata for `kind` in namespace emojivoto, followed by `body` (a top-level
// `spec:` block).
std::string doc(const std::string& api_version, const std::string& kind, const std::string& body) {
  return "apiVersion: " + api_version + "\nkind: " + kind +
         "\nmetadata:\n  name: test\n  namespace: emojivoto\n" + body;
}

// ---------------------------------------------------------------------------------------------
// Server

TEST(ServerTest, V1beta3AllFields) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1beta3", "Server", R"(
spec:
  podSelector:
    matchLabels:
      app: web
    matchExpressions:
    - key: tier
      operator: In
      values: [frontend, edge]
  port: 8080
  proxyProtocol: HTTP/2
  accessPolicy: cluster-authenticated
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Server* s = r.first<Server>();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->selects, Server::Selects::kPods);
  EXPECT_EQ(s->selector.match_labels, (std::map<std::string, std::string>{{"app", "web"}}));
  ASSERT_EQ(s->selector.match_expressions.size(), 1u);
  EXPECT_EQ(s->selector.match_expressions[0].key, "tier");
  EXPECT_EQ(s->selector.match_expressions[0].op, "In");
  EXPECT_THAT(s->selector.match_expressions[0].values, ElementsAre("frontend", "edge"));
  ASSERT_TRUE(s->port.is_number());
  EXPECT_EQ(s->port.number(), 8080);
  EXPECT_EQ(s->proxy_protocol, ProxyProtocol::kHttp2);
  EXPECT_EQ(s->access_policy, DefaultPolicy::kClusterAuthenticated);
}

TEST(ServerTest, V1beta2ExternalWorkloadSelectorAndDefaults) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1beta2", "Server", R"(
spec:
  externalWorkloadSelector:
    matchLabels:
      app: legacy-db
  port: postgres
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Server* s = r.first<Server>();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->selects, Server::Selects::kExternalWorkloads);
  EXPECT_EQ(s->selector.match_labels,
            (std::map<std::string, std::string>{{"app", "legacy-db"}}));
  ASSERT_FALSE(s->port.is_number());
  EXPECT_EQ(s->port.name(), "postgres");
  EXPECT_EQ(s->proxy_protocol, ProxyProtocol::kUnknown);  // detect
  EXPECT_EQ(s->access_policy, DefaultPolicy::kDeny);      // default for every version
}

TEST(ServerTest, V1alpha1IsDeprecatedButDecoded) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "Server", R"(
spec:
  podSelector: {}
  port: 9090
  proxyProtocol: opaque
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: policy.linkerd.io/v1alpha1 Server is deprecated; use "
                          "policy.linkerd.io/v1beta3"));
  const Server* s = r.first<Server>();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->selector.empty());  // selects every pod in the namespace
  EXPECT_EQ(s->port.number(), 9090);
  EXPECT_EQ(s->proxy_protocol, ProxyProtocol::kOpaque);
  EXPECT_EQ(s->access_policy, DefaultPolicy::kDeny);
}

TEST(ServerTest, EveryProxyProtocolAndAccessPolicy) {
  const std::pair<const char*, ProxyProtocol> protocols[] = {
      {"unknown", ProxyProtocol::kUnknown}, {"HTTP/1", ProxyProtocol::kHttp1},
      {"HTTP/2", ProxyProtocol::kHttp2},    {"gRPC", ProxyProtocol::kGrpc},
      {"opaque", ProxyProtocol::kOpaque},   {"TLS", ProxyProtocol::kTls}};
  for (const auto& [text, value] : protocols) {
    const std::string spec = "spec:\n  podSelector: {}\n  port: 80\n  proxyProtocol: ";
    auto r = decode_yaml(doc("policy.linkerd.io/v1beta3", "Server", spec + text + "\n"));
    EXPECT_THAT(r.errors(), IsEmpty()) << text;
    ASSERT_NE(r.first<Server>(), nullptr);
    EXPECT_EQ(r.first<Server>()->proxy_protocol, value) << text;
    EXPECT_EQ(to_string(value), text);
  }
  const std::pair<const char*, DefaultPolicy> policies[] = {
      {"all-unauthenticated", DefaultPolicy::kAllUnauthenticated},
      {"all-authenticated", DefaultPolicy::kAllAuthenticated},
      {"cluster-unauthenticated", DefaultPolicy::kClusterUnauthenticated},
      {"cluster-authenticated", DefaultPolicy::kClusterAuthenticated},
      {"deny", DefaultPolicy::kDeny},
      {"audit", DefaultPolicy::kAudit}};
  for (const auto& [text, value] : policies) {
    const std::string spec = "spec:\n  podSelector: {}\n  port: 80\n  accessPolicy: ";
    auto r = decode_yaml(doc("policy.linkerd.io/v1beta3", "Server", spec + text + "\n"));
    EXPECT_THAT(r.errors(), IsEmpty()) << text;
    ASSERT_NE(r.first<Server>(), nullptr);
    EXPECT_EQ(r.first<Server>()->access_policy, value) << text;
    EXPECT_EQ(to_string(value), text);
    EXPECT_EQ(parse_default_policy(text), value);
  }
  EXPECT_EQ(parse_default_policy("allow"), std::nullopt);
}

// The seed's template 5: a v1beta1 Server and two ServerAuthorizations.
TEST(ServerTest, SeedTemplate5) {
  auto r = decode_yaml(R"(# Define the server
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata:
  name: my-service-http
  namespace: my-namespace
spec:
  podSelector:
    matchLabels:
      app: my-service
  port: http
  proxyProtocol: HTTP/1
---
# Allow traffic from specific clients
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata:
  name: allow-frontend
  namespace: my-namespace
spec:
  server:
    name: my-service-http
  client:
    meshTLS:
      serviceAccounts:
      - name: frontend
        namespace: my-namespace
---
# Allow unauthenticated traffic (e.g., from ingress)
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata:
  name: allow-ingress
  namespace: my-namespace
spec:
  server:
    name: my-service-http
  client:
    unauthenticated: true
    networks:
    - cidr: 10.0.0.0/8
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: policy.linkerd.io/v1beta1 Server is deprecated; use "
                          "policy.linkerd.io/v1beta3"));
  ASSERT_EQ(r.resources.size(), 3u);

  const Server* s = r.resources[0].as<Server>();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->selector.match_labels,
            (std::map<std::string, std::string>{{"app", "my-service"}}));
  EXPECT_EQ(s->port.name(), "http");
  EXPECT_EQ(s->proxy_protocol, ProxyProtocol::kHttp1);
  EXPECT_EQ(s->access_policy, DefaultPolicy::kDeny);

  const auto* frontend = r.resources[1].as<ServerAuthorization>();
  ASSERT_NE(frontend, nullptr);
  EXPECT_EQ(frontend->server_name, "my-service-http");
  EXPECT_FALSE(frontend->server_selector.has_value());
  EXPECT_EQ(frontend->authentication, ClientAuthentication::kTlsAuthenticated);
  ASSERT_EQ(frontend->service_accounts.size(), 1u);
  EXPECT_EQ(frontend->service_accounts[0].name, "frontend");
  EXPECT_EQ(frontend->service_accounts[0].ns, "my-namespace");
  EXPECT_THAT(frontend->identities, IsEmpty());
  // No networks written: every IPv4 and IPv6 address.
  ASSERT_EQ(frontend->networks.size(), 2u);
  EXPECT_EQ(frontend->networks[0].cidr, cidr("0.0.0.0/0"));
  EXPECT_EQ(frontend->networks[1].cidr, cidr("::/0"));

  const auto* ingress = r.resources[2].as<ServerAuthorization>();
  ASSERT_NE(ingress, nullptr);
  EXPECT_EQ(ingress->authentication, ClientAuthentication::kUnauthenticated);
  ASSERT_EQ(ingress->networks.size(), 1u);
  EXPECT_EQ(ingress->networks[0].cidr, cidr("10.0.0.0/8"));
  EXPECT_THAT(ingress->networks[0].except, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// ServerAuthorization

TEST(ServerAuthorizationTest, SelectorIdentitiesNetworksWithExcept) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1beta1", "ServerAuthorization", R"(
spec:
  server:
    selector:
      matchLabels:
        policy: internal
  client:
    networks:
    - cidr: 10.0.0.0/8
      except: [10.1.0.0/16, 10.2.3.4]
    - cidr: fd00::/8
    meshTLS:
      identities:
      - "*.emojivoto.serviceaccount.identity.linkerd.cluster.local"
      - web.emojivoto.serviceaccount.identity.linkerd.cluster.local
      - spiffe://root.linkerd.cluster.local/vm/billing
      serviceAccounts:
      - name: vote-bot
        namespace: bots
      - name: emoji
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* a = r.first<ServerAuthorization>();
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->server_name.empty());
  ASSERT_TRUE(a->server_selector.has_value());
  EXPECT_EQ(a->server_selector->match_labels,
            (std::map<std::string, std::string>{{"policy", "internal"}}));
  ASSERT_EQ(a->networks.size(), 2u);
  EXPECT_EQ(a->networks[0].cidr, cidr("10.0.0.0/8"));
  EXPECT_THAT(a->networks[0].except, ElementsAre(cidr("10.1.0.0/16"), cidr("10.2.3.4/32")));
  EXPECT_EQ(a->networks[1].cidr, cidr("fd00::/8"));
  EXPECT_EQ(a->authentication, ClientAuthentication::kTlsAuthenticated);
  const std::string ns_suffix = "emojivoto.serviceaccount.identity.linkerd.cluster.local";
  EXPECT_THAT(a->identities,
              ElementsAre(IdentityMatch{IdentityMatch::Type::kSuffix, ns_suffix},
                          IdentityMatch{IdentityMatch::Type::kExact, "web." + ns_suffix},
                          IdentityMatch{IdentityMatch::Type::kExact,
                                        "spiffe://root.linkerd.cluster.local/vm/billing"}));
  ASSERT_EQ(a->service_accounts.size(), 2u);
  EXPECT_EQ(a->service_accounts[0].name, "vote-bot");
  EXPECT_EQ(a->service_accounts[0].ns, "bots");
  EXPECT_EQ(a->service_accounts[1].name, "emoji");
  EXPECT_EQ(a->service_accounts[1].ns, "emojivoto");  // the authorization's namespace
}

TEST(ServerAuthorizationTest, V1alpha1UnauthenticatedTlsAnyIdentity) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "ServerAuthorization", R"(
spec:
  server:
    name: web-http
  client:
    meshTLS:
      unauthenticatedTLS: true
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: policy.linkerd.io/v1alpha1 ServerAuthorization is "
                          "deprecated; use policy.linkerd.io/v1beta1"));
  const auto* a = r.first<ServerAuthorization>();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->server_name, "web-http");
  EXPECT_EQ(a->authentication, ClientAuthentication::kTlsUnauthenticated);
  EXPECT_THAT(a->identities, IsEmpty());
}

TEST(ServerAuthorizationTest, EmptyNetworkListWarnsAndMatchesNothing) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1beta1", "ServerAuthorization", R"(
spec:
  server:
    name: web-http
  client:
    networks: []
    unauthenticated: true
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.client.networks: an empty list matches no client; omit networks "
                          "to allow clients from any network"));
  ASSERT_NE(r.first<ServerAuthorization>(), nullptr);
  EXPECT_THAT(r.first<ServerAuthorization>()->networks, IsEmpty());
}

TEST(ServerAuthorizationTest, CidrWithHostBitsWarnsWithTheMeantNetwork) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1beta1", "ServerAuthorization", R"(
spec:
  server:
    name: web-http
  client:
    unauthenticated: true
    networks:
    - cidr: 10.1.2.3/8
    - cidr: fd00::1/64
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.client.networks[0].cidr: CIDR \"10.1.2.3/8\" has bits set after "
                          "the /8 prefix; it means \"10.0.0.0/8\"",
                          "spec.client.networks[1].cidr: CIDR \"fd00::1/64\" has bits set after "
                          "the /64 prefix; it means \"fd00::/64\""));
}

// ---------------------------------------------------------------------------------------------
// AuthorizationPolicy

TEST(AuthorizationPolicyTest, ServerTargetWithMeshTlsAndNetworkAuthentication) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", R"(
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: web-http
  requiredAuthenticationRefs:
  - group: policy.linkerd.io
    kind: MeshTLSAuthentication
    name: web-clients
  - group: policy.linkerd.io
    kind: NetworkAuthentication
    name: cluster-nets
    namespace: linkerd
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* p = r.first<AuthorizationPolicy>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->target_kind, AuthorizationPolicy::TargetKind::kServer);
  EXPECT_EQ(p->target.group, "policy.linkerd.io");
  EXPECT_EQ(p->target.kind, "Server");
  EXPECT_EQ(p->target.name, "web-http");
  EXPECT_EQ(p->target.ns, "emojivoto");
  ASSERT_TRUE(p->mesh_tls_authentication.has_value());
  EXPECT_EQ(p->mesh_tls_authentication->name, "web-clients");
  EXPECT_EQ(p->mesh_tls_authentication->ns, "emojivoto");
  ASSERT_TRUE(p->network_authentication.has_value());
  EXPECT_EQ(p->network_authentication->name, "cluster-nets");
  EXPECT_EQ(p->network_authentication->ns, "linkerd");  // cross-namespace refs are allowed
  EXPECT_FALSE(p->service_account.has_value());
}

TEST(AuthorizationPolicyTest, RouteTargetsAndServiceAccount) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", R"(
spec:
  targetRef:
    group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: web-admin
  requiredAuthenticationRefs:
  - kind: ServiceAccount
    name: admin
    namespace: ops
)") + "---\n" +
                       doc("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", R"(
spec:
  targetRef:
    group: policy.linkerd.io
    kind: HTTPRoute
    name: web-api
  requiredAuthenticationRefs:
  - group: core
    kind: ServiceAccount
    name: web
    namespace: ""
)") + "---\n" +
                       doc("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", R"(
spec:
  targetRef:
    group: gateway.networking.k8s.io
    kind: GRPCRoute
    name: emoji-grpc
  requiredAuthenticationRefs: []
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  ASSERT_EQ(r.resources.size(), 3u);

  const auto* gw = r.resources[0].as<AuthorizationPolicy>();
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(gw->target_kind, AuthorizationPolicy::TargetKind::kHttpRoute);
  EXPECT_EQ(gw->target.group, "gateway.networking.k8s.io");
  ASSERT_TRUE(gw->service_account.has_value());
  EXPECT_EQ(gw->service_account->name, "admin");
  EXPECT_EQ(gw->service_account->ns, "ops");
  EXPECT_FALSE(gw->mesh_tls_authentication.has_value());

  const auto* policy_route = r.resources[1].as<AuthorizationPolicy>();
  ASSERT_NE(policy_route, nullptr);
  EXPECT_EQ(policy_route->target_kind, AuthorizationPolicy::TargetKind::kHttpRoute);
  EXPECT_EQ(policy_route->target.group, "policy.linkerd.io");
  ASSERT_TRUE(policy_route->service_account.has_value());
  EXPECT_EQ(policy_route->service_account->ns, "emojivoto");  // "" is the local namespace

  const auto* grpc = r.resources[2].as<AuthorizationPolicy>();
  ASSERT_NE(grpc, nullptr);
  EXPECT_EQ(grpc->target_kind, AuthorizationPolicy::TargetKind::kGrpcRoute);
  // No authentication required: every client is authorized.
  EXPECT_FALSE(grpc->mesh_tls_authentication || grpc->network_authentication ||
               grpc->service_account);
}

TEST(AuthorizationPolicyTest, NamespaceTargetInOwnNamespace) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", R"(
spec:
  targetRef:
    kind: Namespace
    name: emojivoto
  requiredAuthenticationRefs:
  - group: policy.linkerd.io
    kind: NetworkAuthentication
    name: cluster-nets
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  const auto* p = r.first<AuthorizationPolicy>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->target_kind, AuthorizationPolicy::TargetKind::kNamespace);
  EXPECT_EQ(p->target.group, "");
  EXPECT_EQ(p->target.name, "emojivoto");
}

// A policy without metadata.namespace lives in "default", so a Namespace target must be that.
TEST(AuthorizationPolicyTest, NamespaceTargetDefaultsToDefaultNamespace) {
  auto r = decode_yaml(R"(
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: all
spec:
  targetRef:
    kind: Namespace
    name: kube-system
  requiredAuthenticationRefs: []
)");
  EXPECT_THAT(r.errors(),
              ElementsAre("spec.targetRef.name: a Namespace target must be the policy's own "
                          "namespace \"default\""));
}

// ---------------------------------------------------------------------------------------------
// MeshTLSAuthentication, NetworkAuthentication

TEST(MeshTLSAuthenticationTest, Identities) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication", R"(
spec:
  identities:
  - "*"
  - vote-bot.emojivoto.serviceaccount.identity.linkerd.cluster.local
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* m = r.first<MeshTLSAuthentication>();
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(m->identities,
              ElementsAre(IdentityMatch{IdentityMatch::Type::kSuffix, ""},
                          IdentityMatch{IdentityMatch::Type::kExact,
                                        "vote-bot.emojivoto.serviceaccount.identity.linkerd."
                                        "cluster.local"}));
  EXPECT_THAT(m->identity_refs, IsEmpty());
}

TEST(MeshTLSAuthenticationTest, IdentityRefs) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication", R"(
spec:
  identityRefs:
  - kind: ServiceAccount
    name: web
  - kind: ServiceAccount
    name: prometheus
    namespace: linkerd-viz
  - group: core
    kind: Namespace
    name: ingress
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* m = r.first<MeshTLSAuthentication>();
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(m->identities, IsEmpty());
  using Kind = MeshTLSAuthentication::IdentityRef::Kind;
  ASSERT_EQ(m->identity_refs.size(), 3u);
  EXPECT_EQ(m->identity_refs[0].kind, Kind::kServiceAccount);
  EXPECT_EQ(m->identity_refs[0].name, "web");
  EXPECT_EQ(m->identity_refs[0].ns, "emojivoto");
  EXPECT_EQ(m->identity_refs[1].kind, Kind::kServiceAccount);
  EXPECT_EQ(m->identity_refs[1].name, "prometheus");
  EXPECT_EQ(m->identity_refs[1].ns, "linkerd-viz");
  EXPECT_EQ(m->identity_refs[2].kind, Kind::kNamespace);
  EXPECT_EQ(m->identity_refs[2].name, "ingress");
}

TEST(NetworkAuthenticationTest, V4AndV6Networks) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "NetworkAuthentication", R"(
spec:
  networks:
  - cidr: 10.0.0.0/8
    except:
    - 10.96.0.0/12
  - cidr: 100.64.0.0/10
  - cidr: fd00::/8
    except: [fd00:1::/32]
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* n = r.first<NetworkAuthentication>();
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->networks.size(), 3u);
  EXPECT_EQ(n->networks[0].cidr, cidr("10.0.0.0/8"));
  EXPECT_THAT(n->networks[0].except, ElementsAre(cidr("10.96.0.0/12")));
  EXPECT_EQ(n->networks[1].cidr, cidr("100.64.0.0/10"));
  EXPECT_EQ(n->networks[2].cidr, cidr("fd00::/8"));
  EXPECT_THAT(n->networks[2].except, ElementsAre(cidr("fd00:1::/32")));
  EXPECT_TRUE(n->networks[0].contains(ip("10.1.2.3")));
  EXPECT_FALSE(n->networks[0].contains(ip("10.100.0.1")));  // excepted
  EXPECT_TRUE(n->networks[2].contains(ip("fd00:2::1")));
  EXPECT_FALSE(n->networks[2].contains(ip("fd00:1::1")));
}

// ---------------------------------------------------------------------------------------------
// HTTPLocalRateLimitPolicy, EgressNetwork

TEST(HttpLocalRateLimitPolicyTest, AllLimits) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "HTTPLocalRateLimitPolicy", R"(
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: web-http
  total:
    requestsPerSecond: 100
  identity:
    requestsPerSecond: 20
  overrides:
  - requestsPerSecond: 50
    clientRefs:
    - kind: ServiceAccount
      name: vote-bot
    - kind: ServiceAccount
      name: loadgen
      namespace: testing
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* p = r.first<HttpLocalRateLimitPolicy>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->server, "web-http");
  EXPECT_EQ(p->total_rps, 100u);
  EXPECT_EQ(p->identity_rps, 20u);
  ASSERT_EQ(p->overrides.size(), 1u);
  EXPECT_EQ(p->overrides[0].requests_per_second, 50u);
  ASSERT_EQ(p->overrides[0].clients.size(), 2u);
  EXPECT_EQ(p->overrides[0].clients[0].name, "vote-bot");
  EXPECT_EQ(p->overrides[0].clients[0].ns, "emojivoto");
  EXPECT_EQ(p->overrides[0].clients[1].name, "loadgen");
  EXPECT_EQ(p->overrides[0].clients[1].ns, "testing");
}

TEST(HttpLocalRateLimitPolicyTest, IdentityOnlyLeavesTotalUnset) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "HTTPLocalRateLimitPolicy", R"(
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  identity:
    requestsPerSecond: 4294967295
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  const auto* p = r.first<HttpLocalRateLimitPolicy>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->total_rps, std::nullopt);
  EXPECT_EQ(p->identity_rps, 4294967295u);
  EXPECT_THAT(p->overrides, IsEmpty());
}

TEST(HttpLocalRateLimitPolicyTest, NoLimitsWarns) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "HTTPLocalRateLimitPolicy", R"(
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec: sets no limit (total, identity or overrides), so it has no "
                          "effect"));
}

TEST(EgressNetworkTest, NetworksAndTrafficPolicy) {
  auto r = decode_yaml(doc("policy.linkerd.io/v1alpha1", "EgressNetwork", R"(
spec:
  networks:
  - cidr: 0.0.0.0/0
    except: [169.254.169.254/32]
  trafficPolicy: Allow
)") + "---\n" + doc("policy.linkerd.io/v1alpha1", "EgressNetwork", R"(
spec:
  trafficPolicy: Deny
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  ASSERT_EQ(r.resources.size(), 2u);
  const auto* allow = r.resources[0].as<EgressNetwork>();
  ASSERT_NE(allow, nullptr);
  EXPECT_EQ(allow->traffic_policy, EgressNetwork::TrafficPolicy::kAllow);
  ASSERT_EQ(allow->networks.size(), 1u);
  EXPECT_EQ(allow->networks[0].cidr, cidr("0.0.0.0/0"));
  EXPECT_THAT(allow->networks[0].except, ElementsAre(cidr("169.254.169.254/32")));
  EXPECT_FALSE(allow->networks[0].contains(ip("169.254.169.254")));
  EXPECT_TRUE(allow->networks[0].contains(ip("93.184.216.34")));
  const auto* deny = r.resources[1].as<EgressNetwork>();
  ASSERT_NE(deny, nullptr);
  EXPECT_EQ(deny->traffic_policy, EgressNetwork::TrafficPolicy::kDeny);
  EXPECT_THAT(deny->networks, IsEmpty());  // everything outside the cluster networks
}

// ---------------------------------------------------------------------------------------------
// Helpers

TEST(IdentityMatchTest, ExactAndSuffix) {
  const IdentityMatch any{IdentityMatch::Type::kSuffix, ""};
  EXPECT_TRUE(any.matches("web.emojivoto.serviceaccount.identity.linkerd.cluster.local"));
  EXPECT_FALSE(any.matches(""));  // no identity: not authenticated
  const IdentityMatch ns{IdentityMatch::Type::kSuffix,
                         "emojivoto.serviceaccount.identity.linkerd.cluster.local"};
  EXPECT_TRUE(ns.matches("web.emojivoto.serviceaccount.identity.linkerd.cluster.local"));
  EXPECT_FALSE(ns.matches("emojivoto.serviceaccount.identity.linkerd.cluster.local"));
  EXPECT_FALSE(ns.matches("webemojivoto.serviceaccount.identity.linkerd.cluster.local"));
  EXPECT_FALSE(ns.matches("web.other.serviceaccount.identity.linkerd.cluster.local"));
  const IdentityMatch exact{IdentityMatch::Type::kExact, "a.b"};
  EXPECT_TRUE(exact.matches("a.b"));
  EXPECT_FALSE(exact.matches("x.a.b"));
}

TEST(CheckMeshIdentityTest, Forms) {
  EXPECT_EQ(check_mesh_identity("*", true), "");
  EXPECT_EQ(check_mesh_identity("*.ns.serviceaccount.identity.linkerd.cluster.local", true), "");
  EXPECT_EQ(check_mesh_identity("spiffe://td.example/ns/a/sa/b", false), "");
  EXPECT_EQ(check_mesh_identity("*", false), "must not contain a wildcard");
  EXPECT_EQ(check_mesh_identity("", true), "must not be empty");
  EXPECT_EQ(check_mesh_identity("spiffe:///path", false),
            "a spiffe:// identity needs a trust domain (spiffe://<domain>/<path>)");
  EXPECT_EQ(check_mesh_identity("spiffe://TD/x", false),
            "the SPIFFE trust domain may contain only lower case letters, digits, '.', '-' and "
            "'_'");
  EXPECT_EQ(check_mesh_identity("a..b", false),
            "must not contain empty labels (e.g. 'a..b'); expected a DNS-like name such as "
            "\"web.emojivoto.serviceaccount.identity.linkerd.cluster.local\"");
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: each row is a manifest and exactly the errors it must produce.

struct BadCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> errors;
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

std::string server(const std::string& spec, const std::string& version = "v1beta3") {
  return doc("policy.linkerd.io/" + version, "Server", spec);
}
std::string saz(const std::string& spec) {
  return doc("policy.linkerd.io/v1beta1", "ServerAuthorization", spec);
}
std::string authz(const std::string& spec) {
  return doc("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", spec);
}
std::string mtls(const std::string& spec) {
  return doc("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication", spec);
}
std::string netauthn(const std::string& spec) {
  return doc("policy.linkerd.io/v1alpha1", "NetworkAuthentication", spec);
}
std::string ratelimit(const std::string& spec) {
  return doc("policy.linkerd.io/v1alpha1", "HTTPLocalRateLimitPolicy", spec);
}
std::string egress(const std::string& spec) {
  return doc("policy.linkerd.io/v1alpha1", "EgressNetwork", spec);
}

const char* const kTarget = R"(
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
)";

std::vector<BadCase> bad_cases() {
  return {
      // ---- Server ----
      {"server_missing_spec", server(""), {"spec: missing required field"}},
      {"server_unknown_field_typo",
       server("spec:\n  podSelecter: {}\n  port: 80\n"),
       {"spec.podSelector: missing required field: a Server selects pods with podSelector or "
        "external workloads with externalWorkloadSelector",
        "spec.podSelecter: unknown field \"podSelecter\" (did you mean \"podSelector\"?)"}},
      {"server_v1beta1_pod_selector_required",
       server("spec:\n  port: 80\n", "v1beta1"),
       {"spec.podSelector: missing required field"}},
      {"server_missing_port",
       server("spec:\n  podSelector: {}\n"),
       {"spec.port: missing required field"}},
      {"server_port_zero",
       server("spec:\n  podSelector: {}\n  port: 0\n"),
       {"spec.port: value 0 is out of range [1, 65535]"}},
      {"server_port_bad_name",
       server("spec:\n  podSelector: {}\n  port: HTTP_Port\n"),
       {"spec.port: invalid port name \"HTTP_Port\": must contain only lower case alphanumeric "
        "characters and '-'"}},
      {"server_port_list",
       server("spec:\n  podSelector: {}\n  port: [80]\n"),
       {"spec.port: expected a port number (1-65535) or a port name, got a list"}},
      {"server_bad_proxy_protocol",
       server("spec:\n  podSelector: {}\n  port: 80\n  proxyProtocol: HTTP/1.1\n"),
       {"spec.proxyProtocol: unsupported value \"HTTP/1.1\"; expected one of: unknown, HTTP/1, "
        "HTTP/2, gRPC, opaque, TLS (did you mean \"HTTP/1\"?)"}},
      {"server_both_selectors",
       server("spec:\n  podSelector: {}\n  externalWorkloadSelector: {}\n  port: 80\n"),
       {"spec.externalWorkloadSelector: podSelector and externalWorkloadSelector are mutually "
        "exclusive; a Server selects either pods or external workloads"}},
      {"server_external_selector_before_v1beta2",
       server("spec:\n  externalWorkloadSelector: {}\n  port: 80\n", "v1beta1"),
       {"spec.podSelector: missing required field",
        "spec.externalWorkloadSelector: unknown field \"externalWorkloadSelector\"; "
        "externalWorkloadSelector requires apiVersion policy.linkerd.io/v1beta2 or later"}},
      {"server_access_policy_before_v1beta3",
       server("spec:\n  podSelector: {}\n  port: 80\n  accessPolicy: deny\n", "v1beta2"),
       {"spec.accessPolicy: unknown field \"accessPolicy\"; accessPolicy requires apiVersion "
        "policy.linkerd.io/v1beta3 (older versions always deny traffic that no authorization "
        "allows)"}},
      {"server_bad_access_policy",
       server("spec:\n  podSelector: {}\n  port: 80\n  accessPolicy: Deny\n"),
       {"spec.accessPolicy: unsupported value \"Deny\"; expected one of: all-unauthenticated, "
        "all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit (did "
        "you mean \"deny\"?)"}},
      {"server_bad_selector_operator",
       server("spec:\n  podSelector:\n    matchExpressions:\n    - key: app\n      operator: "
              "Equals\n      values: [web]\n  port: 80\n"),
       {"spec.podSelector.matchExpressions[0].operator: unsupported value \"Equals\"; expected "
        "one of: In, NotIn, Exists, DoesNotExist"}},
      {"server_selector_in_without_values",
       server("spec:\n  podSelector:\n    matchExpressions:\n    - key: app\n      operator: "
              "In\n  port: 80\n"),
       {"spec.podSelector.matchExpressions[0].values: must be non-empty when operator is In"}},
      {"server_selector_bad_label_value",
       server("spec:\n  podSelector:\n    matchLabels:\n      app: -web\n  port: 80\n"),
       {"spec.podSelector.matchLabels.app: invalid label value \"-web\": must start and end "
        "with an alphanumeric character"}},
      {"server_selector_wrong_type",
       server("spec:\n  podSelector: web\n  port: 80\n"),
       {"spec.podSelector: expected a map, got the string \"web\""}},

      // ---- ServerAuthorization ----
      {"saz_server_name_and_selector",
       saz(R"(spec:
  server: {name: web-http, selector: {matchLabels: {app: web}}}
  client: {unauthenticated: true}
)"),
       {"spec.server.selector: name and selector are mutually exclusive; target one Server by "
        "name or Servers by label"}},
      {"saz_server_empty",
       saz("spec:\n  server: {}\n  client: {unauthenticated: true}\n"),
       {"spec.server: must set name (one Server) or selector (Servers by label)"}},
      {"saz_server_bad_name",
       saz("spec:\n  server: {name: Web_HTTP}\n  client: {unauthenticated: true}\n"),
       {"spec.server.name: invalid Server name \"Web_HTTP\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"saz_missing_client",
       saz("spec:\n  server: {name: web-http}\n"),
       {"spec.client: missing required field"}},
      {"saz_unauthenticated_with_mesh_tls",
       saz(R"(spec:
  server: {name: web-http}
  client:
    unauthenticated: true
    meshTLS:
      identities: ["*"]
)"),
       {"spec.client.unauthenticated: must be false when meshTLS is set (unauthenticated "
        "already allows clients with or without mTLS); remove one of them"}},
      {"saz_unauthenticated_tls_with_identities",
       saz(R"(spec:
  server: {name: web-http}
  client:
    meshTLS:
      unauthenticatedTLS: true
      serviceAccounts: [{name: web}]
)"),
       {"spec.client.meshTLS.unauthenticatedTLS: must be false when identities or "
        "serviceAccounts are given (unauthenticatedTLS accepts any mTLS client, so the list "
        "would have no effect)"}},
      {"saz_client_says_nothing",
       saz(R"(spec:
  server: {name: web-http}
  client:
    networks: [{cidr: 10.0.0.0/8}]
)"),
       {"spec.client: must allow some clients: set unauthenticated: true or meshTLS (networks "
        "alone only restrict where clients connect from)"}},
      {"saz_mesh_tls_empty",
       saz("spec:\n  server: {name: web-http}\n  client:\n    meshTLS: {}\n"),
       {"spec.client.meshTLS: must set identities, serviceAccounts or unauthenticatedTLS: "
        "true"}},
      {"saz_unauthenticated_not_bool",
       saz("spec:\n  server: {name: web-http}\n  client:\n    unauthenticated: yes please\n"),
       {"spec.client: must allow some clients: set unauthenticated: true or meshTLS (networks "
        "alone only restrict where clients connect from)",
        "spec.client.unauthenticated: expected a boolean (true or false), got the string \"yes "
        "please\""}},
      {"saz_bad_cidr_prefix",
       saz(R"(spec:
  server: {name: web-http}
  client:
    unauthenticated: true
    networks: [{cidr: 10.0.0.0/33}]
)"),
       {"spec.client.networks[0].cidr: invalid CIDR \"10.0.0.0/33\": prefix length 33 exceeds "
        "32"}},
      {"saz_except_outside_cidr",
       saz(R"(spec:
  server: {name: web-http}
  client:
    unauthenticated: true
    networks:
    - cidr: 10.0.0.0/8
      except: [192.168.0.0/16, 10.0.0.0/4, "::1"]
)"),
       {"spec.client.networks[0].except[0]: \"192.168.0.0/16\" is not inside cidr "
        "\"10.0.0.0/8\"; except can only carve addresses out of the network's own range",
        "spec.client.networks[0].except[1]: \"10.0.0.0/4\" is not inside cidr \"10.0.0.0/8\"; "
        "except can only carve addresses out of the network's own range",
        "spec.client.networks[0].except[2]: \"::1/128\" is not inside cidr \"10.0.0.0/8\"; "
        "except can only carve addresses out of the network's own range"}},
      {"saz_network_missing_cidr",
       saz(R"(spec:
  server: {name: web-http}
  client:
    unauthenticated: true
    networks: [{except: [10.1.0.0/16]}]
)"),
       {"spec.client.networks[0].cidr: missing required field"}},
      {"saz_bad_identity_case",
       saz(R"(spec:
  server: {name: web-http}
  client:
    meshTLS:
      identities: [Web.emojivoto.serviceaccount.identity.linkerd.cluster.local]
)"),
       {"spec.client.meshTLS.identities[0]: invalid identity "
        "\"Web.emojivoto.serviceaccount.identity.linkerd.cluster.local\": must consist of lower "
        "case alphanumeric characters, '-' or '.' (e.g. 'example.com'); expected a DNS-like "
        "name such as \"web.emojivoto.serviceaccount.identity.linkerd.cluster.local\""}},
      {"saz_bad_identity_wildcard",
       saz(R"(spec:
  server: {name: web-http}
  client:
    meshTLS:
      identities: ["web.*.serviceaccount.identity.linkerd.cluster.local"]
)"),
       {"spec.client.meshTLS.identities[0]: invalid identity "
        "\"web.*.serviceaccount.identity.linkerd.cluster.local\": a wildcard may only be \"*\" "
        "or a leading \"*.\""}},
      {"saz_service_account_missing_name",
       saz(R"(spec:
  server: {name: web-http}
  client:
    meshTLS:
      serviceAccounts: [{namespace: emojivoto}]
)"),
       {"spec.client.meshTLS.serviceAccounts[0].name: missing required field"}},
      {"saz_service_account_bad_namespace",
       saz(R"(spec:
  server: {name: web-http}
  client:
    meshTLS:
      serviceAccounts: [{name: web, namespace: Emoji.Voto}]
)"),
       {"spec.client.meshTLS.serviceAccounts[0].namespace: invalid namespace \"Emoji.Voto\": "
        "must consist of lower case alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"saz_mesh_tls_typo",
       saz(R"(spec:
  server: {name: web-http}
  client:
    meshTLS:
      serviceAccount: [{name: web}]
)"),
       {"spec.client.meshTLS: must set identities, serviceAccounts or unauthenticatedTLS: true",
        "spec.client.meshTLS.serviceAccount: unknown field \"serviceAccount\" (did you mean "
        "\"serviceAccounts\"?)"}},

      // ---- AuthorizationPolicy ----
      {"authz_unsupported_target_kind",
       authz(R"(spec:
  targetRef: {kind: Service, name: web}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.kind: unsupported value \"Service\"; expected one of: Server, HTTPRoute, "
        "GRPCRoute, Namespace"}},
      {"authz_server_wrong_group",
       authz(R"(spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.group: group \"gateway.networking.k8s.io\" does not serve kind Server; "
        "use \"policy.linkerd.io\""}},
      {"authz_server_missing_group",
       authz(R"(spec:
  targetRef: {kind: Server, name: web-http}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.group: missing required field: kind Server is in group "
        "\"policy.linkerd.io\""}},
      {"authz_http_route_missing_group",
       authz(R"(spec:
  targetRef: {kind: HTTPRoute, name: web-api}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.group: missing required field: kind HTTPRoute is in group "
        "\"policy.linkerd.io\" or \"gateway.networking.k8s.io\""}},
      {"authz_grpc_route_policy_group",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: GRPCRoute, name: emoji}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.group: group \"policy.linkerd.io\" does not serve kind GRPCRoute; use "
        "\"gateway.networking.k8s.io\""}},
      {"authz_target_cross_namespace",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http, namespace: other}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.namespace: unknown field \"namespace\"; a policy's targetRef is always "
        "in the policy's own namespace"}},
      {"authz_namespace_target_other_namespace",
       authz(R"(spec:
  targetRef: {kind: Namespace, name: kube-system}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.name: a Namespace target must be the policy's own namespace "
        "\"emojivoto\""}},
      {"authz_target_missing_name",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server}
  requiredAuthenticationRefs: []
)"),
       {"spec.targetRef.name: missing required field"}},
      {"authz_missing_required_authentication_refs",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
)"),
       {"spec.requiredAuthenticationRefs: missing required field"}},
      {"authz_refs_not_a_list",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: {kind: ServiceAccount, name: web}
)"),
       {"spec.requiredAuthenticationRefs: expected a list, got a map"}},
      {"authz_two_mesh_tls_authentications",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: b}
)"),
       {"spec.requiredAuthenticationRefs[1]: only one MeshTLSAuthentication may be referenced "
        "(all refs must be satisfied together; list every allowed identity in one "
        "MeshTLSAuthentication)"}},
      {"authz_two_network_authentications",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: NetworkAuthentication, name: a}
  - {group: policy.linkerd.io, kind: NetworkAuthentication, name: b}
)"),
       {"spec.requiredAuthenticationRefs[1]: only one NetworkAuthentication may be referenced "
        "(all refs must be satisfied together; list every allowed network in one "
        "NetworkAuthentication)"}},
      {"authz_two_service_accounts",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {kind: ServiceAccount, name: a}
  - {kind: ServiceAccount, name: b}
)"),
       {"spec.requiredAuthenticationRefs[1]: only one ServiceAccount may be referenced (to "
        "allow several, use a MeshTLSAuthentication with identityRefs)"}},
      {"authz_mesh_tls_and_service_account",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}
  - {kind: ServiceAccount, name: web}
)"),
       {"spec.requiredAuthenticationRefs[1]: a ServiceAccount cannot be combined with a "
        "MeshTLSAuthentication; both require a client identity, so name the account in the "
        "MeshTLSAuthentication's identityRefs"}},
      {"authz_service_account_then_mesh_tls",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {kind: ServiceAccount, name: web}
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}
)"),
       {"spec.requiredAuthenticationRefs[1]: a MeshTLSAuthentication cannot be combined with a "
        "ServiceAccount; both require a client identity, so name the account in the "
        "MeshTLSAuthentication's identityRefs"}},
      {"authz_unsupported_authentication_kind",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTlsAuthentication, name: a}
)"),
       {"spec.requiredAuthenticationRefs[0].kind: unsupported value \"MeshTlsAuthentication\"; "
        "expected one of: MeshTLSAuthentication, NetworkAuthentication, ServiceAccount (did you "
        "mean \"MeshTLSAuthentication\"?)"}},
      {"authz_authentication_missing_kind",
       authz(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, name: a, nmespace: x}
)"),
       {"spec.requiredAuthenticationRefs[0].kind: missing required field",
        "spec.requiredAuthenticationRefs[0].nmespace: unknown field \"nmespace\" (did you mean "
        "\"namespace\"?)"}},

      // ---- MeshTLSAuthentication ----
      {"mtls_identities_and_refs",
       mtls(R"(spec:
  identities: ["*"]
  identityRefs: [{kind: ServiceAccount, name: web}]
)"),
       {"spec.identityRefs: identities and identityRefs are mutually exclusive; use one of "
        "them"}},
      {"mtls_neither", mtls("spec: {}\n"),
       {"spec: must set identities or identityRefs"}},
      {"mtls_empty_identities", mtls("spec:\n  identities: []\n"),
       {"spec.identities: must list at least one identity (\"*\" allows any)"}},
      {"mtls_namespace_ref_with_namespace",
       mtls(R"(spec:
  identityRefs: [{kind: Namespace, name: ingress, namespace: ingress}]
)"),
       {"spec.identityRefs[0].namespace: a Namespace is cluster-scoped; remove namespace"}},
      {"mtls_ref_unsupported_kind",
       mtls(R"(spec:
  identityRefs: [{kind: Pod, name: web-0}]
)"),
       {"spec.identityRefs[0].kind: unsupported value \"Pod\"; expected one of: ServiceAccount, "
        "Namespace"}},
      {"mtls_ref_bad_group",
       mtls(R"(spec:
  identityRefs: [{group: policy.linkerd.io, kind: ServiceAccount, name: web}]
)"),
       {"spec.identityRefs[0].group: group \"policy.linkerd.io\" does not serve kind "
        "ServiceAccount; use \"core\" (or no group)"}},
      {"mtls_namespace_ref_dotted_name",
       mtls("spec:\n  identityRefs: [{kind: Namespace, name: team.a}]\n"),
       {"spec.identityRefs[0].name: invalid namespace name \"team.a\": must consist of lower "
        "case alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"mtls_ref_bad_name",
       mtls("spec:\n  identityRefs: [{kind: Namespace, name: Team}]\n"),
       {"spec.identityRefs[0].name: invalid name \"Team\": must consist of lower case "
        "alphanumeric characters, '-' or '.' (e.g. 'example.com')"}},
      {"mtls_identity_not_string",
       mtls("spec:\n  identities: [42]\n"),
       {"spec.identities[0]: expected a string, got the integer 42 (quote it: \"42\")"}},

      // ---- NetworkAuthentication ----
      {"netauthn_missing_networks", netauthn("spec: {}\n"),
       {"spec.networks: missing required field"}},
      {"netauthn_empty_networks", netauthn("spec:\n  networks: []\n"),
       {"spec.networks: must list at least one network"}},
      {"netauthn_bad_address",
       netauthn("spec:\n  networks:\n  - cidr: 10.0.0.300/32\n"),
       {"spec.networks[0].cidr: invalid CIDR \"10.0.0.300/32\": expected an address and prefix "
        "length such as \"10.0.0.0/8\""}},
      {"netauthn_bad_except",
       netauthn("spec:\n  networks:\n  - cidr: 10.0.0.0/8\n    except: [10.1.0.0/x]\n"),
       {"spec.networks[0].except[0]: invalid CIDR \"10.1.0.0/x\": bad prefix length"}},
      {"netauthn_networks_string",
       netauthn("spec:\n  networks: 10.0.0.0/8\n"),
       {"spec.networks: expected a list, got the string \"10.0.0.0/8\""}},

      // ---- HTTPLocalRateLimitPolicy ----
      {"ratelimit_target_not_server",
       ratelimit(R"(spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: web}
  total: {requestsPerSecond: 10}
)"),
       {"spec.targetRef.kind: unsupported value \"HTTPRoute\"; expected one of: Server"}},
      {"ratelimit_missing_target",
       ratelimit("spec:\n  total: {requestsPerSecond: 10}\n"),
       {"spec.targetRef: missing required field"}},
      {"ratelimit_total_zero",
       ratelimit(std::string("spec:") + kTarget + "  total: {requestsPerSecond: 0}\n"),
       {"spec.total.requestsPerSecond: must be greater than 0 (to refuse all traffic, use "
        "authorization policy)"}},
      {"ratelimit_total_missing_rps",
       ratelimit(std::string("spec:") + kTarget + "  total: {rps: 5}\n"),
       {"spec.total.requestsPerSecond: missing required field",
        "spec.total.rps: unknown field \"rps\""}},
      {"ratelimit_rps_string",
       ratelimit(std::string("spec:") + kTarget + "  total: {requestsPerSecond: \"100\"}\n"),
       {"spec.total.requestsPerSecond: expected an integer, got the string \"100\""}},
      {"ratelimit_rps_too_large",
       ratelimit(std::string("spec:") + kTarget + "  total: {requestsPerSecond: 4294967296}\n"),
       {"spec.total.requestsPerSecond: must be at most 4294967295"}},
      {"ratelimit_identity_above_total",
       ratelimit(std::string("spec:") + kTarget +
                 "  total: {requestsPerSecond: 10}\n  identity: {requestsPerSecond: 20}\n"),
       {"spec.identity.requestsPerSecond: must not exceed total.requestsPerSecond (10)"}},
      {"ratelimit_override_above_total",
       ratelimit(std::string("spec:") + kTarget + R"(  total: {requestsPerSecond: 10}
  overrides:
  - requestsPerSecond: 11
    clientRefs: [{kind: ServiceAccount, name: bot}]
)"),
       {"spec.overrides[0].requestsPerSecond: must not exceed total.requestsPerSecond (10)"}},
      {"ratelimit_override_client_not_service_account",
       ratelimit(std::string("spec:") + kTarget + R"(  overrides:
  - requestsPerSecond: 5
    clientRefs: [{kind: Deployment, name: bot}]
)"),
       {"spec.overrides[0].clientRefs[0].kind: unsupported value \"Deployment\"; expected one "
        "of: ServiceAccount"}},
      {"ratelimit_override_missing_clients",
       ratelimit(std::string("spec:") + kTarget + "  overrides:\n  - requestsPerSecond: 5\n"),
       {"spec.overrides[0].clientRefs: missing required field"}},
      {"ratelimit_override_empty_clients",
       ratelimit(std::string("spec:") + kTarget +
                 "  overrides:\n  - requestsPerSecond: 5\n    clientRefs: []\n"),
       {"spec.overrides[0].clientRefs: must list at least one client"}},
      {"ratelimit_client_in_two_overrides",
       ratelimit(std::string("spec:") + kTarget + R"(  overrides:
  - requestsPerSecond: 5
    clientRefs: [{kind: ServiceAccount, name: bot}]
  - requestsPerSecond: 7
    clientRefs: [{kind: ServiceAccount, name: bot, namespace: emojivoto}]
)"),
       {"spec.overrides[1].clientRefs[0]: ServiceAccount emojivoto/bot already has an "
        "override; a client can have only one"}},

      // ---- EgressNetwork ----
      {"egress_missing_traffic_policy", egress("spec:\n  networks: [{cidr: 0.0.0.0/0}]\n"),
       {"spec.trafficPolicy: missing required field"}},
      {"egress_traffic_policy_case", egress("spec:\n  trafficPolicy: allow\n"),
       {"spec.trafficPolicy: unsupported value \"allow\"; expected one of: Allow, Deny (did you "
        "mean \"Allow\"?)"}},
      {"egress_except_other_family",
       egress(R"(spec:
  trafficPolicy: Deny
  networks:
  - cidr: 0.0.0.0/0
    except: ["::/0"]
)"),
       {"spec.networks[0].except[0]: \"::/0\" is not inside cidr \"0.0.0.0/0\"; except can "
        "only carve addresses out of the network's own range"}},
      {"egress_unknown_field",
       egress("spec:\n  trafficPolicy: Deny\n  network: [{cidr: 0.0.0.0/0}]\n"),
       {"spec.network: unknown field \"network\" (did you mean \"networks\"?)"}},
  };
}

class PolicyBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(PolicyBadInputTest, ReportsExactly) {
  const BadCase& c = GetParam();
  auto r = decode_yaml(c.yaml);
  EXPECT_THAT(r.errors(), ElementsAreArray(c.errors)) << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(Rows, PolicyBadInputTest, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return std::string(info.param.name);
                         });

// Every problem in one manifest is reported, not just the first.
TEST(PolicyBadInputTest, ReportsAllProblemsAtOnce) {
  auto r = decode_yaml(saz(R"(spec:
  server: {}
  client:
    unauthenticated: true
    meshTLS: {identities: [BAD]}
    networks: [{cidr: nope}]
)"));
  EXPECT_THAT(
      r.errors(),
      ElementsAre("spec.server: must set name (one Server) or selector (Servers by label)",
                  "spec.client.unauthenticated: must be false when meshTLS is set "
                  "(unauthenticated already allows clients with or without mTLS); remove one of "
                  "them",
                  "spec.client.meshTLS.identities[0]: invalid identity \"BAD\": must consist of "
                  "lower case alphanumeric characters, '-' or '.' (e.g. 'example.com'); "
                  "expected a DNS-like name such as "
                  "\"web.emojivoto.serviceaccount.identity.linkerd.cluster.local\"",
                  "spec.client.networks[0].cidr: invalid CIDR \"nope\": expected an address and "
                  "prefix length such as \"10.0.0.0/8\""));
}

// Diagnostics carry file:line:col and the object.
TEST(PolicyBadInputTest, FormattedWithLocation) {
  auto r = decode_yaml(server("spec:\n  podSelector: {}\n  port: 0\n"), "server.yaml");
  EXPECT_THAT(r.formatted(),
              ElementsAre("server.yaml:8:9: error: Server/emojivoto/test: spec.port: value 0 is "
                          "out of range [1, 65535]"));
}

}  // namespace
}  // namespace trellis::resources
