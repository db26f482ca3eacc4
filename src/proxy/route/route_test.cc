// Tests of the proxy's route engine: condition matching (paths, methods, headers, query
// parameters, gRPC methods, all/any/not trees, RE2), route order and hostnames, weighted
// backend picks (statistics with a fixed seed), filters and response classification.

#include <google/protobuf/text_format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "proxy/route/classify.h"
#include "proxy/route/filters.h"
#include "proxy/route/matcher.h"
#include "proxy/route/route_table.h"
#include "proxy/route/weighted.h"

namespace trellis::proxy::route {
namespace {

namespace pb = api::traffic::v1;
using ::testing::ElementsAre;

template <typename M>
M parse(const std::string& text) {
  M m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

http::RequestHead request(std::string method, std::string path, http::Headers headers = {},
                          std::string authority = "web.ns.svc.cluster.local:80") {
  http::RequestHead h;
  h.method = std::move(method);
  h.scheme = "http";
  h.path = std::move(path);
  h.authority = std::move(authority);
  h.headers = std::move(headers);
  return h;
}

bool match(const std::string& condition, const http::RequestHead& head) {
  auto m = Matcher::compile(parse<pb::RequestMatch>(condition));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error());
  return m.ok() && m->matches(RequestView::of(head));
}

// ---- conditions ---------------------------------------------------------------------------------

TEST(MatcherTest, PathPrefixMatchesWholeSegments) {
  const std::string c = R"(path { prefix: "/api" })";
  EXPECT_TRUE(match(c, request("GET", "/api")));
  EXPECT_TRUE(match(c, request("GET", "/api/")));
  EXPECT_TRUE(match(c, request("GET", "/api/users?x=1")));
  EXPECT_FALSE(match(c, request("GET", "/apix")));
  EXPECT_FALSE(match(c, request("GET", "/ap")));
  EXPECT_TRUE(match(R"(path { prefix: "/api/" })", request("GET", "/api")));
  EXPECT_TRUE(match(R"(path { prefix: "/" })", request("GET", "/anything")));
}

TEST(MatcherTest, PathExactIgnoresTheQuery) {
  EXPECT_TRUE(match(R"(path { exact: "/a" })", request("GET", "/a?b=c")));
  EXPECT_FALSE(match(R"(path { exact: "/a" })", request("GET", "/a/")));
}

TEST(MatcherTest, ProfilePathRegexIsAnchoredOnTheWholePath) {
  // Seed template 3: "/api/users" must not match "/api/users/7", and "/api/users/[^/]+" must.
  const std::string users = R"(path { regex: "/api/users" })";
  const std::string user = R"(path { regex: "/api/users/[^/]+" })";
  EXPECT_TRUE(match(users, request("GET", "/api/users")));
  EXPECT_TRUE(match(users, request("GET", "/api/users?page=2")));
  EXPECT_FALSE(match(users, request("GET", "/api/users/7")));
  EXPECT_FALSE(match(users, request("GET", "/v1/api/users")));
  EXPECT_TRUE(match(user, request("GET", "/api/users/7")));
  EXPECT_FALSE(match(user, request("GET", "/api/users/7/orders")));
  EXPECT_FALSE(match(user, request("GET", "/api/users/")));
}

TEST(MatcherTest, MethodIsCaseSensitive) {
  EXPECT_TRUE(match(R"(method: "GET")", request("GET", "/")));
  EXPECT_FALSE(match(R"(method: "GET")", request("get", "/")));
}

TEST(MatcherTest, HeadersAnyValueNameCaseInsensitive) {
  const std::string c = R"(header { name: "x-api-version" exact: "v2" })";
  EXPECT_TRUE(match(c, request("GET", "/", {{"x-api-version", "v2"}})));
  EXPECT_TRUE(match(c, request("GET", "/", {{"x-api-version", "v1"}, {"x-api-version", "v2"}})));
  EXPECT_FALSE(match(c, request("GET", "/", {{"x-api-version", "V2"}})));
  EXPECT_FALSE(match(c, request("GET", "/")));
  const std::string re = R"(header { name: "x-user" regex: "[a-c]+[0-9]" })";
  EXPECT_TRUE(match(re, request("GET", "/", {{"x-user", "abc7"}})));
  EXPECT_FALSE(match(re, request("GET", "/", {{"x-user", "abc7x"}})));
}

TEST(MatcherTest, QueryParams) {
  const std::string c = R"(query_param { name: "v" exact: "2" })";
  EXPECT_TRUE(match(c, request("GET", "/x?a=1&v=2")));
  EXPECT_FALSE(match(c, request("GET", "/x?a=1&v=3")));
  EXPECT_FALSE(match(c, request("GET", "/x?vv=2")));
  EXPECT_FALSE(match(c, request("GET", "/x")));
  EXPECT_EQ(query_param("a=1&b&c=3", "b"), std::optional<std::string_view>(""));
  EXPECT_EQ(query_param("a=1&a=2", "a"), std::optional<std::string_view>("1"));
}

TEST(MatcherTest, GrpcServiceAndMethod) {
  const std::string c = R"(grpc { service_exact: "helloworld.Greeter" method_exact: "SayHello" })";
  EXPECT_TRUE(match(c, request("POST", "/helloworld.Greeter/SayHello")));
  EXPECT_FALSE(match(c, request("POST", "/helloworld.Greeter/SayBye")));
  EXPECT_FALSE(match(c, request("POST", "/other.Greeter/SayHello")));
  EXPECT_TRUE(match(R"(grpc { service_exact: "helloworld.Greeter" })",
                    request("POST", "/helloworld.Greeter/Anything")));
  EXPECT_TRUE(match(R"(grpc { method_regex: "Say.*" })", request("POST", "/a.B/SayX")));
  EXPECT_FALSE(match(R"(grpc { })", request("GET", "/nosecondslash")));
}

TEST(MatcherTest, AllAnyNotTrees) {
  const std::string c = R"(
    any {
      matches { all { matches { method: "GET" } matches { path { regex: "/a.*" } } } }
      matches { not { path { prefix: "/health" } } }
    })";
  EXPECT_TRUE(match(c, request("GET", "/abc")));
  EXPECT_TRUE(match(c, request("POST", "/x")));        // not /health
  EXPECT_FALSE(match(c, request("POST", "/health")));  // neither
  EXPECT_TRUE(match(R"(all { })", request("GET", "/")));
  EXPECT_FALSE(match(R"(any { })", request("GET", "/")));
}

TEST(MatcherTest, InvalidRegexIsACompileError) {
  auto m = Matcher::compile(parse<pb::RequestMatch>(R"(path { regex: "(" })"));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error(), ::testing::HasSubstr("invalid regular expression \"(\""));
  EXPECT_FALSE(Matcher::compile(pb::RequestMatch()).ok());
}

TEST(MatcherTest, BackreferencesAreRejectedByRe2) {
  // RE2 has no backtracking features: the pattern cannot be a ReDoS vector.
  EXPECT_FALSE(Matcher::compile(parse<pb::RequestMatch>(R"(path { regex: "(a)\\1" })")).ok());
}

// ---- route table ----------------------------------------------------------------------------------

std::shared_ptr<const RouteTable> table(const std::string& text) {
  auto t = RouteTable::compile(parse<pb::TrafficPolicy>(text));
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error());
  return t.ok() ? *t : nullptr;
}

