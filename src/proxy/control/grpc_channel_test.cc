#include "proxy/control/grpc_channel.h"

#include <gtest/gtest.h>

#include "api/destination.pb.h"
#include "api/identity.pb.h"
#include "proxy/control/test_control_plane.h"
#include "proxy/control/test_run.h"

namespace trellis::proxy::control {
namespace {

using namespace std::chrono_literals;
using proxy::testing::eventually;
using proxy::testing::run_task;
using testing::TestControlPlane;
using tls::testing::take;
namespace pb_dst = api::destination::v1;

const std::string kGet = "/trellis.api.destination.v1.Destination/Get";
const std::string kCertify = "/trellis.api.identity.v1.Identity/Certify";

std::string get_request(const std::string& path, const std::string& ns = "emojivoto") {
  pb_dst::GetDestination get;
  get.set_path(path);
  get.set_context_namespace(ns);
  return get.SerializeAsString();
}

pb_dst::Update update_with(std::vector<std::string> addresses) {
  pb_dst::Update u;
  u.set_exists(true);
  u.mutable_service()->set_name("web");
  u.mutable_service()->set_namespace_("emojivoto");
  u.mutable_service()->set_port(80);
  for (const auto& a : addresses) u.add_endpoints()->set_address(a);
  return u;
}

pb_dst::Update parse_update(const std::string& bytes) {
  pb_dst::Update u;
  EXPECT_TRUE(u.ParseFromString(bytes));
  return u;
}

struct Fixture {
  tls::testing::Pki pki = tls::testing::Pki::create();
  TestControlPlane cp{pki};
  net::asio::io_context io;
  std::unique_ptr<tls::ClientContext> tls_ctx =
      take(tls::ClientContext::create({}, nullptr, pki.anchors()));

  std::unique_ptr<GrpcChannel> channel(const tls::Identity& server = testing::control_identity()) {
    ChannelOptions options{cp.address(), server};
    options.backoff_base = 20ms;
    options.backoff_max = 100ms;
    return std::make_unique<GrpcChannel>(io.get_executor(), options, *tls_ctx);
  }
};

TEST(MessageFraming, SplitsAndJoinsLengthPrefixedMessages) {
  const std::string a = http::h2::grpc_frame("hello");
  EXPECT_EQ(a, std::string("\0\0\0\0\5hello", 10));
  MessageReader r;
  const std::string both = a + http::h2::grpc_frame("") + http::h2::grpc_frame("world");
  for (char c : both) ASSERT_TRUE(r.feed(std::string_view(&c, 1)));
  EXPECT_EQ(r.pop(), "hello");
  EXPECT_EQ(r.pop(), "");
  EXPECT_EQ(r.pop(), "world");
  EXPECT_EQ(r.pop(), std::nullopt);
  EXPECT_TRUE(r.complete());
  ASSERT_TRUE(r.feed(std::string("\0\0\0\0\3ab", 7)));
  EXPECT_EQ(r.pop(), std::nullopt);
  EXPECT_FALSE(r.complete());

  MessageReader compressed;
  EXPECT_FALSE(compressed.feed(std::string("\1\0\0\0\1x", 6)));
  EXPECT_NE(compressed.error().find("compressed"), std::string::npos);
  MessageReader huge;
  EXPECT_FALSE(huge.feed(std::string("\0\x7f\0\0\0", 5)));
}

TEST(Backoff, GrowsExponentiallyWithJitterUpToTheCap) {
  Backoff b(100ms, 1000ms, 42);
  for (int round = 0; round < 2; ++round) {
    const std::vector<int64_t> ceilings = {100, 200, 400, 800, 1000, 1000};
    for (int64_t ceiling : ceilings) {
      const auto d = b.next().count();
      EXPECT_GE(d, ceiling / 2);
      EXPECT_LE(d, ceiling);
    }
    b.reset();
  }
  // Different seeds spread out (full jitter keeps clients from reconnecting in lockstep).
  std::set<int64_t> firsts;
  for (uint64_t seed = 1; seed < 20; ++seed) {
    Backoff s(1000ms, 1000ms, seed * 7919);
    firsts.insert(s.next().count());
  }
  EXPECT_GT(firsts.size(), 5u);
}

TEST(GrpcChannel, ServerStreamingDeliversEveryUpdateOnOneConnection) {
  Fixture f;
  f.cp.destination().set("web:80", update_with({"198.18.0.1:8080"}));
  auto channel = f.channel();
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto stream = co_await channel->server_streaming(kGet, get_request("web:80"), {});
    EXPECT_TRUE(stream) << to_string(stream.error());
    if (!stream) co_return;
    auto first = co_await (*stream)->next();
    EXPECT_TRUE(first && *first);
    if (!first || !*first) co_return;
    EXPECT_EQ(parse_update(**first).endpoints(0).address(), "198.18.0.1:8080");

    f.cp.destination().set("web:80", update_with({"198.18.0.1:8080", "198.18.0.2:8080"}));
    auto second = co_await (*stream)->next();
    EXPECT_TRUE(second && *second);
    if (!second || !*second) co_return;
    EXPECT_EQ(parse_update(**second).endpoints_size(), 2);

    // A second stream and a unary call share the connection.
    auto other = co_await channel->server_streaming(kGet, get_request("api:80"), {});
    EXPECT_TRUE(other);
    auto absent = co_await (*other)->next();
    EXPECT_TRUE(absent && *absent);
    EXPECT_FALSE(parse_update(**absent).exists());
    auto refused = co_await channel->unary(kCertify, "", {}, 5s);
    EXPECT_FALSE(refused);
    EXPECT_EQ(channel->connects(), 1u);
    EXPECT_EQ(f.cp.connections(), 1);
    EXPECT_EQ(f.cp.destination().last_namespace(), "emojivoto");
    channel->close();
  }());
}

