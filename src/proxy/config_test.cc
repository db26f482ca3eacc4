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

TEST(ProxyConfig, WorkersDefaultToTheCpuQuota) {
  EXPECT_EQ(effective_workers(3), 3);
  EXPECT_GE(effective_workers(0), 1);
}

}  // namespace
}  // namespace trellis::proxy
