#include "proxy/admin/admin.h"

#include <gtest/gtest.h>

#include "base/log.h"

namespace trellis::proxy::admin {
namespace {

struct Result {
  int status = 0;
  std::string body;
};

Result call(AdminService& admin, std::string method, std::string path, std::string body = "",
            std::string peer = "127.0.0.1:5555") {
  net::asio::io_context io;
  Result out;
  net::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    http::Request req;
    req.head.method = method;
    req.head.path = path;
    req.body = http::make_buffered_body(body);
    auto info = std::make_shared<http::ConnectionInfo>();
    info->peer = *net::SocketAddress::parse(peer);
    req.connection = info;
    auto resp = co_await admin.call(std::move(req));
    out.status = resp.head.status;
    auto all = co_await http::read_all(*resp.body, 1 << 20);
    out.body = all->data;
  }, net::asio::detached);
  io.run();
  return out;
}

TEST(Admin, ReadyFollowsTheLatchAndLiveIsAlwaysOk) {
  metrics::Registry registry;
  AdminService admin(registry, {}, nullptr, nullptr);
  EXPECT_EQ(call(admin, "GET", "/live").status, 200);
  EXPECT_EQ(call(admin, "GET", "/ready").status, 503);
  admin.set_ready(true);
  EXPECT_EQ(call(admin, "GET", "/ready").status, 200);
  EXPECT_EQ(call(admin, "POST", "/ready").status, 405);
  EXPECT_EQ(call(admin, "GET", "/nope").status, 404);
}

TEST(Admin, MetricsAndConfigDump) {
  metrics::Registry registry;
  registry.counter("request_total", "Total requests.", {"direction"}).get({"inbound"})->inc();
  AdminService admin(registry, {}, [] { return std::string(R"({"services":[]})"); }, nullptr);
  auto m = call(admin, "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("request_total{direction=\"inbound\"} 1"), std::string::npos) << m.body;
  EXPECT_EQ(call(admin, "GET", "/config_dump").body, R"({"services":[]})");
}

TEST(Admin, IdentityServesTheChainOr404) {
  metrics::Registry registry;
  AdminService admin(registry, {}, nullptr, nullptr);
  EXPECT_EQ(call(admin, "GET", "/identity").status, 404);  // no source at all
  std::optional<std::string> pem;
  admin.set_identity_source([&] { return pem; });
  EXPECT_EQ(call(admin, "GET", "/identity").status, 404);  // no certificate yet
  pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  auto r = call(admin, "GET", "/identity");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, *pem);
  EXPECT_EQ(call(admin, "POST", "/identity").status, 405);
}

TEST(Admin, LogLevelGetAndPut) {
  metrics::Registry registry;
  AdminService admin(registry, {}, nullptr, nullptr);
  base::log::set_level("info");
  EXPECT_EQ(call(admin, "GET", "/proxy-log-level").body, "info\n");
  EXPECT_EQ(call(admin, "PUT", "/proxy-log-level", "debug\n").status, 204);
  EXPECT_EQ(base::log::level(), "debug");
  EXPECT_EQ(call(admin, "PUT", "/proxy-log-level", "loud").status, 400);
  EXPECT_EQ(call(admin, "PUT", "/proxy-log-level", std::string(5000, 'x')).status, 413);
  base::log::set_level("info");
}

TEST(Admin, ShutdownIsOffByDefaultAndLoopbackOnly) {
  metrics::Registry registry;
  int shutdowns = 0;
  AdminService off(registry, {}, nullptr, [&] { ++shutdowns; });
  EXPECT_EQ(call(off, "POST", "/shutdown").status, 404);
  AdminService on(registry, {.shutdown_enabled = true}, nullptr, [&] { ++shutdowns; });
  EXPECT_EQ(call(on, "GET", "/shutdown").status, 405);
  EXPECT_EQ(call(on, "POST", "/shutdown", "", "198.18.0.9:4000").status, 403);
  EXPECT_EQ(shutdowns, 0);
  EXPECT_EQ(call(on, "POST", "/shutdown").status, 202);
  EXPECT_EQ(shutdowns, 1);
}

}  // namespace
}  // namespace trellis::proxy::admin
