#include "inject/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "proxy/config.h"
#include "proxyinit/rules.h"

namespace trellis::inject {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

WorkloadRef web() { return {"Deployment", "web", "emojivoto"}; }

PodTemplateInput pod(std::map<std::string, std::string> annotations = {}) {
  PodTemplateInput p;
  p.annotations = std::move(annotations);
  p.spec.service_account_name = "web-sa";
  resources::Container c;
  c.name = "app";
  c.ports.push_back({"http", 8080, resources::PortProtocol::kTcp, std::nullopt, ""});
  c.ports.push_back({"db", 5433, resources::PortProtocol::kTcp, std::nullopt, ""});
  p.spec.containers.push_back(c);
  return p;
}

NamespaceInput ns(std::map<std::string, std::string> annotations = {}) {
  NamespaceInput n;
  n.annotations = std::move(annotations);
  return n;
}

std::string env(const InjectionPlan& p, const std::string& name) {
  for (const auto& [k, v] : p.proxy_env) {
    if (k == name) return v;
  }
  return "<unset>";
}

// ---- the decision: pod template vs namespace ----

struct DecisionCase {
  const char* name;
  std::map<std::string, std::string> pod;
  std::map<std::string, std::string> ns;
  bool inject;
  resources::InjectMode mode;
  const char* reason;
};

class DecisionTest : public ::testing::TestWithParam<DecisionCase> {};

TEST_P(DecisionTest, PodTemplateWinsOverNamespace) {
  const DecisionCase& c = GetParam();
  auto p = plan(web(), pod(c.pod), ns(c.ns), {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->inject, c.inject);
  EXPECT_EQ(p->mode, c.mode);
  EXPECT_THAT(p->reason, HasSubstr(c.reason));
}

INSTANTIATE_TEST_SUITE_P(Annotations, DecisionTest,
                         ::testing::Values(DecisionCase{"none",
                                                        {},
                                                        {},
                                                        false,
                                                        resources::InjectMode::kDisabled,
                                                        "no linkerd.io/inject annotation"},
                                           DecisionCase{"pod_enabled",
                                                        {{"linkerd.io/inject", "enabled"}},
                                                        {},
                                                        true,
                                                        resources::InjectMode::kEnabled,
                                                        "enabled on the pod template"},
                                           DecisionCase{"ns_enabled",
                                                        {},
                                                        {{"linkerd.io/inject", "enabled"}},
                                                        true,
                                                        resources::InjectMode::kEnabled,
                                                        "enabled on namespace emojivoto"},
                                           DecisionCase{"pod_disables_ns",
                                                        {{"linkerd.io/inject", "disabled"}},
                                                        {{"linkerd.io/inject", "enabled"}},
                                                        false,
                                                        resources::InjectMode::kDisabled,
                                                        "disabled on the pod template"},
                                           DecisionCase{"pod_enables_in_disabled_ns",
                                                        {{"linkerd.io/inject", "enabled"}},
                                                        {{"linkerd.io/inject", "disabled"}},
                                                        true,
                                                        resources::InjectMode::kEnabled,
                                                        "enabled on the pod template"},
                                           DecisionCase{"ingress",
                                                        {{"linkerd.io/inject", "ingress"}},
                                                        {},
                                                        true,
                                                        resources::InjectMode::kIngress,
                                                        "ingress on the pod template"},
                                           DecisionCase{"ns_ingress",
                                                        {},
                                                        {{"linkerd.io/inject", "ingress"}},
                                                        true,
                                                        resources::InjectMode::kIngress,
                                                        "ingress on namespace"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PlanTest, HostNetworkPodsAreNotInjected) {
  PodTemplateInput p = pod({{"linkerd.io/inject", "enabled"}});
  p.spec.host_network = true;
  auto result = plan(web(), p, ns(), {});
  ASSERT_TRUE(result) << result.error();
  EXPECT_FALSE(result->inject);
  EXPECT_THAT(result->reason, HasSubstr("hostNetwork"));
}

TEST(PlanTest, InvalidInjectValueIsAnErrorNamingObjectAndAnnotation) {
  auto p = plan(web(), pod({{"linkerd.io/inject", "true"}}), ns(), {});
  ASSERT_FALSE(p);
  EXPECT_THAT(p.error(), HasSubstr("Deployment/emojivoto/web"));
  EXPECT_THAT(p.error(), HasSubstr("linkerd.io/inject (on the pod template)"));
  EXPECT_THAT(p.error(), HasSubstr("\"true\""));
  auto q = plan(web(), pod(), ns({{"linkerd.io/inject", "enable"}}), {});
  ASSERT_FALSE(q);
  EXPECT_THAT(q.error(), HasSubstr("(on namespace emojivoto)"));
}

// ---- defaults ----

TEST(PlanTest, DefaultsFollowLinkerd) {
  auto p = plan(web(), pod({{"linkerd.io/inject", "enabled"}}), ns(), {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->identity, "web-sa.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(p->proxy_uid, 2102);
  EXPECT_EQ(p->inbound_port, 4143);
  EXPECT_EQ(p->outbound_port, 4140);
  EXPECT_EQ(p->admin_port, 4191);
  EXPECT_EQ(p->opaque_ports, "25,587,3306,4444,5432,6379,9300,11211");
  EXPECT_EQ(p->skip_inbound_ports, "4190,4191,4567,4568");
  EXPECT_EQ(p->skip_outbound_ports, "4567,4568");
  EXPECT_EQ(p->log_level, "info");
  EXPECT_EQ(p->default_inbound_policy, "all-unauthenticated");
  EXPECT_THAT(p->init_args,
              ElementsAre("--incoming-proxy-port", "4143", "--outgoing-proxy-port", "4140",
                          "--proxy-uid", "2102", "--inbound-ports-to-ignore", "4190,4191,4567,4568",
                          "--outbound-ports-to-ignore", "4567,4568"));
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_INBOUND_LISTEN_ADDR"), "0.0.0.0:4143");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_OUTBOUND_LISTEN_ADDR"), "127.0.0.1:4140");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_ADMIN_LISTEN_ADDR"), "0.0.0.0:4191");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_IDENTITY_NAME"), p->identity);
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_CONTROL_IDENTITY"),
            "trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_NAMESPACE"), "emojivoto");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_MODE"), "<unset>");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_CONTROL_ADDR"), "<unset>");
  EXPECT_EQ(p->labels.at("linkerd.io/proxy-deployment"), "web");
  EXPECT_EQ(p->labels.at("linkerd.io/control-plane-ns"), "linkerd");
}

