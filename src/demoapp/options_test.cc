#include "demoapp/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace trellis::demoapp {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(ParseRoute, AllSettings) {
  auto r = parse_route("/api/slow:latency=5ms,error-rate=0.3,status=503,response-size=100");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->prefix, "/api/slow");
  EXPECT_EQ(r->latency, Duration(5ms));
  EXPECT_DOUBLE_EQ(*r->error_rate, 0.3);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->response_size, 100u);
}

TEST(ParseRoute, PartialSettingsLeaveOthersUnset) {
  auto r = parse_route("/:latency=1m30s");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->prefix, "/");
  EXPECT_EQ(r->latency, Duration(90s));
  EXPECT_FALSE(r->error_rate.has_value());
  EXPECT_FALSE(r->status.has_value());
  EXPECT_FALSE(r->response_size.has_value());
}

TEST(ParseRoute, Errors) {
  EXPECT_THAT(parse_route("/api").error(), HasSubstr("PREFIX:key=value"));
  EXPECT_THAT(parse_route("api:latency=1s").error(), HasSubstr("must start with '/'"));
  EXPECT_THAT(parse_route("/a:").error(), HasSubstr("sets nothing"));
  EXPECT_THAT(parse_route("/a:latency=5").error(), HasSubstr("missing unit"));
  EXPECT_THAT(parse_route("/a:latency=-5ms").error(), HasSubstr("negative"));
  EXPECT_THAT(parse_route("/a:error-rate=1.5").error(), HasSubstr("between 0 and 1"));
  EXPECT_THAT(parse_route("/a:status=99").error(), HasSubstr("between 200 and 599"));
  EXPECT_THAT(parse_route("/a:status=abc").error(), HasSubstr("between 200 and 599"));
  EXPECT_THAT(parse_route("/a:response-size=-1").error(), HasSubstr("byte count"));
  EXPECT_THAT(parse_route("/a:colour=red").error(), HasSubstr("unknown route setting \"colour\""));
  EXPECT_THAT(parse_route("/a:latency").error(), HasSubstr("key=value"));
}

TEST(ParseTarget, HttpWithPathAndDefaults) {
  auto t = parse_target("http://users.demo.svc.cluster.local:80/api/users");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->kind, Target::Kind::kHttp);
  EXPECT_EQ(t->host, "users.demo.svc.cluster.local");
  EXPECT_EQ(t->port, 80);
  EXPECT_EQ(t->path, "/api/users");
  EXPECT_EQ(t->authority(), "users.demo.svc.cluster.local:80");

  auto bare = parse_target("http://frontend");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->path, "/");

  auto grpc = parse_target("grpc://catalog.demo.svc.cluster.local:9090");
  ASSERT_TRUE(grpc.ok());
  EXPECT_EQ(grpc->kind, Target::Kind::kGrpc);
  EXPECT_EQ(grpc->port, 9090);

  auto v6 = parse_target("http://[::1]:8080/x?y=1");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->authority(), "[::1]:8080");
  EXPECT_EQ(v6->path, "/x?y=1");
}

TEST(ParseTarget, Errors) {
  EXPECT_THAT(parse_target("https://x").error(), HasSubstr("http:// or grpc://"));
  EXPECT_THAT(parse_target("http://:80/").error(), HasSubstr("no host"));
  EXPECT_THAT(parse_target("http://x:0/").error(), HasSubstr("bad port"));
  EXPECT_THAT(parse_target("http://x:70000/").error(), HasSubstr("bad port"));
  EXPECT_THAT(parse_target("grpc://x:9090/svc").error(), HasSubstr("no path"));
  EXPECT_THAT(parse_target("http://[::1/").error(), HasSubstr("unterminated"));
}

TEST(ParseHeader, LowerCasesNameAndTrims) {
  auto h = parse_header("X-Trace:  abc ");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->first, "x-trace");
  EXPECT_EQ(h->second, "abc");
  EXPECT_FALSE(parse_header("no colon").ok());
  EXPECT_FALSE(parse_header("bad name: v").ok());
}

// The exact argument lists examples/demo/*.yaml run the app with.
TEST(ParseServeArgs, DemoManifests) {
  auto frontend = parse_serve_args({"--http-port=8080", "--version=frontend",
                                    "--upstream=http://users.demo.svc.cluster.local:80/api/users",
                                    "--upstream=grpc://catalog.demo.svc.cluster.local:9090"});
  ASSERT_TRUE(frontend.ok()) << frontend.error().message;
  EXPECT_EQ(frontend->http_port, 8080);
  EXPECT_EQ(frontend->version, "frontend");
  ASSERT_EQ(frontend->upstreams.size(), 2u);
  EXPECT_EQ(frontend->upstreams[0].path, "/api/users");
  EXPECT_EQ(frontend->upstreams[1].kind, Target::Kind::kGrpc);
  EXPECT_FALSE(frontend->grpc_port.has_value());

  auto users = parse_serve_args({"--http-port=8080", "--version=v2", "--latency=2ms",
                                 "--error-rate=0.05"});
  ASSERT_TRUE(users.ok()) << users.error().message;
  EXPECT_EQ(users->latency, Duration(2ms));
  EXPECT_DOUBLE_EQ(users->error_rate, 0.05);
  EXPECT_FALSE(users->seed.has_value());

  auto catalog = parse_serve_args({"--grpc-port=9090", "--http-port=8080", "--version=v1"});
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->grpc_port, 9090);
}