std::string route_name(const RouteTable& t, const http::RequestHead& head) {
  const Route* r = t.route_for(head);
  return r ? r->name : "<none>";
}

TEST(RouteTableTest, FirstMatchingRouteWinsElseDefault) {
  auto t = table(R"(
    http_routes { name: "a" matches { path { prefix: "/a" } } }
    http_routes { name: "any-get" matches { method: "GET" } }
    default_route { name: "default" is_default: true }
  )");
  EXPECT_EQ(route_name(*t, request("GET", "/a/1")), "a");
  EXPECT_EQ(route_name(*t, request("GET", "/b")), "any-get");
  EXPECT_EQ(route_name(*t, request("POST", "/b")), "default");
  EXPECT_TRUE(t->match(request("POST", "/b")).route->is_default);
}

TEST(RouteTableTest, NoDefaultRouteMeansNoRoute) {
  auto t = table(R"(http_routes { name: "a" matches { path { exact: "/a" } } })");
  EXPECT_EQ(t->route_for(request("GET", "/b")), nullptr);
}

TEST(RouteTableTest, HostnamesExactAndWildcard) {
  auto t = table(R"(
    http_routes { name: "exact" hostnames: "Web.example.com" }
    http_routes { name: "wild" hostnames: "*.example.com" }
  )");
  EXPECT_EQ(route_name(*t, request("GET", "/", {}, "web.example.com:8080")), "exact");
  EXPECT_EQ(route_name(*t, request("GET", "/", {}, "api.v1.example.com")), "wild");
  EXPECT_EQ(route_name(*t, request("GET", "/", {}, "example.com")), "<none>");
}

