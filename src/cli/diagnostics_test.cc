#include "cli/diagnostics.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace trellis::cli
