// DemoService driven directly (no sockets): the documents, status codes, headers and gRPC
// replies it produces, with fault injection from a fixed seed.
#include "demoapp/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "demoapp/grpc_codec.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::demoapp {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Got {
  int status = 0;
  http::Headers headers;
  std::string body;
  http::Headers trailers;
  std::string error;
  Clock::duration elapsed{};
};

http::Request make_request(std::string method, std::string path, std::string body = "") {
  http::Request r;
  r.head.method = std::move(method);
  r.head.scheme = "http";
  r.head.authority = "demo.test";
  r.head.path = std::move(path);
  r.body = body.empty() ? http::make_empty_body() : http::make_buffered_body(std::move(body));
  return r;
}

http::Request make_grpc(std::string path, std::string message, std::string timeout = "") {
  http::Request r = make_request("POST", std::move(path), grpc_frame(message));
  r.head.version = http::Version::kHttp2;
  r.head.headers.add("content-type", "application/grpc");
  r.head.headers.add("te", "trailers");
  if (!timeout.empty()) r.head.headers.add("grpc-timeout", timeout);
  return r;
}

class ServiceTest : public ::testing::Test {
 protected:
  void make_service(uint64_t seed = 1) {
    upstreams_ = options_.upstreams.empty()
                     ? nullptr
                     : std::make_unique<Upstreams>(io_.get_executor(), options_, "test");
    service_ = std::make_unique<DemoService>(io_.get_executor(), options_, "demo-0", seed,
                                             upstreams_.get());
  }

  Got call(http::Request request) {
    if (!service_) make_service();
    Got got;
    const auto start = Clock::now();
    net::asio::co_spawn(
        io_,
        [&]() -> net::awaitable<void> {
          http::Response r = co_await service_->call(std::move(request));
          got.status = r.head.status;
          got.headers = r.head.headers;
          auto all = co_await http::read_all(*r.body, 1 << 24);
          if (!all) {
            got.error = http::to_string(all.error());
            co_return;
          }
          got.body = std::move(all->data);
          got.trailers = std::move(all->trailers);
        },
        net::asio::detached);
    io_.run_for(10s);
    io_.restart();
    got.elapsed = Clock::now() - start;
    return got;
  }

  ~ServiceTest() override {
    // Pending operations (pools) hold handles into io_: finish them before it goes away.
    service_.reset();
    if (upstreams_) upstreams_->close();
    upstreams_.reset();
    io_.run_for(1s);
  }

  net::asio::io_context io_;
  ServeOptions options_;
  std::unique_ptr<Upstreams> upstreams_;
  std::unique_ptr<DemoService> service_;
};

TEST_F(ServiceTest, HealthEndpoints) {
  options_.error_rate = 1;  // health checks are never failed by injection
  for (const char* path : {"/ready", "/live"}) {
    Got g = call(make_request("GET", path));
    EXPECT_EQ(g.status, 200) << path;
    EXPECT_EQ(g.body, "ok\n");
  }
}

TEST_F(ServiceTest, InfoDocumentReportsRequest) {
  options_.version = "v7";
  http::Request r = make_request("POST", "/hello?x=1", "abcdef");
  r.head.headers.add("l5d-client-id", "web.demo.serviceaccount.identity.linkerd.cluster.local");
  Got g = call(std::move(r));
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.headers.get("x-demo-version"), "v7");
  EXPECT_EQ(g.headers.get("content-type"), "application/json");
  auto j = json::parse(g.body);
  EXPECT_EQ(j["version"], "v7");
  EXPECT_EQ(j["name"], "demo-0");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/hello?x=1");
  EXPECT_EQ(j["requestBytes"], 6);
  EXPECT_EQ(j["clientId"], "web.demo.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(j["upstreams"], json::array());
  EXPECT_FALSE(j.contains("error"));
}

TEST_F(ServiceTest, StatusPathAndResponseSize) {
  options_.response_size = 500;
  Got g = call(make_request("GET", "/status/503"));
  EXPECT_EQ(g.status, 503);
  EXPECT_EQ(g.body.size(), 501u);  // exactly the minimum, plus the trailing newline
  EXPECT_EQ(json::parse(g.body)["status"], 503);
}

TEST_F(ServiceTest, RouteResponseSizeOverridesGlobal) {
  options_.response_size = 500;
  options_.routes.push_back(*parse_route("/small:response-size=0"));
  Got g = call(make_request("GET", "/small"));
  EXPECT_LT(g.body.size(), 200u);
}

TEST_F(ServiceTest, LatencyAndDelayAddUp) {
  options_.latency = 30ms;
  Got g = call(make_request("GET", "/delay/40ms"));
  EXPECT_EQ(g.status, 200);
  EXPECT_GE(g.elapsed, 70ms);
  EXPECT_LT(g.elapsed, 2s);
}

TEST_F(ServiceTest, InjectedErrorsFollowTheSeededSequence) {
  options_.error_rate = 0.5;
  make_service(99);
  FaultInjector reference(options_, 99);
  int failures = 0;
  for (int i = 0; i < 40; ++i) {
    const bool fail = reference.plan("/x").fail;
    Got g = call(make_request("GET", "/x"));
    ASSERT_EQ(g.status, fail ? 500 : 200) << i;
    if (fail) {
      ++failures;
      EXPECT_EQ(json::parse(g.body)["error"], "injected");
    }
  }
  EXPECT_GT(failures, 5);
  EXPECT_LT(failures, 35);
}