TEST(RouteTableTest, MatchReportsThePrefixForRewrites) {
  auto t = table(R"(
    http_routes { name: "r" matches { all { matches { path { prefix: "/old" } }
                                           matches { method: "GET" } } } }
  )");
  const RouteMatch m = t->match(request("GET", "/old/x"));
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.prefix, std::optional<std::string_view>("/old"));
}

TEST(RouteTableTest, InvalidRegexRejectsThePolicy) {
  auto t = RouteTable::compile(
      parse<pb::TrafficPolicy>(R"(http_routes { name: "bad" matches { path { regex: "[" } } })"));
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error(), ::testing::HasSubstr("route \"bad\""));
}

// ---- weighted picks -------------------------------------------------------------------------------

std::map<std::string, int> picks(const WeightedBackends& b, int n, uint64_t seed) {
  balance::FastRandom random(seed);
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    const Backend* picked = b.pick(random);
    ++out[picked ? picked->service : "<none>"];
  }
  return out;
}

WeightedBackends backends(const std::string& text) {
  return WeightedBackends::from(parse<pb::TcpPolicy>(text).backends());
}

TEST(WeightedTest, NinetyTenSplit) {
  // Seed template 4 / the third seed: 900m / 100m.
  const auto b = backends(R"(backends { service: "stable" weight: 900 }
                             backends { service: "canary" weight: 100 })");
  for (uint64_t seed : {1u, 42u, 20261122u}) {
    const auto counts = picks(b, 10'000, seed);
    EXPECT_NEAR(counts.at("stable"), 9000, 200) << seed;  // 90% +- 2%
    EXPECT_NEAR(counts.at("canary"), 1000, 200) << seed;
    EXPECT_EQ(counts.at("stable") + counts.at("canary"), 10'000);
  }
}

TEST(WeightedTest, ZeroWeightIsNeverPicked) {
  // The third seed's full rollout: 0m / 1000m.
  const auto b = backends(R"(backends { service: "v1" weight: 0 }
                             backends { service: "v2" weight: 1000 }
                             backends { service: "v3" weight: 0 })");
  EXPECT_THAT(picks(b, 10'000, 7), ElementsAre(std::pair{std::string("v2"), 10'000}));
}

TEST(WeightedTest, AllZeroPicksNothing) {
  const auto b = backends(R"(backends { service: "v1" weight: 0 })");
  EXPECT_THAT(picks(b, 100, 7), ElementsAre(std::pair{std::string("<none>"), 100}));
  EXPECT_THAT(picks(WeightedBackends(), 10, 7),
              ElementsAre(std::pair{std::string("<none>"), 10}));
}

TEST(WeightedTest, ManyBackendsFollowTheirWeights) {
  const auto b = backends(R"(backends { service: "a" weight: 1 }
                             backends { service: "b" weight: 2 }
                             backends { service: "c" weight: 7 })");
  const auto counts = picks(b, 100'000, 99);
  EXPECT_NEAR(counts.at("a"), 10'000, 600);
  EXPECT_NEAR(counts.at("b"), 20'000, 800);
  EXPECT_NEAR(counts.at("c"), 70'000, 1000);
}

TEST(WeightedTest, HugeWeightsSaturateInsteadOfWrapping) {
  const auto b = backends(R"(backends { service: "a" weight: 18446744073709551615 }
                             backends { service: "b" weight: 18446744073709551615 })");
  EXPECT_EQ(b.total_weight(), UINT64_MAX);
  EXPECT_EQ(picks(b, 1000, 3).count("<none>"), 0u);
}

// ---- filters --------------------------------------------------------------------------------------

FilterList filters(const std::string& text) { return parse<pb::HttpRoute>(text).filters(); }

TEST(FiltersTest, RequestHeaderModifier) {
  auto head = request("GET", "/", {{"x-set", "old"}, {"x-gone", "1"}, {"x-add", "a"}});
  const auto f = filters(R"(filters { request_header_modifier {
      set { name: "x-set" value: "new" } add { name: "x-add" value: "b" } remove: "x-gone" } })");
  EXPECT_FALSE(apply_request_filters(f, std::nullopt, head));
  EXPECT_EQ(head.headers.get("x-set"), std::optional<std::string_view>("new"));
  EXPECT_THAT(head.headers.get_all("x-add"), ElementsAre("a", "b"));
  EXPECT_FALSE(head.headers.contains("x-gone"));
}

TEST(FiltersTest, UrlRewritePrefixAndHostKeepTheQuery) {
  auto head = request("GET", "/old/users?id=7");
  const auto f = filters(R"(filters { url_rewrite { hostname: "new.example.com"
      path { replace_prefix_match: "/new" } } })");
  EXPECT_FALSE(apply_request_filters(f, std::string_view("/old"), head));
  EXPECT_EQ(head.path, "/new/users?id=7");
  EXPECT_EQ(head.authority, "new.example.com");

  auto full = request("GET", "/a/b?q");
  EXPECT_FALSE(apply_request_filters(
      filters(R"(filters { url_rewrite { path { replace_full_path: "/x" } } })"), std::nullopt,
      full));
  EXPECT_EQ(full.path, "/x?q");
}

TEST(FiltersTest, ReplacePrefix) {
  EXPECT_EQ(replace_prefix("/foo/bar", "/foo", "/xyz"), "/xyz/bar");
  EXPECT_EQ(replace_prefix("/foo", "/foo", "/xyz"), "/xyz");
  EXPECT_EQ(replace_prefix("/foo/bar", "/foo", "/"), "/bar");
  EXPECT_EQ(replace_prefix("/foo", "/foo", "/"), "/");
  EXPECT_EQ(replace_prefix("/foo/bar", "/foo/", "/xyz/"), "/xyz/bar");
  EXPECT_EQ(replace_prefix("/x", "/", "/new"), "/new/x");
}

TEST(FiltersTest, RedirectStopsAndBuildsTheLocation) {
  auto head = request("GET", "/old/page?x=1", {}, "web.example.com:8080");
  const auto f = filters(R"(
      filters { request_header_modifier { set { name: "x-a" value: "1" } } }
      filters { request_redirect { scheme: "https" path { replace_prefix_match: "/new" }
                                   status_code: 301 } }
      filters { request_header_modifier { set { name: "x-b" value: "1" } } })");
  const auto r = apply_request_filters(f, std::string_view("/old"), head);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 301);
  // Scheme changed, no port given: the well-known port of the new scheme (left out).
  EXPECT_EQ(r->headers.get("location"),
            std::optional<std::string_view>("https://web.example.com/new/page?x=1"));
  EXPECT_TRUE(head.headers.contains("x-a"));
  EXPECT_FALSE(head.headers.contains("x-b"));

  auto same = request("GET", "/p", {}, "h:8080");
  const auto r2 = apply_request_filters(
      filters(R"(filters { request_redirect { hostname: "other" } })"), std::nullopt, same);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 302);
  EXPECT_EQ(r2->headers.get("location"), std::optional<std::string_view>("http://other:8080/p"));
}

