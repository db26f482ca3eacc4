#include "net/socket_address.h"

#include <gtest/gtest.h>

#include "net/socket_options.h"

namespace trellis::net {
namespace {

TEST(SocketAddress, ParsesAndFormats) {
  EXPECT_EQ(SocketAddress::parse("198.18.0.7:8080")->to_string(), "198.18.0.7:8080");
  EXPECT_EQ(SocketAddress::parse("[fd00::1]:443")->to_string(), "[fd00::1]:443");
  EXPECT_EQ(SocketAddress::parse("127.0.0.1:0")->port, 0);
  EXPECT_FALSE(SocketAddress::parse("127.0.0.1").ok());
  EXPECT_FALSE(SocketAddress::parse("127.0.0.1:65536").ok());
  EXPECT_FALSE(SocketAddress::parse("[fd00::1]443").ok());
  EXPECT_FALSE(SocketAddress::parse("host:80").ok());
}

TEST(SocketAddress, EndpointRoundTrip) {
  auto a = *SocketAddress::parse("127.0.0.1:4140");
  EXPECT_EQ(SocketAddress::from_endpoint(a.endpoint()), a);
  auto b = *SocketAddress::parse("[::1]:4140");
  EXPECT_EQ(SocketAddress::from_endpoint(b.endpoint()), b);
}

TEST(ReusePortListener, TwoAcceptorsShareAPort) {
  asio::io_context io;
  auto first = make_reuseport_listener(io, *SocketAddress::parse("127.0.0.1:0"));
  SocketAddress bound = SocketAddress::from_endpoint(first.local_endpoint());
  ASSERT_NE(bound.port, 0);
  auto second = make_reuseport_listener(io, bound);
  EXPECT_EQ(second.local_endpoint().port(), bound.port);
}

TEST(OriginalDestination, NotRedirectedIsNullopt) {
  asio::io_context io;
  auto acceptor = make_reuseport_listener(io, *SocketAddress::parse("127.0.0.1:0"));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  EXPECT_FALSE(original_destination(server).has_value());
}

}  // namespace
}  // namespace trellis::net
