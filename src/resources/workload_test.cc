#include "resources/workload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using testing::decode_yaml;
using namespace std::chrono_literals;

base::IpAddress ip(const char* s) { return *base::IpAddress::parse(s); }

std::string doc(const std::string& api_version, const std::string& kind, const std::string& body) {
  return "apiVersion: " + api_version + "\nkind: " + kind +
         "\nmetadata:\n  name: test\n  namespace: mesh-expansion\n" + body;
}
std::string workload(const std::string& spec, const std::string& version = "v1beta1") {
  return doc("workload.linkerd.io/" + version, "ExternalWorkload", spec);
}
std::string link_doc(const std::string& spec, const std::string& version = "v1alpha3") {
  return doc("multicluster.linkerd.io/" + version, "Link", spec);
}

// ---------------------------------------------------------------------------------------------
// ExternalWorkload

TEST(ExternalWorkloadTest, V1beta1DualStack) {
  auto r = decode_yaml(workload(R"(
spec:
  meshTLS:
    identity: spiffe://root.linkerd.cluster.local/proxy-harness
    serverName: proxy-harness.cluster.local
  ports:
  - name: http
    port: 8080
  - port: 9000
    protocol: TCP
  workloadIPs:
  - ip: 192.0.2.10
  - ip: 2001:db8::10
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const auto* w = r.first<ExternalWorkload>();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->identity, "spiffe://root.linkerd.cluster.local/proxy-harness");
  EXPECT_EQ(w->server_name, "proxy-harness.cluster.local");
  ASSERT_EQ(w->ports.size(), 2u);
  EXPECT_EQ(w->ports[0].name, "http");
  EXPECT_EQ(w->ports[0].port, 8080);
  EXPECT_EQ(w->ports[0].protocol, "TCP");  // default
  EXPECT_EQ(w->ports[1].name, "");
  EXPECT_EQ(w->ports[1].port, 9000);
  EXPECT_THAT(w->workload_ips, ElementsAre(ip("192.0.2.10"), ip("2001:db8::10")));
}

TEST(ExternalWorkloadTest, V1alpha1MeshTlsSpelling) {
  auto r = decode_yaml(workload(R"(
spec:
  meshTls:
    identity: vm-1.mesh-expansion.serviceaccount.identity.linkerd.cluster.local
    serverName: vm-1.mesh-expansion.serviceaccount.identity.linkerd.cluster.local
  workloadIPs:
  - ip: 10.0.5.1
)",
                                "v1alpha1"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: workload.linkerd.io/v1alpha1 ExternalWorkload is "
                          "deprecated; use workload.linkerd.io/v1beta1"));
  const auto* w = r.first<ExternalWorkload>();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->identity, "vm-1.mesh-expansion.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_THAT(w->ports, IsEmpty());
  EXPECT_THAT(w->workload_ips, ElementsAre(ip("10.0.5.1")));
}

TEST(ExternalWorkloadTest, OtherVersionsSpellingIsAcceptedWithAWarning) {
  auto r = decode_yaml(workload(R"(
spec:
  meshTls:
    identity: vm-1.mesh-expansion.serviceaccount.identity.linkerd.cluster.local
    serverName: vm-1.mesh-expansion.svc
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.meshTls: meshTls is the workload.linkerd.io/v1alpha1 spelling; in "
                          "workload.linkerd.io/v1beta1 the field is meshTLS"));
  ASSERT_NE(r.first<ExternalWorkload>(), nullptr);
  EXPECT_EQ(r.first<ExternalWorkload>()->server_name, "vm-1.mesh-expansion.svc");

  auto alpha = decode_yaml(workload(R"(
spec:
  meshTLS:
    identity: vm-1.mesh-expansion.serviceaccount.identity.linkerd.cluster.local
    serverName: vm-1.mesh-expansion.svc
)",
                                    "v1alpha1"));
  EXPECT_THAT(alpha.errors(), IsEmpty());
  EXPECT_THAT(alpha.warnings(),
              ElementsAre("apiVersion: workload.linkerd.io/v1alpha1 ExternalWorkload is "
                          "deprecated; use workload.linkerd.io/v1beta1",
                          "spec.meshTLS: meshTLS is the workload.linkerd.io/v1beta1 spelling; in "
                          "workload.linkerd.io/v1alpha1 the field is meshTls"));
  ASSERT_NE(alpha.first<ExternalWorkload>(), nullptr);
  EXPECT_EQ(alpha.first<ExternalWorkload>()->identity,
            "vm-1.mesh-expansion.serviceaccount.identity.linkerd.cluster.local");
}