TEST(FiltersTest, ResponseHeaderModifier) {
  http::ResponseHead resp;
  resp.headers.add("server", "x");
  apply_response_filters(filters(R"(
      filters { response_header_modifier { set { name: "x-version" value: "v2" }
                                            remove: "server" } })"),
                         resp);
  EXPECT_EQ(resp.headers.get("x-version"), std::optional<std::string_view>("v2"));
  EXPECT_FALSE(resp.headers.contains("server"));
}

TEST(FiltersTest, MirrorShare) {
  const auto f = filters(R"(filters { request_mirror { backend { service: "shadow" }
                                                      numerator: 25 denominator: 100 } })");
  balance::FastRandom random(5);
  int mirrored = 0;
  for (int i = 0; i < 10'000; ++i) mirrored += static_cast<int>(select_mirrors(f, random).size());
  EXPECT_NEAR(mirrored, 2500, 200);
  const auto all = filters(R"(filters { request_mirror { numerator: 100 denominator: 100 } })");
  EXPECT_EQ(select_mirrors(all, random).size(), 1u);
  const auto none = filters(R"(filters { request_mirror { numerator: 0 denominator: 100 } })");
  EXPECT_EQ(select_mirrors(none, random).size(), 0u);
}

// ---- classification -----------------------------------------------------------------------------

