#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "proxy/discovery/static_file.h"

namespace trellis::proxy::discovery {
namespace {

constexpr const char* kFile = R"(
services:
  - name: web
    namespace: emojivoto
    clusterIPs: [198.19.0.10]
    ports:
      - port: 80
        name: http
        endpoints:
          - address: 127.0.0.1:8080
            weight: 2
            identity: web.emojivoto.serviceaccount.identity.linkerd.cluster.local
            protocolHint: h2
            labels: {pod: web-1}
          - address: 127.0.0.1:8081
  - name: db
    ports:
      - port: 5432
        opaque: true
)";

TEST(DiscoveryFile, ParsesServicesPortsEndpoints) {
  auto snap = parse_discovery_file(kFile, "d.yaml");
  ASSERT_TRUE(snap.ok()) << snap.error();
  ASSERT_EQ(snap->services().size(), 2u);
  const Service& web = snap->services()[0];
  EXPECT_EQ(web.fqdn(), "web.emojivoto.svc.cluster.local");
  const ServicePort& p = web.ports.at(80);
  ASSERT_EQ(p.endpoints.size(), 2u);
  EXPECT_EQ(p.endpoints[0].weight, 2u);
  EXPECT_EQ(p.endpoints[0].protocol_hint, ProtocolHint::kHttp2);
  EXPECT_EQ(p.endpoints[0].labels.at("pod"), "web-1");
  EXPECT_EQ(p.endpoints[1].weight, 1u);
  EXPECT_EQ(snap->services()[1].ns, "default");
  EXPECT_TRUE(snap->services()[1].ports.at(5432).opaque);
}

TEST(DiscoveryFile, LooksUpByAddressAndAuthority) {
  auto snap = *parse_discovery_file(kFile, "d.yaml");
  auto by_ip = snap.find_by_address(*net::SocketAddress::parse("198.19.0.10:80"));
  ASSERT_TRUE(by_ip);
  EXPECT_EQ(by_ip->authority, "web.emojivoto.svc.cluster.local:80");
  EXPECT_FALSE(snap.find_by_address(*net::SocketAddress::parse("198.19.0.10:81")));
  for (const char* a : {"web.emojivoto.svc.cluster.local:80", "web.emojivoto.svc.cluster.local.:80",
                        "web.emojivoto.svc", "web.emojivoto:80", "web.emojivoto"}) {
    auto d = snap.find_by_authority(a);
    ASSERT_TRUE(d) << a;
    EXPECT_EQ(d->service->name, "web") << a;
  }
  EXPECT_FALSE(snap.find_by_authority("web"));  // short name only from the same namespace
  EXPECT_TRUE(snap.find_by_authority("web", "emojivoto"));
  EXPECT_FALSE(snap.find_by_authority("web.emojivoto:99999"));
  EXPECT_FALSE(snap.find_by_authority("nothere.default:80"));
  EXPECT_TRUE(snap.find_by_authority("db:5432"));
  ASSERT_NE(snap.find_endpoint(*net::SocketAddress::parse("127.0.0.1:8080")), nullptr);
}

TEST(DiscoveryFile, ErrorsNameFileLineAndField) {
  EXPECT_EQ(parse_discovery_file("services:\n  - name: x\n    portz: []\n", "d.yaml").error(),
            "d.yaml:3:5: services[0].portz: unknown field \"portz\"");
  EXPECT_EQ(parse_discovery_file("services:\n  - ports:\n      - port: 1\n", "d.yaml").error(),
            "d.yaml:2:5: services[0].name: missing required field");
  EXPECT_EQ(parse_discovery_file(
                "services:\n  - name: x\n    ports:\n      - port: 80\n        endpoints:\n"
                "          - address: nope\n",
                "d.yaml")
                .error(),
            "d.yaml:6:22: services[0].ports[0].endpoints[0].address: invalid address \"nope\": "
            "expected ip:port");
  EXPECT_THAT(parse_discovery_file("services: [", "d.yaml").error(),
              ::testing::StartsWith("d.yaml:1:"));
}

TEST(StaticFileSource, ReloadsOnChangeAndKeepsLastGood) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("trellis-disc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "d.yaml").string();
  { std::ofstream(path) << kFile; }
  StaticFileSource source(path);
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(source.current()->services().size(), 2u);

  net::asio::io_context io;
  int notified = 0;
  source.watch([&](SnapshotPtr) { ++notified; });
  source.start_polling(io, std::chrono::milliseconds(10));
  // Runs the poller until `done` holds (bounded, so a regression fails instead of hanging).
  auto run_until = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
  };
  // A broken file: reported, previous snapshot kept.
  { std::ofstream(path) << "services: [\n"; }
  run_until([&] { return source.error_count() > 0; });
  EXPECT_EQ(source.current()->services().size(), 2u);
  EXPECT_EQ(source.error_count(), 1u);
  EXPECT_NE(source.last_error(), "");
  // A good file replacing it (rename, as editors and kubelet do).
  { std::ofstream(path + ".tmp") << "services:\n  - name: only\n"; }
  std::filesystem::rename(path + ".tmp", path);
  run_until([&] { return source.current()->services().size() == 1; });
  EXPECT_EQ(source.current()->services().size(), 1u);
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(source.last_error(), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trellis::proxy::discovery
