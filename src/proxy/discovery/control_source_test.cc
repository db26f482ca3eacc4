#include "proxy/discovery/control_source.h"

#include <gtest/gtest.h>

#include "api/destination.pb.h"
#include "proxy/control/test_control_plane.h"
#include "proxy/control/test_run.h"

namespace trellis::proxy::discovery {
namespace {

using namespace std::chrono_literals;
using proxy::testing::eventually;
using proxy::testing::run_task;
using tls::testing::take;
namespace pb = api::destination::v1;

pb::Update web(std::vector<std::string> addresses, std::string identity = "") {
  pb::Update u;
  u.set_exists(true);
  auto* s = u.mutable_service();
  s->set_name("web");
  s->set_namespace_("emojivoto");
  s->set_cluster_domain("cluster.local");
  s->add_cluster_ips("198.19.0.10");
  s->set_port(80);
  s->set_port_name("http");
  for (const auto& a : addresses) {
    auto* e = u.add_endpoints();
    e->set_address(a);
    e->set_weight(3);
    e->set_identity(identity);
    e->set_protocol_hint(identity.empty() ? pb::PROTOCOL_HINT_UNKNOWN : pb::PROTOCOL_HINT_H2);
    (*e->mutable_labels())["pod"] = "web-" + a;
  }
  return u;
}

struct Fixture {
  tls::testing::Pki pki = tls::testing::Pki::create();
  control::testing::TestControlPlane cp{pki};
  net::asio::io_context io;
  tls::Credentials credentials = pki.leaf(tls::testing::web_identity());
  std::unique_ptr<tls::ClientContext> tls_ctx =
      take(tls::ClientContext::create({}, &credentials, pki.anchors()));
  std::unique_ptr<control::GrpcChannel> channel;
  std::unique_ptr<ControlSource> source;

  explicit Fixture(ControlSourceOptions options = {}) {
    control::ChannelOptions channel_options{cp.address(), control::testing::control_identity()};
    channel_options.backoff_base = 20ms;
    channel_options.backoff_max = 100ms;
    channel = std::make_unique<control::GrpcChannel>(io.get_executor(), channel_options, *tls_ctx);
    options.context_namespace = "emojivoto";
    options.retry_base = 20ms;
    options.retry_max = 100ms;
    source = std::make_unique<ControlSource>(io.get_executor(), *channel, options);
  }
  ~Fixture() {
    source->stop();
    channel->close();
    io.restart();
    io.run_for(200ms);
  }

