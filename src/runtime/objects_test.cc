#include "runtime/objects.h"

#include <gtest/gtest.h>

namespace trellis::runtime {
namespace {

using nlohmann::json;

TEST(YamlToJson, TypesPlainScalarsLikeKubernetesAndKeepsQuotedStrings) {
  const auto j = yaml_to_json(YAML::Load(
      "a: 8080\nb: \"8080\"\nc: true\nd: yes\ne: 'no'\nf: 1.5\ng: ~\nh: v1\ni: [1, x]\n"));
  EXPECT_EQ(j["a"], 8080);
  EXPECT_EQ(j["b"], "8080");
  EXPECT_EQ(j["c"], true);
  EXPECT_EQ(j["d"], true);
  EXPECT_EQ(j["e"], "no");
  EXPECT_EQ(j["f"], 1.5);
  EXPECT_TRUE(j["g"].is_null());
  EXPECT_EQ(j["h"], "v1");
  EXPECT_EQ(j["i"], json::array({1, "x"}));
}

TEST(JsonToYaml, QuotesStringsThatWouldReadAsOtherTypes) {
  const json j = {{"port", "8080"}, {"n", 3}, {"flag", "true"}, {"name", "web"}};
  const auto back = yaml_to_json(YAML::Load(json_to_yaml(j)));
  EXPECT_EQ(back, j);
}

constexpr const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: x, command: [trellis-demo-app, serve]}]
)";

TEST(DecodeManifests, SplitsDocumentsExpandsListsAndKeysObjects) {
  std::vector<std::string> warnings;
  const std::string list = R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
     "spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}]})";
  auto objs = decode_manifests({{"a.yaml", std::string(kDeployment) + "---\n" +
                                               "apiVersion: v1\nkind: Namespace\n"
                                               "metadata: {name: shop}\n"},
                                {"b.json", list}},
                               warnings);
  ASSERT_TRUE(objs) << objs.error();
  ASSERT_EQ(objs->size(), 3u);
  EXPECT_EQ((*objs)[0].key, (ObjectKey{"Deployment", "shop", "web"}));
  EXPECT_EQ((*objs)[0].raw["spec"]["replicas"], 2);
  EXPECT_NE((*objs)[0].res.as<resources::Deployment>(), nullptr);
  EXPECT_EQ((*objs)[1].key, (ObjectKey{"Namespace", "", "shop"}));
  // A Service without a namespace lands in default, and its JSON form says so.
  EXPECT_EQ((*objs)[2].key, (ObjectKey{"Service", "default", "web"}));
  EXPECT_EQ((*objs)[2].raw["metadata"]["namespace"], "default");
}

TEST(DecodeManifests, ReportsErrorsWithTheUsersFileAndLine) {
  std::vector<std::string> warnings;
  std::string bad = kDeployment;
  bad.replace(bad.find("command"), 7, "commnd");
  auto objs = decode_manifests({{"bad.yaml", bad}}, warnings);
  ASSERT_FALSE(objs);
  EXPECT_NE(objs.error().find("bad.yaml:10:"), std::string::npos) << objs.error();
  EXPECT_NE(objs.error().find("commnd"), std::string::npos) << objs.error();
}

TEST(TemplateHash, IsStableAndChangesWithTheTemplate) {
  const json a = {{"spec", {{"containers", json::array({{{"name", "web"}}})}}}};
  json b = a;
  b["spec"]["containers"][0]["image"] = "v2";
  EXPECT_EQ(template_hash(a), template_hash(json::parse(a.dump())));
  EXPECT_NE(template_hash(a), template_hash(b));
  EXPECT_EQ(template_hash(a).size(), 10u);
  EXPECT_EQ(template_hash(a).find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos);
  EXPECT_EQ(random_suffix(5).size(), 5u);
}

}  // namespace
}  // namespace trellis::runtime