TEST(PlanTest, OptionsReachTheEnvironment) {
  InjectOptions o;
  o.control_addr = "198.18.0.1:8086";
  o.pod_name = "web-abc12";
  o.control_namespace = "trellis";
  o.trust_domain = "example.org";
  auto p = plan(web(), pod({{"linkerd.io/inject", "ingress"}}), ns(), o);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->identity, "web-sa.emojivoto.serviceaccount.identity.trellis.example.org");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_CONTROL_ADDR"), "198.18.0.1:8086");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_POD_NAME"), "web-abc12");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_MODE"), "ingress");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_CONTROL_IDENTITY"),
            "trellis-control.trellis.serviceaccount.identity.trellis.example.org");
}

// ---- config.linkerd.io overrides ----

TEST(PlanTest, ConfigAnnotationsAreHonoured) {
  auto p = plan(web(),
                pod({{"linkerd.io/inject", "enabled"},
                     {"config.linkerd.io/skip-inbound-ports", "8443, 9000-9010"},
                     {"config.linkerd.io/skip-outbound-ports", "3306"},
                     {"config.linkerd.io/skip-subnets", "10.0.0.0/8,198.18.5.0/24"},
                     {"config.linkerd.io/opaque-ports", "db,6000-6001"},
                     {"config.linkerd.io/proxy-log-level", "warn,linkerd=debug,hickory=error"},
                     {"config.linkerd.io/default-inbound-policy", "deny"},
                     {"config.linkerd.io/proxy-cpu-request", "100m"},
                     {"config.linkerd.io/proxy-memory-limit", "250Mi"},
                     {"config.linkerd.io/proxy-uid", "2200"},
                     {"config.linkerd.io/proxy-outbound-connect-timeout", "2s"},
                     {"config.linkerd.io/proxy-await", "disabled"}}),
                ns(), {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->skip_inbound_ports, "4190,4191,8443,9000-9010");
  EXPECT_EQ(p->skip_outbound_ports, "3306");
  EXPECT_EQ(p->skip_subnets, "10.0.0.0/8,198.18.5.0/24");
  EXPECT_EQ(p->opaque_ports, "5433,6000-6001");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_OPAQUE_PORTS"), "5433,6000-6001");
  EXPECT_EQ(p->log_level, "debug");
  EXPECT_EQ(p->default_inbound_policy, "deny");
  EXPECT_THAT(p->resources.requests, ElementsAre(Pair("cpu", "100m")));
  EXPECT_THAT(p->resources.limits, ElementsAre(Pair("memory", "250Mi")));
  EXPECT_EQ(p->proxy_uid, 2200);
  EXPECT_FALSE(p->await);
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_OUTBOUND_CONNECT_TIMEOUT"), "2s");
  EXPECT_THAT(p->init_args, ElementsAre("--incoming-proxy-port", "4143", "--outgoing-proxy-port",
                                        "4140", "--proxy-uid", "2200", "--inbound-ports-to-ignore",
                                        "4190,4191,8443,9000-9010", "--outbound-ports-to-ignore",
                                        "3306", "--subnets-to-ignore", "10.0.0.0/8,198.18.5.0/24"));
}

TEST(PlanTest, NamespaceConfigIsTheDefaultAndThePodOverridesIt) {
  auto p = plan(web(), pod({{"config.linkerd.io/proxy-log-level", "trace"}}),
                ns({{"linkerd.io/inject", "enabled"},
                    {"config.linkerd.io/proxy-log-level", "warn"},
                    {"config.linkerd.io/skip-outbound-ports", "25"}}),
                {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->log_level, "trace");
  EXPECT_EQ(p->skip_outbound_ports, "25");
}

TEST(PlanTest, PortAnnotationsMoveListenersAndInitPorts) {
  auto p = plan(web(),
                pod({{"linkerd.io/inject", "enabled"},
                     {"config.linkerd.io/inbound-port", "5143"},
                     {"config.linkerd.io/admin-port", "5191"}}),
                ns(), {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_INBOUND_LISTEN_ADDR"), "0.0.0.0:5143");
  EXPECT_EQ(env(*p, "TRELLIS_PROXY_ADMIN_LISTEN_ADDR"), "0.0.0.0:5191");
  EXPECT_EQ(p->skip_inbound_ports, "4190,5191,4567,4568");
  EXPECT_EQ(p->init_args[1], "5143");
}

struct BadCase {
  const char* annotation;
  const char* value;
  const char* message;
};

class BadAnnotationTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadAnnotationTest, NamesAnnotationObjectAndProblem) {
  const BadCase& c = GetParam();
  auto p = plan(web(), pod({{"linkerd.io/inject", "enabled"}, {c.annotation, c.value}}), ns(), {});
  ASSERT_FALSE(p) << c.annotation;
  EXPECT_THAT(p.error(), HasSubstr("Deployment/emojivoto/web: annotation " +
                                   std::string(c.annotation) + " (on the pod template): "));
  EXPECT_THAT(p.error(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadAnnotationTest,
    ::testing::Values(
        BadCase{"config.linkerd.io/skip-inbound-ports", "80,abc", "\"abc\" is not a port"},
        BadCase{"config.linkerd.io/skip-outbound-ports", "9000-8000", "reversed"},
        BadCase{"config.linkerd.io/skip-subnets", "10.0.0.0/33", "10.0.0.0/33"},
        BadCase{"config.linkerd.io/opaque-ports", "mysql", "\"mysql\" is not the name of any"},
        BadCase{"config.linkerd.io/proxy-log-level", "warn,linkerd=debgu",
                "did you mean \"debug\""},
        BadCase{"config.linkerd.io/default-inbound-policy", "all-authenticatd",
                "did you mean \"all-authenticated\""},
        BadCase{"config.linkerd.io/proxy-cpu-request", "lots", "lots"},
        BadCase{"config.linkerd.io/proxy-uid", "-1", "expected a user or group id"},
        BadCase{"config.linkerd.io/inbound-port", "70000", "expected a port number"},
        BadCase{"config.linkerd.io/proxy-inbound-connect-timeout", "5 parsecs", "5 parsecs"},
        BadCase{"config.linkerd.io/proxy-await", "yes", "expected one of: enabled, disabled"}));

TEST(PlanTest, AllProblemsAreReportedAtOnce) {
  auto p = plan(web(),
                pod({{"linkerd.io/inject", "enabled"},
                     {"config.linkerd.io/skip-inbound-ports", "x"},
                     {"config.linkerd.io/proxy-memory-request", "y"}}),
                ns(), {});
  ASSERT_FALSE(p);
  EXPECT_THAT(p.error(), HasSubstr("skip-inbound-ports"));
  EXPECT_THAT(p.error(), HasSubstr("proxy-memory-request"));
  EXPECT_EQ(std::count(p.error().begin(), p.error().end(), '\n'), 1);
}

TEST(PlanTest, InvalidServiceAccountNameIsAnError) {
  PodTemplateInput p = pod({{"linkerd.io/inject", "enabled"}});
  p.spec.service_account_name = "a.b";
  auto result = plan(web(), p, ns(), {});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error(), HasSubstr("service account \"a.b\""));
}

// ---- contracts with the proxy and proxy-init ----

TEST(PlanTest, EveryProxyVariableIsATrellisProxySetting) {
  InjectOptions o;
  o.control_addr = "127.0.0.1:8086";
  o.pod_name = "web-1";
  auto p = plan(web(),
                pod({{"linkerd.io/inject", "ingress"},
                     {"config.linkerd.io/proxy-outbound-connect-timeout", "2s"},
                     {"config.linkerd.io/proxy-inbound-connect-timeout", "2s"},
                     {"config.linkerd.io/shutdown-grace-period", "30s"},
                     {"config.linkerd.io/proxy-admin-shutdown", "enabled"}}),
                ns(), o);
  ASSERT_TRUE(p) << p.error();
  std::map<std::string, std::string> vars(p->proxy_env.begin(), p->proxy_env.end());
  proxy::ProxyConfig config;
  auto applied = proxy::apply_environment(
      config,
      [&](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
      },
      [&] {
        std::vector<std::string> names;
        for (const auto& [k, v] : vars) names.push_back(k);
        return names;
      }());
  ASSERT_TRUE(applied) << applied.error();
  EXPECT_EQ(config.outbound_listen.to_string(), "127.0.0.1:4140");
  EXPECT_EQ(config.mode, proxy::OutboundMode::kIngress);
  EXPECT_TRUE(config.admin_shutdown_enabled);
  EXPECT_EQ(config.shutdown_grace_period, std::chrono::seconds(30));
}

TEST(PlanTest, InitArgumentsParseWithProxyInit) {
  auto p = plan(web(),
                pod({{"linkerd.io/inject", "enabled"},
                     {"config.linkerd.io/skip-inbound-ports", "8443,9000-9010"},
                     {"config.linkerd.io/skip-subnets", "10.0.0.0/8"}}),
                ns(), {});
  ASSERT_TRUE(p) << p.error();
  auto ports = proxyinit::parse_ports(p->skip_inbound_ports);
  ASSERT_TRUE(ports) << ports.error();
  EXPECT_EQ(ports->size(), 4u);
  EXPECT_EQ((*ports)[3], (proxyinit::PortRange{9000, 9010}));
  auto subnets = proxyinit::parse_subnets(p->skip_subnets);
  ASSERT_TRUE(subnets) << subnets.error();
  EXPECT_EQ(subnets->size(), 1u);
}

}  // namespace
}  // namespace trellis::inject