TEST(GrpcChannel, ErrorStatusesArriveWithTheirMessage) {
  Fixture f;
  auto channel = f.channel();
  run_task(f.io, [&]() -> net::awaitable<void> {
    api::identity::v1::CertifyRequest req;
    req.set_identity("web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
    req.set_token("wrong");
    auto r = co_await channel->unary(kCertify, req.SerializeAsString(), {}, 5s);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().status, GrpcStatus::kUnauthenticated);
      EXPECT_EQ(r.error().message, "bad token");
      EXPECT_EQ(to_string(r.error()), "UNAUTHENTICATED: bad token");
    }
    f.cp.identity().refuse(grpc::StatusCode::PERMISSION_DENIED, "sa web cannot certify 100%");
    r = co_await channel->unary(kCertify, req.SerializeAsString(), {}, 5s);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().status, GrpcStatus::kPermissionDenied);
      EXPECT_EQ(r.error().message, "sa web cannot certify 100%");  // percent-decoded
    }
    r = co_await channel->unary("/trellis.api.identity.v1.Identity/Nope", "", {}, 5s);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().status, GrpcStatus::kUnimplemented);
    }
    channel->close();
  }());
}

TEST(GrpcChannel, DeadlineEndsASlowCall) {
  Fixture f;
  f.cp.identity().set_delay(1500ms);
  auto channel = f.channel();
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto r = co_await channel->unary(kCertify, "", {}, 200ms);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().status, GrpcStatus::kDeadlineExceeded) << to_string(r.error());
    }
    // The connection is still good for the next call.
    f.cp.identity().set_delay(0ms);
    r = co_await channel->unary(kCertify, "", {}, 5s);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().status, GrpcStatus::kUnauthenticated) << to_string(r.error());
    }
    EXPECT_EQ(channel->connects(), 1u);
    channel->close();
  }());
}

TEST(GrpcChannel, DestroyingAStreamCancelsItOnTheServer) {
  Fixture f;
  auto channel = f.channel();
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto stream = co_await channel->server_streaming(kGet, get_request("web:80"), {});
    EXPECT_TRUE(stream);
    if (!stream) co_return;
    auto first = co_await (*stream)->next();
    EXPECT_TRUE(first && *first);
    EXPECT_EQ(f.cp.destination().open_streams(), 1);
    stream->reset();
    EXPECT_TRUE(co_await eventually([&] { return f.cp.destination().open_streams() == 0; }));
    channel->close();
  }());
}

TEST(GrpcChannel, ReconnectsWithBackoffAfterTheControlPlaneComesBack) {
  Fixture f;
  f.cp.destination().set("web:80", update_with({"198.18.0.1:8080"}));
  auto channel = f.channel();
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto stream = co_await channel->server_streaming(kGet, get_request("web:80"), {});
    EXPECT_TRUE(stream);
    if (!stream) co_return;
    EXPECT_TRUE(co_await (*stream)->next());
    f.cp.go_down();
    auto broken = co_await (*stream)->next();
    EXPECT_FALSE(broken);
    if (!broken) {
      EXPECT_EQ(broken.error().status, GrpcStatus::kUnavailable);
    }
    // While down, calls fail fast with UNAVAILABLE.
    auto again = co_await channel->server_streaming(kGet, get_request("web:80"), {});
    EXPECT_FALSE(again);
    if (!again) {
      EXPECT_EQ(again.error().status, GrpcStatus::kUnavailable);
    }
    f.cp.restart();
    bool resumed = false;
    for (int i = 0; i < 100 && !resumed; ++i) {
      auto s = co_await channel->server_streaming(kGet, get_request("web:80"), {});
      if (!s) continue;
      auto m = co_await (*s)->next();
      resumed = m && *m && parse_update(**m).endpoints_size() == 1;
    }
    EXPECT_TRUE(resumed);
    EXPECT_EQ(channel->connects(), 2u);
    channel->close();
  }());
}

TEST(GrpcChannel, WrongControlPlaneIdentityIsRefused) {
  Fixture f;
  auto channel = f.channel(tls::testing::id("impostor.linkerd.serviceaccount.identity.linkerd.cluster.local"));
  run_task(f.io, [&]() -> net::awaitable<void> {
    auto r = co_await channel->unary(kCertify, "", {}, 5s);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().status, GrpcStatus::kUnavailable);
      EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
    }
    EXPECT_EQ(channel->connects(), 0u);
    channel->close();
  }());
}

}  // namespace
}  // namespace trellis::proxy::control
