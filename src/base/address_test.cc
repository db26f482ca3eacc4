#include "base/address.h"

#include <gtest/gtest.h>

namespace trellis::base {
namespace {

TEST(IpAddress, ParsesBothFamilies) {
  EXPECT_EQ(IpAddress::parse("198.18.0.7")->to_string(), "198.18.0.7");
  EXPECT_TRUE(IpAddress::parse("198.18.0.7")->is_v4());
  EXPECT_EQ(IpAddress::parse("fd00::1")->to_string(), "fd00::1");
  EXPECT_FALSE(IpAddress::parse("fd00::1")->is_v4());
  EXPECT_FALSE(IpAddress::parse("256.0.0.1").ok());
  EXPECT_FALSE(IpAddress::parse("").ok());
  EXPECT_FALSE(IpAddress::parse("10.0.0.1 ").ok());
  EXPECT_EQ(IpAddress::v4(0xC6120007), *IpAddress::parse("198.18.0.7"));
}

TEST(Cidr, ParsesAndMatches) {
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->contains(*IpAddress::parse("10.200.3.4")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("11.0.0.1")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("::1")));
  EXPECT_FALSE(c->has_host_bits());
  EXPECT_TRUE(Cidr::parse("10.1.0.0/8")->has_host_bits());
  EXPECT_EQ(Cidr::parse("198.18.0.5")->to_string(), "198.18.0.5/32");
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddress::parse("1.2.3.4")));
  EXPECT_TRUE(Cidr::parse("fd00::/8")->contains(*IpAddress::parse("fdff::1")));
  EXPECT_TRUE(Cidr::parse("198.18.0.0/15")->contains(*IpAddress::parse("198.19.255.1")));
  EXPECT_FALSE(Cidr::parse("198.18.0.0/15")->contains(*IpAddress::parse("198.20.0.1")));
}

TEST(Cidr, RejectsWithAReason) {
  EXPECT_EQ(Cidr::parse("10.0.0.0/33").error(),
            "invalid CIDR \"10.0.0.0/33\": prefix length 33 exceeds 32");
  EXPECT_EQ(Cidr::parse("10.0.0/8").error(),
            "invalid CIDR \"10.0.0/8\": expected an address and prefix length such as "
            "\"10.0.0.0/8\"");
  EXPECT_FALSE(Cidr::parse("10.0.0.0/").ok());
  EXPECT_FALSE(Cidr::parse("10.0.0.0/a").ok());
  EXPECT_FALSE(Cidr::parse("::/129").ok());
}

}  // namespace
}  // namespace trellis::base
