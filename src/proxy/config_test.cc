#include "proxy/config.h"

#include <gtest/gtest.h>

#include <map>

namespace trellis::proxy {
namespace {

auto env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProxyConfig, DefaultsMatchLinkerd) {
  ProxyConfig c;
  EXPECT_EQ(c.inbound_listen.to_string(), "0.0.0.0:4143");
  EXPECT_EQ(c.outbound_listen.to_string(), "127.0.0.1:4140");
  EXPECT_EQ(c.admin_listen.to_string(), "127.0.0.1:4191");
  EXPECT_EQ(c.detect_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.opaque_ports, (std::vector<uint16_t>{25, 587, 3306, 4444, 5432, 6379, 9300, 11211}));
}

TEST(ProxyConfig, AppliesEnvironment) {
  ProxyConfig c;
  auto r = apply_environment(c, env({{"TRELLIS_PROXY_DETECT_TIMEOUT", "2s"},
                                     {"TRELLIS_PROXY_MODE", "ingress"},
                                     {"TRELLIS_PROXY_OPAQUE_PORTS", "3306, 8000-8002"},
                                     {"TRELLIS_PROXY_OUTBOUND_LISTEN_ADDR", "127.0.0.1:0"}}));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(c.detect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.mode, OutboundMode::kIngress);
  EXPECT_EQ(c.opaque_ports, (std::vector<uint16_t>{3306, 8000, 8001, 8002}));
  EXPECT_EQ(c.outbound_listen.port, 0);
}

TEST(ProxyConfig, ReportsEveryBadValueByName) {
  ProxyConfig c;
  auto r = apply_environment(c, env({{"TRELLIS_PROXY_DETECT_TIMEOUT", "5x"},
                                     {"TRELLIS_PROXY_WORKERS", "many"}}),
                             {"TRELLIS_PROXY_DETECT_TIMEOUT", "TRELLIS_PROXY_WORKERS",
                              "TRELLIS_PROXY_DETECT_TIMOUT", "PATH"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "TRELLIS_PROXY_WORKERS=\"many\" is not valid: expected a number\n"
            "TRELLIS_PROXY_DETECT_TIMEOUT=\"5x\" is not valid: unknown unit \"x\" in duration "
            "\"5x\" (use one of ns, us, ms, s, m, h)\n"
            "unknown setting TRELLIS_PROXY_DETECT_TIMOUT (did you mean TRELLIS_PROXY_DETECT_TIMEOUT?)");
}

TEST(ProxyConfig, ControlPlaneAndIdentitySettings) {
  ProxyConfig c;
  EXPECT_EQ(c.control_identity,
            "trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_FALSE(c.has_identity());
  auto r = apply_environment(
      c, env({{"TRELLIS_PROXY_CONTROL_ADDR", "localhost:8086"},
              {"TRELLIS_PROXY_IDENTITY_NAME",
               "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"},
              {"TRELLIS_PROXY_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"},
              {"TRELLIS_PROXY_TRUST_ANCHORS_FILE", "/etc/trellis/ca.crt"},
              {"TRELLIS_PROXY_NAMESPACE", "emojivoto"},
              {"TRELLIS_PROXY_POD_NAME", "web-1"},
              {"TRELLIS_PROXY_DISCOVERY_UNUSED_TIMEOUT", "1m"}}));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(c.control_addr, "localhost:8086");
  EXPECT_EQ(c.ns, "emojivoto");
  EXPECT_EQ(c.pod_name, "web-1");
  EXPECT_EQ(c.discovery_unused_timeout, std::chrono::minutes(1));
  EXPECT_TRUE(c.has_identity());

  ProxyConfig bad;
  r = apply_environment(bad, env({{"TRELLIS_PROXY_CONTROL_ADDR", "localhost"},
                                  {"TRELLIS_PROXY_IDENTITY_NAME", "Web.Emojivoto"},
                                  {"TRELLIS_PROXY_NAMESPACE", ""}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "TRELLIS_PROXY_CONTROL_ADDR=\"localhost\" is not valid: expected host:port\n"
            "TRELLIS_PROXY_IDENTITY_NAME=\"Web.Emojivoto\" is not valid: expected a lowercase DNS "
            "name\n"
            "TRELLIS_PROXY_NAMESPACE=\"\" is not valid: expected a DNS name");
}

TEST(ProxyConfig, WorkersDefaultToTheCpuQuota) {
  EXPECT_EQ(effective_workers(3), 3);
  EXPECT_GE(effective_workers(0), 1);
}

}  // namespace
}  // namespace trellis::proxy