  std::vector<std::string> endpoints(const std::string& authority) const {
    std::vector<std::string> out;
    auto snapshot = source->current();
    auto d = snapshot->find_by_authority(authority, "emojivoto");
    if (!d) return {"<missing>"};
    for (const auto& e : d->port->endpoints) out.push_back(e.address.to_string());
    return out;
  }
};

TEST(ServiceFromUpdate, ConvertsEveryField) {
  auto u = web({"198.18.0.1:8080"}, "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  u.mutable_endpoints(0)->set_opaque_transport_port(4143);
  auto s = service_from_update(u);
  ASSERT_TRUE(s) << s.error();
  ASSERT_TRUE(*s);
  const Service& svc = **s;
  EXPECT_EQ(svc.fqdn(), "web.emojivoto.svc.cluster.local");
  ASSERT_EQ(svc.cluster_ips.size(), 1u);
  EXPECT_EQ(svc.cluster_ips[0].to_string(), "198.19.0.10");
  const ServicePort& port = svc.ports.at(80);
  EXPECT_EQ(port.name, "http");
  ASSERT_EQ(port.endpoints.size(), 1u);
  const Endpoint& e = port.endpoints[0];
  EXPECT_EQ(e.address.to_string(), "198.18.0.1:8080");
  EXPECT_EQ(e.weight, 3u);
  EXPECT_EQ(e.identity, "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(e.protocol_hint, ProtocolHint::kHttp2);
  EXPECT_EQ(e.opaque_transport_port, 4143);
  EXPECT_EQ(e.labels.at("pod"), "web-198.18.0.1:8080");

  pb::Update absent;
  auto none = service_from_update(absent);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  u.mutable_endpoints(0)->set_address("nonsense");
  auto bad = service_from_update(u);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("endpoints[0].address"), std::string::npos) << bad.error();
}

TEST(ControlSource, EndpointChangesReplaceTheServiceInNewSnapshots) {
  Fixture f;
  f.cp.destination().set("web.emojivoto.svc.cluster.local:80", web({"198.18.0.1:8080"}));
  std::vector<SnapshotPtr> seen;
  f.source->watch([&](SnapshotPtr s) { seen.push_back(s); });
  run_task(f.io, [&]() -> net::awaitable<void> {
    f.source->request("web.emojivoto.svc.cluster.local:80");
    EXPECT_TRUE(co_await eventually([&] { return f.endpoints("web:80").size() == 1 &&
                                                  f.endpoints("web:80")[0] == "198.18.0.1:8080"; }));
    const SnapshotPtr first = f.source->current();
    // Added.
    f.cp.destination().set("web.emojivoto.svc.cluster.local:80",
                           web({"198.18.0.1:8080", "198.18.0.2:8080"}));
    EXPECT_TRUE(co_await eventually([&] {
      return f.endpoints("web:80") ==
             std::vector<std::string>{"198.18.0.1:8080", "198.18.0.2:8080"};
    }));
    // Changed.
    f.cp.destination().set("web.emojivoto.svc.cluster.local:80", web({"198.18.0.3:9090"}));
    EXPECT_TRUE(co_await eventually([&] {
      return f.endpoints("web:80") == std::vector<std::string>{"198.18.0.3:9090"};
    }));
    // Removed: the service stays, with no endpoints.
    f.cp.destination().set("web.emojivoto.svc.cluster.local:80", web({}));
    EXPECT_TRUE(co_await eventually([&] { return f.endpoints("web:80").empty(); }));
    // Old snapshots are immutable.
    auto d = first->find_by_authority("web:80", "emojivoto");
    EXPECT_TRUE(d && d->port->endpoints.size() == 1);
    EXPECT_GT(f.source->current()->version(), first->version());
  }());
  EXPECT_GE(seen.size(), 4u);
  EXPECT_EQ(f.cp.destination().last_namespace(), "emojivoto");
}

TEST(ControlSource, LazyResolutionByClusterIpAndAbsentTargets) {
  Fixture f;
  f.cp.destination().set("198.19.0.10:80", web({"198.18.0.1:8080"}));
  run_task(f.io, [&]() -> net::awaitable<void> {
    SnapshotPtr snapshot = f.source->current();
    const auto cluster_ip = *net::SocketAddress::parse("198.19.0.10:80");
    EXPECT_FALSE(snapshot->find_by_address(cluster_ip));
    EXPECT_TRUE(snapshot->resolver());
    auto d = co_await resolve_lazily(snapshot, cluster_ip, "", 10s);
    EXPECT_TRUE(d);
    if (d) {
      EXPECT_EQ(d->authority, "web.emojivoto.svc.cluster.local:80");
      EXPECT_EQ(d->port->endpoints.size(), 1u);
      EXPECT_EQ(snapshot, f.source->current());  // the caller's snapshot was replaced
    }
    // Unknown to the control plane: exists=false, marked absent, answered quickly.
    SnapshotPtr s2 = f.source->current();
    const auto external = *net::SocketAddress::parse("198.18.5.5:443");
    auto none = co_await resolve_lazily(s2, external, "", 10s);
    EXPECT_FALSE(none);
    EXPECT_TRUE(f.source->current()->is_absent("198.18.5.5:443"));
    // Ingress: a short authority resolves in the proxy's namespace.
    f.cp.destination().set("web:80", web({"198.18.0.1:8080"}));
    SnapshotPtr s3 = f.source->current();
    auto by_name = co_await resolve_lazily(s3, std::nullopt, "web", 10s);
    EXPECT_TRUE(by_name);
  }());
  const auto requests = f.cp.destination().requests();
  EXPECT_EQ(std::count(requests.begin(), requests.end(), "198.19.0.10:80"), 1);
  EXPECT_EQ(std::count(requests.begin(), requests.end(), "198.18.5.5:443"), 1);
}

TEST(ControlSource, KeepsTheLastStateWhileDisconnectedAndResyncsOnReconnect) {
  Fixture f;
  f.cp.destination().set("web:80", web({"198.18.0.1:8080"}));
  run_task(f.io, [&]() -> net::awaitable<void> {
    f.source->request("web:80");
    EXPECT_TRUE(co_await eventually([&] {
      return f.endpoints("web:80") == std::vector<std::string>{"198.18.0.1:8080"};
    }));
    f.cp.go_down();
    f.cp.destination().set("web:80", web({"198.18.0.7:8080", "198.18.0.8:8080"}));
    // Down for a while: the last state stays in force.
    net::asio::steady_timer t(co_await net::asio::this_coro::executor);
    t.expires_after(300ms);
    co_await t.async_wait(net::use_nothrow);
    EXPECT_EQ(f.endpoints("web:80"), std::vector<std::string>{"198.18.0.1:8080"});
    f.cp.restart();
    EXPECT_TRUE(co_await eventually([&] {
      return f.endpoints("web:80") ==
             std::vector<std::string>{"198.18.0.7:8080", "198.18.0.8:8080"};
    }));
  }());
  EXPECT_GE(f.channel->connects(), 2u);
}

TEST(ControlSource, UnusedAbsentTargetsAreUnsubscribed) {
  ControlSourceOptions options;
  options.unused_timeout = 100ms;
  options.sweep_interval = 20ms;
  Fixture f(options);
  f.cp.destination().set("web:80", web({"198.18.0.1:8080"}));
  run_task(f.io, [&]() -> net::awaitable<void> {
    f.source->start();
    f.source->request("web:80");
    f.source->request("198.18.9.9:80");
    EXPECT_TRUE(co_await eventually([&] {
      return f.source->current()->is_absent("198.18.9.9:80") &&
             f.endpoints("web:80") == std::vector<std::string>{"198.18.0.1:8080"};
    }));
    EXPECT_TRUE(co_await eventually([&] { return f.source->subscribed() == 1; }));
    EXPECT_FALSE(f.source->current()->is_absent("198.18.9.9:80"));
    EXPECT_EQ(f.endpoints("web:80"), std::vector<std::string>{"198.18.0.1:8080"});  // stays
    EXPECT_TRUE(co_await eventually([&] { return f.cp.destination().open_streams() == 1; }));
  }());
}

}  // namespace
}  // namespace trellis::proxy::discovery