TEST(ParseServeArgs, Defaults) {
  auto o = parse_serve_args({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->http_port, 8080);
  EXPECT_EQ(o->version, "v1");
  EXPECT_EQ(o->threads, 1u);
  EXPECT_EQ(o->latency, Duration(0));
  EXPECT_EQ(o->error_rate, 0);
  EXPECT_EQ(o->upstream_timeout, Duration(5s));
  EXPECT_FALSE(o->tolerate_upstream_errors);
}

TEST(ParseServeArgs, RoutesSeedAndSpaceSeparatedValues) {
  auto o = parse_serve_args({"--route", "/a:latency=1ms", "--route", "/a/b:error-rate=1",
                             "--seed", "7", "--tcp-port", "0", "--tcp-banner", "SSH-2.0-demo",
                             "--threads", "2", "--tolerate-upstream-errors"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->routes.size(), 2u);
  EXPECT_EQ(o->routes[1].prefix, "/a/b");
  EXPECT_EQ(o->seed, 7u);
  EXPECT_EQ(o->tcp_port, 0);
  EXPECT_EQ(o->tcp_banner, "SSH-2.0-demo");
  EXPECT_EQ(o->threads, 2u);
  EXPECT_TRUE(o->tolerate_upstream_errors);
}

TEST(ParseServeArgs, ReportsEveryErrorAtOnce) {
  auto o = parse_serve_args({"--latency=5", "--error-rate=2", "--route=/x", "--upstream=ftp://a"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().exit_code, 2);
  EXPECT_THAT(o.error().message, HasSubstr("--latency: missing unit"));
  EXPECT_THAT(o.error().message, HasSubstr("--error-rate:"));
  EXPECT_THAT(o.error().message, HasSubstr("--route:"));
  EXPECT_THAT(o.error().message, HasSubstr("--upstream:"));
}

TEST(ParseServeArgs, UnknownFlagAndHelp) {
  auto bad = parse_serve_args({"--colour=red"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().exit_code, 2);
  auto help = parse_serve_args({"--help"});
  ASSERT_FALSE(help.ok());
  EXPECT_EQ(help.error().exit_code, 0);
  EXPECT_THAT(help.error().message, HasSubstr("--error-rate"));
  EXPECT_FALSE(parse_serve_args({"--threads=0"}).ok());
}

TEST(ParseLoadArgs, DemoManifestAndDefaults) {
  auto o = parse_load_args({"--target=http://frontend.demo.svc.cluster.local:80/", "--rate=20"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->target.host, "frontend.demo.svc.cluster.local");
  EXPECT_DOUBLE_EQ(o->rate, 20);
  EXPECT_EQ(o->duration, Duration(0));
  EXPECT_EQ(o->method, "GET");
  EXPECT_FALSE(o->grpc);
  EXPECT_FALSE(o->max_failures.has_value());
  EXPECT_EQ(o->report_interval, Duration(10s));
}

TEST(ParseLoadArgs, GrpcTargetImpliesGrpcAndHeaders) {
  auto o = parse_load_args({"--target", "grpc://127.0.0.1:9090", "--duration=1m",
                            "--header", "X-A: 1", "--max-failures=0", "--concurrency=3"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_TRUE(o->grpc);
  EXPECT_EQ(o->duration, Duration(60s));
  ASSERT_EQ(o->headers.size(), 1u);
  EXPECT_EQ(o->headers[0], std::make_pair(std::string("x-a"), std::string("1")));
  EXPECT_EQ(o->max_failures, 0u);
  EXPECT_EQ(o->concurrency, 3u);
}

TEST(ParseLoadArgs, Errors) {
  EXPECT_FALSE(parse_load_args({}).ok());  // --target is required
  EXPECT_FALSE(parse_load_args({"--target=http://x/", "--rate=0"}).ok());
  EXPECT_FALSE(parse_load_args({"--target=http://x/", "--timeout=0s"}).ok());
  auto e = parse_load_args({"--target=http://x/", "--duration=soon"});
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.error().message, HasSubstr("--duration:"));
}

}  // namespace
}  // namespace trellis::demoapp
