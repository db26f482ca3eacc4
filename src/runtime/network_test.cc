#include "runtime/network.h"

#include <gtest/gtest.h>

namespace trellis::runtime {
namespace {

base::IpAddress ip(const char* text) { return *base::IpAddress::parse(text); }

TEST(NatTable, SpreadsAServiceUniformlyOverItsEndpoints) {
  ServiceRule r;
  r.id = "e2e/web:80/TCP";
  r.cluster_ip = ip("198.19.0.10");
  r.port = 80;
  r.endpoints = {{ip("198.18.0.2"), 8080}, {ip("198.18.0.3"), 8080}, {ip("198.18.0.4"), 8080}};
  const std::string t = render_nat_table({r});
  EXPECT_EQ(t.rfind("*nat\n", 0), 0u);
  EXPECT_NE(t.find("-A PREROUTING -j TRELLIS-SERVICES\n"), std::string::npos);
  EXPECT_NE(t.find("-A OUTPUT -j TRELLIS-SERVICES\n"), std::string::npos);
  EXPECT_NE(t.find("-d 198.19.0.10/32 -p tcp -m tcp --dport 80 -j TRELLIS-SVC-"), std::string::npos);
  EXPECT_NE(t.find("--probability 0.33333333"), std::string::npos);
  EXPECT_NE(t.find("--probability 0.50000000"), std::string::npos);
  EXPECT_NE(t.find("DNAT --to-destination 198.18.0.4:8080"), std::string::npos);
  // Hairpin: the endpoint itself as the client is masqueraded.
  EXPECT_NE(t.find("-s 198.18.0.2/32 -j MARK --set-xmark 0x4000/0x4000"), std::string::npos);
  EXPECT_NE(t.find("-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE"),
            std::string::npos);
  EXPECT_EQ(t.substr(t.size() - 7), "COMMIT\n");
}

TEST(NatTable, AServiceWithoutReadyEndpointsHasNoRule) {
  ServiceRule r;
  r.id = "e2e/web:80/TCP";
  r.cluster_ip = ip("198.19.0.10");
  r.port = 80;
  EXPECT_EQ(render_nat_table({r}).find("198.19.0.10"), std::string::npos);
}

TEST(ShortHash, IsStableHexOfTheAskedLength) {
  EXPECT_EQ(short_hash("a"), short_hash("a"));
  EXPECT_NE(short_hash("a"), short_hash("b"));
  EXPECT_EQ(short_hash("a", 12).size(), 12u);
  // Interface names: "trellis" + 8 hex fits Linux's 15 characters.
  EXPECT_LE(("trellis" + short_hash("a-very-long-cluster-name")).size(), 15u);
}

}  // namespace
}  // namespace trellis::runtime
