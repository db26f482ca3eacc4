#include "demoapp/responses.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "demoapp/grpc_codec.h"
#include "demoapp/load.h"

namespace trellis::demoapp {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(RenderInfo, ExactDocument) {
  InfoDocument d;
  d.version = "v2";
  d.name = "users-1";
  d.method = "POST";
  d.path = "/api/users?x=1";
  d.request_bytes = 6;
  EXPECT_EQ(render_info(d),
            "{\"method\":\"POST\",\"name\":\"users-1\",\"path\":\"/api/users?x=1\","
            "\"requestBytes\":6,\"status\":200,\"upstreams\":[],\"version\":\"v2\"}\n");
}

TEST(RenderInfo, ClientIdErrorAndUpstreams) {
  InfoDocument d;
  d.version = "frontend";
  d.client_id = "default.demo.serviceaccount.identity.linkerd.cluster.local";
  d.status = 502;
  d.error = "upstream";
  d.upstreams.push_back({"http://users:80/api/users", true, 200, -1, "v1", 1.23456, ""});
  d.upstreams.push_back({"grpc://catalog:9090", false, 200, 14, "", 0.5, "grpc-status 14"});
  auto j = nlohmann::json::parse(render_info(d));
  EXPECT_EQ(j["clientId"], d.client_id);
  EXPECT_EQ(j["status"], 502);
  EXPECT_EQ(j["error"], "upstream");
  ASSERT_EQ(j["upstreams"].size(), 2u);
  EXPECT_EQ(j["upstreams"][0]["version"], "v1");
  EXPECT_EQ(j["upstreams"][0]["ok"], true);
  EXPECT_DOUBLE_EQ(j["upstreams"][0]["latencyMs"].get<double>(), 1.234);
  EXPECT_FALSE(j["upstreams"][0].contains("grpcStatus"));
  EXPECT_EQ(j["upstreams"][1]["grpcStatus"], 14);
  EXPECT_EQ(j["upstreams"][1]["error"], "grpc-status 14");
}

TEST(RenderInfo, InvalidUtf8InPathDoesNotThrow) {
  InfoDocument d;
  d.path = std::string("/\xff\xfe");
  EXPECT_NO_THROW(nlohmann::json::parse(render_info(d)));
}

TEST(PadJson, ReachesTheMinimumSizeExactlyAndStaysValid) {
  const std::string base = "{\"a\":1}";
  for (size_t min : {0u, 5u, 8u, 20u, 21u, 22u, 100u, 4096u}) {
    const std::string padded = pad_json(base, min);
    ASSERT_EQ(padded.back(), '\n');
    const std::string doc = padded.substr(0, padded.size() - 1);
    EXPECT_GE(doc.size(), min) << min;
    // Never longer than needed once padding is added (the 13-byte member overhead aside).
    if (min > base.size() + 13) {
      EXPECT_EQ(doc.size(), min);
    }
    auto j = nlohmann::json::parse(doc);
    EXPECT_EQ(j["a"], 1);
    EXPECT_EQ(j.contains("padding"), min > base.size());
  }
  EXPECT_EQ(pad_json("{}", 20), "{\"padding\":\"xxxxxx\"}\n");
}

TEST(SpecialPaths, StatusAndDelay) {
  EXPECT_EQ(status_from_path("/status/503"), 503);
  EXPECT_EQ(status_from_path("/status/204?x"), 204);
  EXPECT_EQ(status_from_path("/status/99"), std::nullopt);
  EXPECT_EQ(status_from_path("/status/600"), std::nullopt);
  EXPECT_EQ(status_from_path("/status/5x"), std::nullopt);
  EXPECT_EQ(status_from_path("/statusx/500"), std::nullopt);
  EXPECT_EQ(delay_from_path("/delay/250ms"), Duration(250ms));
  EXPECT_EQ(delay_from_path("/delay/2"), Duration(2s));
  EXPECT_EQ(delay_from_path("/delay/1m?x=1"), Duration(60s));
  EXPECT_EQ(delay_from_path("/delay/soon"), std::nullopt);
  EXPECT_EQ(delay_from_path("/delay/-1s"), std::nullopt);
  EXPECT_TRUE(calls_upstreams("/"));
  EXPECT_TRUE(calls_upstreams("/?q"));
  EXPECT_TRUE(calls_upstreams("/api/users"));
  EXPECT_FALSE(calls_upstreams("/apix"));
  EXPECT_FALSE(calls_upstreams("/status/200"));
}

TEST(GrpcCodec, RoundTripAndErrors) {
  const std::string frame = grpc_frame("hello");
  EXPECT_EQ(frame, std::string("\0\0\0\0\5hello", 10));
  auto two = grpc_unframe(frame + grpc_frame(""));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (std::vector<std::string>{"hello", ""}));
  EXPECT_THAT(grpc_unframe(frame.substr(0, 4)).error(), HasSubstr("truncated gRPC frame header"));
  EXPECT_THAT(grpc_unframe(frame.substr(0, 7)).error(), HasSubstr("truncated gRPC message"));
  EXPECT_THAT(grpc_unframe(std::string("\1\0\0\0\0", 5)).error(), HasSubstr("compressed"));
  EXPECT_THAT(grpc_unframe(std::string("\0\x7f\0\0\0", 5)).error(), HasSubstr("too large"));
  EXPECT_TRUE(grpc_unframe("").ok());
}

TEST(GrpcPayload, RequestParsing) {
  auto r = parse_grpc_request(R"({"name":"x","count":3,"intervalMs":20})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->name, "x");
  EXPECT_EQ(r->count, 3u);
  EXPECT_EQ(r->interval, Duration(20ms));
  auto empty = parse_grpc_request("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->name, "world");
  EXPECT_EQ(empty->count, 1u);
  EXPECT_FALSE(parse_grpc_request("not json").ok());
  EXPECT_FALSE(parse_grpc_request("[1]").ok());
  EXPECT_FALSE(parse_grpc_request(R"({"count":-1})").ok());
  EXPECT_FALSE(parse_grpc_request(R"({"count":1000001})").ok());
  EXPECT_FALSE(parse_grpc_request(R"({"name":3})").ok());
}

TEST(GrpcPayload, Reply) {
  EXPECT_EQ(render_grpc_reply("v1", "catalog-0", "x", 2, ""),
            R"({"index":2,"message":"hello x","name":"catalog-0","version":"v1"})");
  EXPECT_THAT(render_grpc_reply("v1", "n", "x", 0, "a.b"), HasSubstr(R"("clientId":"a.b")"));
}

TEST(LoadStats, CountsPercentilesAndSummary) {
  LoadStats s;
  for (int i = 1; i <= 98; ++i) s.record_success(i);
  s.record_failure("500", 99);
  s.record_failure("timeout", 100);
  s.record_skipped();
  EXPECT_EQ(s.requests(), 100u);
  EXPECT_EQ(s.successes(), 98u);
  EXPECT_EQ(s.failures(), 2u);
  EXPECT_DOUBLE_EQ(s.percentile(50), 50);
  EXPECT_DOUBLE_EQ(s.percentile(99), 99);
  EXPECT_DOUBLE_EQ(s.percentile(100), 100);
  EXPECT_EQ(s.summary(),
            "requests=100 success=98 failures=2 (500=1 timeout=1) skipped=1 p50=50.00ms "
            "p99=99.00ms");
  EXPECT_EQ(LoadStats().percentile(99), 0);
}

}  // namespace
}  // namespace trellis::demoapp