http::ResponseHead response(int status, http::Headers headers = {}) {
  http::ResponseHead h;
  h.status = status;
  h.headers = std::move(headers);
  return h;
}

TEST(ClassifyTest, DefaultFailsOn5xxAndGrpcErrors) {
  const ResponseClassifier c;
  EXPECT_EQ(c.classify(response(200), nullptr), Classification::kSuccess);
  EXPECT_EQ(c.classify(response(404), nullptr), Classification::kSuccess);
  EXPECT_EQ(c.classify(response(500), nullptr), Classification::kFailure);
  EXPECT_EQ(c.classify(response(503), nullptr), Classification::kFailure);
  const http::Headers ok{{"grpc-status", "0"}};
  const http::Headers unavailable{{"grpc-status", "14"}};
  EXPECT_EQ(c.classify(response(200), &ok), Classification::kSuccess);
  EXPECT_EQ(c.classify(response(200), &unavailable), Classification::kFailure);
  // Trailers-only gRPC response: the status is in the head.
  EXPECT_EQ(c.classify(response(200, {{"grpc-status", "13"}}), nullptr), Classification::kFailure);
  EXPECT_EQ(grpc_status(response(200, {{"grpc-status", "x"}}), nullptr), std::nullopt);
}

TEST(ClassifyTest, ResponseClassesFirstMatchElseSuccess) {
  const auto route = parse<pb::HttpRoute>(R"(
      response_classes { condition { status { min: 500 max: 504 } } is_failure: true }
      response_classes { condition { any { matches { status { min: 429 max: 429 } } } }
                         is_failure: true }
      response_classes { condition { not { status { min: 200 max: 599 } } } is_failure: true })");
  const ResponseClassifier c(route.response_classes());
  EXPECT_EQ(c.classify(response(503), nullptr), Classification::kFailure);
  EXPECT_EQ(c.classify(response(429), nullptr), Classification::kFailure);
  EXPECT_EQ(c.classify(response(100), nullptr), Classification::kFailure);
  // 505 matches no class: a success, even though the default would call it a failure.
  EXPECT_EQ(c.classify(response(505), nullptr), Classification::kSuccess);
  EXPECT_EQ(c.classify(response(200), nullptr), Classification::kSuccess);
  EXPECT_STREQ(to_string(Classification::kFailure), "failure");
}

}  // namespace
}  // namespace trellis::proxy::route