TEST(ExternalWorkloadTest, UdpPortWarns) {
  auto r = decode_yaml(workload(R"(
spec:
  meshTLS: {identity: vm.example, serverName: vm.example}
  ports: [{name: dns, port: 53, protocol: UDP}]
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.ports[0].protocol: Trellis proxies carry only TCP; this port is "
                          "not meshed"));
  ASSERT_NE(r.first<ExternalWorkload>(), nullptr);
  EXPECT_EQ(r.first<ExternalWorkload>()->ports[0].protocol, "UDP");
}

// ---------------------------------------------------------------------------------------------
// Link

// As `linkerd multicluster link` writes it: integers as strings.
TEST(LinkTest, V1alpha3AllFields) {
  auto r = decode_yaml(link_doc(R"(
spec:
  targetClusterName: west
  targetClusterDomain: west.local
  targetClusterLinkerdNamespace: linkerd-west
  clusterCredentialsSecret: west-credentials
  gatewayAddress: 172.18.0.4, gw.west.example.com
  gatewayPort: "4143"
  gatewayIdentity: linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.west.local
  probeSpec:
    path: /ready
    port: "4191"
    period: 5s
    timeout: 10s
    failureThreshold: "5"
  selector:
    matchLabels:
      mirror.linkerd.io/exported: "yes"
  remoteDiscoverySelector:
    matchExpressions:
    - key: mirror.linkerd.io/exported
      operator: In
      values: [remote-discovery, flat]
  federatedServiceSelector:
    matchLabels:
      mirror.linkerd.io/federated: member
      tier: api
  excludedAnnotations: [kubectl.kubernetes.io/last-applied-configuration, "internal.example.com/*"]
  excludedLabels: [team]
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Link* l = r.first<Link>();
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->target_cluster_name, "west");
  EXPECT_EQ(l->target_cluster_domain, "west.local");
  EXPECT_EQ(l->target_cluster_linkerd_namespace, "linkerd-west");
  EXPECT_EQ(l->cluster_credentials_secret, "west-credentials");
  EXPECT_THAT(l->gateway_addresses, ElementsAre("172.18.0.4", "gw.west.example.com"));
  EXPECT_EQ(l->gateway_port, 4143);
  EXPECT_EQ(l->gateway_identity,
            "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.west.local");
  EXPECT_EQ(l->probe.path, "/ready");
  EXPECT_EQ(l->probe.port, 4191);
  EXPECT_EQ(l->probe.period, 5s);
  EXPECT_EQ(l->probe.timeout, 10s);
  EXPECT_EQ(l->probe.failure_threshold, 5);
  EXPECT_EQ(l->selector.match_labels,
            (std::map<std::string, std::string>{{"mirror.linkerd.io/exported", "yes"}}));
  ASSERT_EQ(l->remote_discovery_selector.match_expressions.size(), 1u);
  EXPECT_TRUE(l->remote_discovery_selector.match_labels.empty());
  EXPECT_THAT(l->remote_discovery_selector.match_expressions[0].values,
              ElementsAre("remote-discovery", "flat"));
  EXPECT_EQ(l->federated_service_selector.match_labels,
            (std::map<std::string, std::string>{{"mirror.linkerd.io/federated", "member"},
                                                {"tier", "api"}}));
  EXPECT_THAT(l->excluded_annotations,
              ElementsAre("kubectl.kubernetes.io/last-applied-configuration",
                          "internal.example.com/*"));
  EXPECT_THAT(l->excluded_labels, ElementsAre("team"));
}

TEST(LinkTest, V1alpha1Defaults) {
  auto r = decode_yaml(link_doc(R"(
spec:
  targetClusterName: east
)",
                            "v1alpha1"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Link* l = r.first<Link>();
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->target_cluster_domain, "cluster.local");
  EXPECT_EQ(l->target_cluster_linkerd_namespace, "linkerd");
  EXPECT_EQ(l->cluster_credentials_secret, "cluster-credentials-east");
  EXPECT_THAT(l->gateway_addresses, IsEmpty());  // no gateway: remote discovery only
  EXPECT_EQ(l->gateway_port, 4143);
  EXPECT_EQ(l->gateway_identity, "");
  EXPECT_EQ(l->probe.path, "/ready");
  EXPECT_EQ(l->probe.port, 4191);
  EXPECT_EQ(l->probe.period, 3s);
  EXPECT_EQ(l->probe.timeout, 30s);
  EXPECT_EQ(l->probe.failure_threshold, 3);
  EXPECT_EQ(l->selector.match_labels,
            (std::map<std::string, std::string>{{"mirror.linkerd.io/exported", "true"}}));
  EXPECT_EQ(l->remote_discovery_selector.match_labels,
            (std::map<std::string, std::string>{
                {"mirror.linkerd.io/exported", "remote-discovery"}}));
  EXPECT_EQ(l->federated_service_selector.match_labels,
            (std::map<std::string, std::string>{{"mirror.linkerd.io/federated", "member"}}));
  EXPECT_THAT(l->excluded_annotations, IsEmpty());
  EXPECT_THAT(l->excluded_labels, IsEmpty());
}

TEST(LinkTest, V1alpha2FederatedSelectorAndPartialProbe) {
  auto r = decode_yaml(link_doc(R"(
spec:
  targetClusterName: west
  gatewayAddress: 198.51.100.7
  gatewayIdentity: >-
    linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local
  probeSpec:
    period: 1m
  federatedServiceSelector: {}
)",
                            "v1alpha2"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const Link* l = r.first<Link>();
  ASSERT_NE(l, nullptr);
  EXPECT_THAT(l->gateway_addresses, ElementsAre("198.51.100.7"));
  EXPECT_EQ(l->probe.period, 60s);
  EXPECT_EQ(l->probe.timeout, 30s);         // default
  EXPECT_EQ(l->probe.failure_threshold, 3);  // default
  EXPECT_TRUE(l->federated_service_selector.empty());  // written empty: selects everything
}

TEST(LinkTest, BareIntegersAreUnderstoodWithAWarning) {
  auto r = decode_yaml(link_doc(R"(
spec:
  targetClusterName: west
  gatewayAddress: 172.18.0.4
  gatewayPort: 4143
  gatewayIdentity: gw.west
  probeSpec:
    failureThreshold: 2
)"));
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("spec.gatewayPort: this field is a string in the Link schema; write "
                          "\"4143\" (Kubernetes rejects a bare integer here)",
                          "spec.probeSpec.failureThreshold: this field is a string in the Link "
                          "schema; write \"2\" (Kubernetes rejects a bare integer here)"));
  const Link* l = r.first<Link>();
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->gateway_port, 4143);
  EXPECT_EQ(l->probe.failure_threshold, 2);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: each row is a manifest and exactly the errors it must produce.

struct BadCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> errors;
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

const char* const kTls = "  meshTLS: {identity: vm.example, serverName: vm.example}\n";

std::vector<BadCase> bad_cases() {
  return {
      // ---- ExternalWorkload ----
      {"workload_missing_mesh_tls", workload("spec:\n  ports: [{port: 80}]\n"),
       {"spec.meshTLS: missing required field"}},
      {"workload_v1alpha1_missing_mesh_tls", workload("spec: {}\n", "v1alpha1"),
       {"spec.meshTls: missing required field"}},
      {"workload_both_spellings",
       workload(std::string("spec:\n") + kTls + "  meshTls: {identity: a.b, serverName: a.b}\n"),
       {"spec.meshTls: both \"meshTls\" and \"meshTLS\" are set; remove \"meshTls\""}},
      {"workload_mesh_tls_missing_fields", workload("spec:\n  meshTLS: {}\n"),
       {"spec.meshTLS.identity: missing required field",
        "spec.meshTLS.serverName: missing required field"}},
      {"workload_mesh_tls_not_a_map", workload("spec:\n  meshTLS: vm.example\n"),
       {"spec.meshTLS: expected a map, got the string \"vm.example\""}},
      {"workload_bad_identity",
       workload("spec:\n  meshTLS: {identity: \"*.example\", serverName: vm.example}\n"),
       {"spec.meshTLS.identity: invalid identity \"*.example\": must not contain a wildcard"}},
      {"workload_bad_server_name",
       workload("spec:\n  meshTLS: {identity: vm.example, serverName: Proxy_Harness}\n"),
       {"spec.meshTLS.serverName: invalid server name \"Proxy_Harness\": must consist of lower "
        "case alphanumeric characters, '-' or '.' (e.g. 'example.com') (it is sent as TLS SNI, "
        "so it must be a DNS name)"}},
      {"workload_mesh_tls_unknown_field",
       workload("spec:\n  meshTLS: {identity: vm.example, servername: vm.example}\n"),
       {"spec.meshTLS.serverName: missing required field",
        "spec.meshTLS.servername: unknown field \"servername\" (did you mean \"serverName\"?)"}},
      {"workload_port_out_of_range",
       workload(std::string("spec:\n") + kTls + "  ports: [{port: 70000}]\n"),
       {"spec.ports[0].port: value 70000 is out of range [1, 65535]"}},
      {"workload_port_named",
       workload(std::string("spec:\n") + kTls + "  ports: [{port: http}]\n"),
       {"spec.ports[0].port: expected a port number (1-65535), got the string \"http\""}},
      {"workload_port_missing",
       workload(std::string("spec:\n") + kTls + "  ports: [{name: http}]\n"),
       {"spec.ports[0].port: missing required field"}},
      {"workload_bad_protocol",
       workload(std::string("spec:\n") + kTls + "  ports: [{port: 80, protocol: tcp}]\n"),
       {"spec.ports[0].protocol: unsupported value \"tcp\"; expected one of: TCP, UDP, SCTP (did "
        "you mean \"TCP\"?)"}},
      {"workload_bad_port_name",
       workload(std::string("spec:\n") + kTls + "  ports: [{name: http--alt, port: 80}]\n"),
       {"spec.ports[0].name: invalid port name \"http--alt\": must not contain consecutive "
        "'-'"}},
      {"workload_duplicate_ports",
       workload(std::string("spec:\n") + kTls +
                "  ports:\n  - {name: http, port: 80}\n  - {name: http, port: 80}\n"),
       {"spec.ports[1].name: duplicate port name \"http\"",
        "spec.ports[1].port: duplicate port 80/TCP"}},
      {"workload_v1alpha1_two_ips",
       workload(std::string("spec:\n") + "  meshTls: {identity: vm.example, serverName: "
                                         "vm.example}\n  workloadIPs: [{ip: 10.0.0.1}, {ip: "
                                         "\"fd00::1\"}]\n",
                "v1alpha1"),
       {"spec.workloadIPs[1]: workload.linkerd.io/v1alpha1 allows only one workload IP (use "
        "v1beta1 for dual-stack: one IPv4 and one IPv6 address)"}},
      {"workload_three_ips",
       workload(std::string("spec:\n") + kTls +
                "  workloadIPs: [{ip: 10.0.0.1}, {ip: \"fd00::1\"}, {ip: 10.0.0.2}]\n"),
       {"spec.workloadIPs[2]: at most two workload IPs are allowed (one IPv4 and one IPv6)"}},
      {"workload_two_ipv4",
       workload(std::string("spec:\n") + kTls +
                "  workloadIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]\n"),
       {"spec.workloadIPs[1].ip: a second workload IP must be of the other address family (one "
        "IPv4 and one IPv6 address)"}},
      {"workload_bad_ip",
       workload(std::string("spec:\n") + kTls + "  workloadIPs: [{ip: 10.0.0.256}]\n"),
       {"spec.workloadIPs[0].ip: invalid IP address \"10.0.0.256\""}},
      {"workload_ip_with_prefix",
       workload(std::string("spec:\n") + kTls + "  workloadIPs: [{ip: 10.0.0.0/24}]\n"),
       {"spec.workloadIPs[0].ip: invalid IP address \"10.0.0.0/24\""}},
      {"workload_ips_typo",
       workload(std::string("spec:\n") + kTls + "  workloadIps: [{ip: 10.0.0.1}]\n"),
       {"spec.workloadIps: unknown field \"workloadIps\" (did you mean \"workloadIPs\"?)"}},

      // ---- Link ----
      {"link_missing_spec", link_doc(""), {"spec: missing required field"}},
      {"link_missing_target_cluster_name",
       link_doc("spec:\n  targetClusterDomain: cluster.local\n"),
       {"spec.targetClusterName: missing required field"}},
      {"link_bad_target_cluster_name", link_doc("spec:\n  targetClusterName: West_1\n"),
       {"spec.targetClusterName: invalid cluster name \"West_1\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name')"}},
      {"link_bad_domain",
       link_doc("spec:\n  targetClusterName: west\n  targetClusterDomain: cluster..local\n"),
       {"spec.targetClusterDomain: invalid cluster domain \"cluster..local\": must not contain "
        "empty labels (e.g. 'a..b')"}},
      {"link_gateway_port_out_of_range",
       link_doc("spec:\n  targetClusterName: west\n  gatewayPort: \"99999\"\n"),
       {"spec.gatewayPort: value 99999 is out of range [1, 65535]"}},
      {"link_gateway_port_not_a_number",
       link_doc("spec:\n  targetClusterName: west\n  gatewayPort: mc-gateway\n"),
       {"spec.gatewayPort: expected an integer written as a string such as \"4143\", got the "
        "string \"mc-gateway\""}},
      {"link_gateway_without_identity",
       link_doc("spec:\n  targetClusterName: west\n  gatewayAddress: 172.18.0.4\n"),
       {"spec.gatewayIdentity: missing required field: a Link with a gatewayAddress needs the "
        "gateway's identity to reach it over mTLS"}},
      {"link_bad_gateway_address",
       link_doc("spec:\n  targetClusterName: west\n  gatewayAddress: \"172.18.0.4, bad address!\"\n"
            "  gatewayIdentity: gw.west\n"),
       {"spec.gatewayAddress: invalid gateway address \"bad address!\": expected an IP address "
        "or a DNS name"}},
      {"link_bad_gateway_identity",
       link_doc("spec:\n  targetClusterName: west\n  gatewayIdentity: \"gw west\"\n"),
       {"spec.gatewayIdentity: invalid identity \"gw west\": must consist of lower case "
        "alphanumeric characters, '-' or '.' (e.g. 'example.com'); expected a DNS-like name "
        "such as \"web.emojivoto.serviceaccount.identity.linkerd.cluster.local\""}},
      {"link_probe_period_without_unit",
       link_doc("spec:\n  targetClusterName: west\n  probeSpec: {period: \"3\"}\n"),
       {"spec.probeSpec.period: missing unit in duration \"3\" (use one of ns, us, ms, s, m, h, "
        "e.g. \"5s\")"}},
      {"link_probe_timeout_zero",
       link_doc("spec:\n  targetClusterName: west\n  probeSpec: {timeout: 0s}\n"),
       {"spec.probeSpec.timeout: must be greater than 0"}},
      {"link_probe_relative_path",
       link_doc("spec:\n  targetClusterName: west\n  probeSpec: {path: ready}\n"),
       {"spec.probeSpec.path: must be an absolute path starting with \"/\""}},
      {"link_probe_failure_threshold_zero",
       link_doc("spec:\n  targetClusterName: west\n  probeSpec: {failureThreshold: \"0\"}\n"),
       {"spec.probeSpec.failureThreshold: value 0 is out of range [1, 2147483647]"}},
      {"link_probe_typo",
       link_doc("spec:\n  targetClusterName: west\n  probeSpec: {perod: 3s}\n"),
       {"spec.probeSpec.perod: unknown field \"perod\" (did you mean \"period\"?)"}},
      {"link_probe_port_list",
       link_doc("spec:\n  targetClusterName: west\n  probeSpec: {port: [4191]}\n"),
       {"spec.probeSpec.port: expected an integer written as a string such as \"4143\", got a "
        "list"}},
      {"link_federated_selector_in_v1alpha1",
       link_doc("spec:\n  targetClusterName: west\n  federatedServiceSelector: {}\n", "v1alpha1"),
       {"spec.federatedServiceSelector: unknown field \"federatedServiceSelector\"; "
        "federatedServiceSelector requires apiVersion multicluster.linkerd.io/v1alpha2 or "
        "later"}},
      {"link_excluded_labels_in_v1alpha2",
       link_doc("spec:\n  targetClusterName: west\n  excludedLabels: [team]\n", "v1alpha2"),
       {"spec.excludedLabels: unknown field \"excludedLabels\"; excludedLabels requires "
        "apiVersion multicluster.linkerd.io/v1alpha3"}},
      {"link_bad_excluded_annotation",
       link_doc("spec:\n  targetClusterName: west\n  excludedAnnotations: [\"-bad\"]\n"),
       {"spec.excludedAnnotations[0]: invalid key \"-bad\": name part must start and end with "
        "an alphanumeric character"}},
      {"link_selector_bad_label_key",
       link_doc("spec:\n  targetClusterName: west\n  selector: {matchLabels: {\"a/b/c\": x}}\n"),
       {"spec.selector.matchLabels[\"a/b/c\"]: invalid label key: name part must consist of "
        "alphanumeric characters, '-', '_' or '.'"}},
      {"link_selector_not_a_map",
       link_doc("spec:\n  targetClusterName: west\n  selector: mirror.linkerd.io/exported=true\n"),
       {"spec.selector: expected a map, got the string \"mirror.linkerd.io/exported=true\""}},
      {"link_unknown_field",
       link_doc("spec:\n  targetClusterName: west\n  gatewayAddresses: 172.18.0.4\n"),
       {"spec.gatewayAddresses: unknown field \"gatewayAddresses\" (did you mean "
        "\"gatewayAddress\"?)"}},
  };
}

class WorkloadBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(WorkloadBadInputTest, ReportsExactly) {
  const BadCase& c = GetParam();
  auto r = decode_yaml(c.yaml);
  EXPECT_THAT(r.errors(), ElementsAreArray(c.errors)) << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(Rows, WorkloadBadInputTest, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace trellis::resources