TEST_F(ServiceTest, RouteStatusOverride) {
  options_.routes.push_back(*parse_route("/api/broken:status=503"));
  EXPECT_EQ(call(make_request("GET", "/api/broken/1")).status, 503);
  EXPECT_EQ(call(make_request("GET", "/api/fine")).status, 200);
}

TEST_F(ServiceTest, UnreachableUpstreamMakes502UnlessTolerated) {
  options_.upstreams.push_back(*parse_target("http://127.0.0.1:1/api"));
  options_.upstream_timeout = 1s;
  Got g = call(make_request("GET", "/"));
  EXPECT_EQ(g.status, 502);
  auto j = json::parse(g.body);
  EXPECT_EQ(j["error"], "upstream");
  ASSERT_EQ(j["upstreams"].size(), 1u);
  EXPECT_EQ(j["upstreams"][0]["ok"], false);
  EXPECT_EQ(j["upstreams"][0]["url"], "http://127.0.0.1:1/api");
  EXPECT_THAT(j["upstreams"][0]["error"].get<std::string>(), HasSubstr("connect"));

  // Paths other than / and /api/... never call upstreams.
  EXPECT_EQ(call(make_request("GET", "/other")).status, 200);

  options_.tolerate_upstream_errors = true;
  EXPECT_EQ(call(make_request("GET", "/api/x")).status, 200);
}

TEST_F(ServiceTest, GrpcHello) {
  options_.version = "v3";
  http::Request r = make_grpc(std::string(kHelloPath), R"({"name":"x"})");
  r.head.headers.add("l5d-client-id", "me");
  Got g = call(std::move(r));
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(g.trailers.get("grpc-status"), "0");
  auto messages = grpc_unframe(g.body);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ(messages->front(),
            R"({"clientId":"me","index":0,"message":"hello x","name":"demo-0","version":"v3"})");
}

TEST_F(ServiceTest, GrpcStream) {
  Got g = call(make_grpc(std::string(kStreamPath), R"({"name":"s","count":3})"));
  EXPECT_EQ(g.trailers.get("grpc-status"), "0");
  auto messages = grpc_unframe(g.body);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto j = json::parse((*messages)[i]);
    EXPECT_EQ(j["index"], i);
    EXPECT_EQ(j["message"], "hello s");
  }
  Got none = call(make_grpc(std::string(kStreamPath), R"({"count":0})"));
  EXPECT_EQ(none.body, "");
  EXPECT_EQ(none.trailers.get("grpc-status"), "0");
}

TEST_F(ServiceTest, GrpcStreamStopsAtTheDeadline) {
  Got g = call(make_grpc(std::string(kStreamPath), R"({"count":10,"intervalMs":40})", "100m"));
  EXPECT_EQ(g.trailers.get("grpc-status"), "4");
  auto messages = grpc_unframe(g.body);
  ASSERT_TRUE(messages.ok());
  EXPECT_GE(messages->size(), 2u);
  EXPECT_LE(messages->size(), 3u);
  EXPECT_LT(g.elapsed, 1s);
}

TEST_F(ServiceTest, GrpcErrorsAreTrailersOnly) {
  Got unknown = call(make_grpc("/trellis.demo.Demo/Nope", "{}"));
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.headers.get("grpc-status"), "12");
  EXPECT_EQ(unknown.body, "");
  EXPECT_TRUE(unknown.trailers.empty());

  Got other_service = call(make_grpc("/other.Svc/Hello", "{}"));
  EXPECT_EQ(other_service.headers.get("grpc-status"), "12");

  Got malformed = call(make_grpc(std::string(kHelloPath), "not json"));
  EXPECT_EQ(malformed.headers.get("grpc-status"), "3");

  http::Request truncated = make_grpc(std::string(kHelloPath), "");
  truncated.body = http::make_buffered_body(std::string("\0\0\0", 3));
  EXPECT_EQ(call(std::move(truncated)).headers.get("grpc-status"), "3");

  EXPECT_EQ(call(make_grpc(std::string(kHelloPath), "{}", "bogus")).headers.get("grpc-status"),
            "3");
}

TEST_F(ServiceTest, GrpcInjectedErrorIsUnavailable) {
  options_.error_rate = 1;
  Got g = call(make_grpc(std::string(kHelloPath), "{}"));
  EXPECT_EQ(g.headers.get("grpc-status"), "14");
  EXPECT_EQ(g.headers.get("grpc-message"), "injected error");
}

TEST_F(ServiceTest, GrpcDeadlineShorterThanLatency) {
  options_.latency = 500ms;
  Got g = call(make_grpc(std::string(kHelloPath), "{}", "50m"));
  EXPECT_EQ(g.headers.get("grpc-status"), "4");
  EXPECT_GE(g.elapsed, 45ms);
  EXPECT_LT(g.elapsed, 400ms);  // answered at the deadline, not after the latency

  Got ok = call(make_grpc(std::string(kHelloPath), "{}", "2S"));
  EXPECT_EQ(ok.trailers.get("grpc-status"), "0");
  EXPECT_GE(ok.elapsed, 500ms);
}

}  // namespace
}  // namespace trellis::demoapp
