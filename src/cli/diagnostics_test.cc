#include "cli/diagnostics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace trellis::cli {
namespace {

TEST(DiagnosticsEndpoints, RowsFromProtobufJson) {
  // MessageToJsonString output: lowerCamelCase names, enums as names, defaults omitted.
  auto update = nlohmann::json::parse(R"({
    "exists": true,
    "service": {"name": "web", "namespace": "emojivoto", "clusterDomain": "cluster.local",
                "clusterIps": ["198.19.0.10"], "port": 80},
    "endpoints": [
      {"address": "198.18.0.8:8080", "weight": 1,
       "identity": "web.emojivoto.serviceaccount.identity.linkerd.cluster.local",
       "protocolHint": "PROTOCOL_HINT_H2", "labels": {"pod": "web-2", "namespace": "emojivoto"}},
      {"address": "[fd00::7]:8080", "weight": 1, "labels": {"pod": "web-1"}}
    ]})");
  EXPECT_TRUE(update_exists(update));
  auto rows = endpoint_rows(update);
  ASSERT_EQ(rows.size(), 2u);
  // Sorted by namespace, pod.
  EXPECT_EQ(rows[0].pod, "web-1");
  EXPECT_EQ(rows[0].ip, "fd00::7");
  EXPECT_EQ(rows[0].port, "8080");
  EXPECT_EQ(rows[0].ns, "emojivoto");  // from the service when the label is missing
  EXPECT_EQ(rows[0].identity, "");
  EXPECT_EQ(rows[1].ip, "198.18.0.8");
  EXPECT_EQ(rows[1].port, "8080");
  EXPECT_EQ(rows[1].service, "web.emojivoto");
  EXPECT_EQ(rows[1].identity, "web.emojivoto.serviceaccount.identity.linkerd.cluster.local");
}

TEST(DiagnosticsEndpoints, NotExisting) {
  EXPECT_FALSE(update_exists(nlohmann::json::object()));  // proto3 JSON omits false
  EXPECT_FALSE(update_exists(nlohmann::json::parse(R"({"exists": false})")));
  EXPECT_FALSE(update_exists(nlohmann::json::parse(R"({"exists": "true"})")));
  EXPECT_TRUE(endpoint_rows(nlohmann::json::object()).empty());
}

TEST(DiagnosticsEndpoints, UrlEncode) {
  EXPECT_EQ(url_encode("web.emojivoto.svc.cluster.local:80"),
            "web.emojivoto.svc.cluster.local%3A80");
  EXPECT_EQ(url_encode("a b&c=d/e"), "a%20b%26c%3Dd%2Fe");
  EXPECT_EQ(url_encode("Az09-._~"), "Az09-._~");
}

TEST(DiagnosticsEndpoints, UnreachableMessage) {
  EXPECT_EQ(control_unreachable_message("127.0.0.1:9996", "connection refused").rfind(
                "cannot reach trellis-control admin at 127.0.0.1:9996: connection refused (is it "
                "running? start it with `trellis-control",
                0),
            0u);
}

std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(DiagnosticsProfile, TextFromProtobufJson) {
  // What /api/v1/profile answers (always_print_primitive_fields: zero values appear; 64-bit
  // integers are strings) for seed templates 3 + 4.
  auto profile = nlohmann::json::parse(R"({
    "fullyQualifiedName": "my-service.my-namespace.svc.cluster.local",
    "opaqueProtocol": false,
    "policyJson": "{}",
    "policy": {
      "authority": "my-service.my-namespace.svc.cluster.local:80",
      "source": "SOURCE_SERVICE_PROFILE",
      "resources": ["ServiceProfile/my-namespace/my-service.my-namespace.svc.cluster.local",
                    "TrafficSplit/my-namespace/my-service-canary"],
      "retryBudget": {"retryRatio": 0.2, "minRetriesPerSecond": 10, "ttlMs": "10000"},
      "httpRoutes": [
        {"name": "GET /api/users/{id}", "isDefault": false,
         "matches": [{"all": {"matches": [{"method": "GET"},
                                          {"path": {"regex": "/api/users/[^/]+"}}]}}],
         "backends": [
           {"authority": "stable.my-namespace.svc.cluster.local:80", "weight": "900"},
           {"authority": "canary.my-namespace.svc.cluster.local:80", "weight": "100"}],
         "retry": {"enabled": true, "maxRetries": 0, "onClassifiedFailure": true},
         "timeouts": {"requestMs": "5000", "backendRequestMs": "0"}},
        {"name": "hdr", "matches": [{"all": {"matches": [{"path": {"prefix": "/"}},
            {"header": {"name": "x-api-version", "exact": "v2"}}]}}],
         "backends": [{"authority": "v2.ns.svc.cluster.local:8080", "weight": "1"}],
         "retry": {"enabled": true, "maxRetries": 2, "httpStatuses": [{"min": 500, "max": 599}]},
         "timeouts": {"requestMs": "0"}}
      ],
      "defaultRoute": {"name": "default", "isDefault": true,
                       "backends": [{"authority": "svc.ns.svc.cluster.local:80", "weight": "1"}],
                       "retry": {"enabled": false}}
    }})");
  const auto lines = text_lines(profile_text(profile));
  ASSERT_EQ(lines.size(), 9u) << profile_text(profile);
  EXPECT_EQ(lines[0], "authority: my-service.my-namespace.svc.cluster.local:80");
  EXPECT_EQ(lines[1], "source:    ServiceProfile/TrafficSplit");
  EXPECT_EQ(lines[2],
            "           ServiceProfile/my-namespace/my-service.my-namespace.svc.cluster.local");
  EXPECT_EQ(lines[4], "retry budget: ratio 0.2, min 10/s, ttl 10s");
  EXPECT_THAT(lines[5], ::testing::MatchesRegex("ROUTE +MATCH +BACKENDS +RETRY +TIMEOUT"));
  EXPECT_THAT(lines[6], ::testing::MatchesRegex(
                            "GET /api/users/\\{id\\} +method GET, path ~ /api/users/\\[\\^/\\]\\+ +"
                            "stable\\.my-namespace\\.svc\\.cluster\\.local:80 \\(900\\), "
                            "canary\\.my-namespace\\.svc\\.cluster\\.local:80 \\(100\\) +"
                            "failures \\(budget\\) +5s"));
  EXPECT_THAT(lines[7], ::testing::MatchesRegex(
                            "hdr +path /\\*, header x-api-version: v2 +"
                            "v2\\.ns\\.svc\\.cluster\\.local:8080 +500-599 \\(max 2\\) +-"));
  EXPECT_THAT(lines[8],
              ::testing::MatchesRegex(
                  "default +\\(no other route\\) +svc\\.ns\\.svc\\.cluster\\.local:80 +- +-"));
}

TEST(DiagnosticsProfile, NoServiceAndNoDefaultRoute) {
  EXPECT_EQ(profile_text(nlohmann::json::object()), "");
  auto routes_only = nlohmann::json::parse(R"({"fullyQualifiedName": "a.b.svc.cluster.local",
    "policy": {"authority": "a.b.svc.cluster.local:80", "source": "SOURCE_ROUTES"}})");
  const auto lines = text_lines(profile_text(routes_only));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[1], "source:    HTTPRoute/GRPCRoute");
  // Without a default route unmatched requests get 404 from the proxy.
  EXPECT_THAT(lines.back(), ::testing::MatchesRegex("- +\\(no other route\\) +404 +- +-"));
}

}  // namespace
}  // namespace trellis::cli
