// Tests of the decoding framework itself: scalar typing, field paths, locations, unknown
// fields, duplicates, variants, documents and the registry.

#include "resources/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/document.h"
#include "resources/registry.h"
#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::decode_yaml;

// Decodes `yaml` as a document and runs `fn` over its root, returning "path: message" errors.
std::vector<std::string> read(const std::string& yaml, const std::function<void(Node&)>& fn,
                              std::vector<std::string>* warnings = nullptr) {
  Diagnostics diags;
  DecodeContext ctx(diags, "t.yaml", 0);
  Node root(ctx, YAML::Load(yaml), "");
  fn(root);
  root.finish();
  std::vector<std::string> out;
  for (const auto& d : diags.items()) {
    std::string line = (d.field.empty() ? "" : d.field + ": ") + d.message;
    if (d.severity == Severity::kError) out.push_back(line);
    else if (warnings) warnings->push_back(line);
  }
  return out;
}

TEST(ResolveScalar, FollowsYaml11AsKubernetesReadsIt) {
  EXPECT_EQ(resolve_scalar("900m", true), ScalarType::kString);
  EXPECT_EQ(resolve_scalar("900", true), ScalarType::kInt);
  EXPECT_EQ(resolve_scalar("900", false), ScalarType::kString);  // quoted
  EXPECT_EQ(resolve_scalar("0x1F", true), ScalarType::kInt);
  EXPECT_EQ(resolve_scalar("1.5", true), ScalarType::kFloat);
  EXPECT_EQ(resolve_scalar("1e3", true), ScalarType::kFloat);
  EXPECT_EQ(resolve_scalar("yes", true), ScalarType::kBool);
  EXPECT_EQ(resolve_scalar("on", true), ScalarType::kBool);
  EXPECT_EQ(resolve_scalar("~", true), ScalarType::kNull);
  EXPECT_EQ(resolve_scalar("", true), ScalarType::kNull);
  EXPECT_EQ(resolve_scalar("v2", true), ScalarType::kString);
  EXPECT_EQ(resolve_scalar("1.2.3", true), ScalarType::kString);
  EXPECT_EQ(resolve_scalar("99999999999999999999", true), ScalarType::kString);
}

TEST(Node, TypedGettersReportWrongTypes) {
  auto errors = read(
      "s: 123\ni: \"8080\"\nb: maybe\nd: 5\nq: 90%\nn: abc\nl: x\nm: [1]\n", [](Node& n) {
        n.str("s");
        n.integer("i", kOptional, 0, 10);
        n.boolean("b");
        n.duration("d");
        n.quantity("q");
        n.number("n");
        n.strings("l");
        n.string_map("m");
      });
  EXPECT_THAT(errors,
              ElementsAre("s: expected a string, got the integer 123 (quote it: \"123\")",
                          "i: expected an integer, got the string \"8080\"",
                          "b: expected a boolean (true or false), got the string \"maybe\"",
                          "d: missing unit in duration \"5\" (use one of ns, us, ms, s, m, h, e.g. \"5s\")",
                          "q: invalid quantity \"90%\": unknown suffix \"%\" (use m for thousandths, e.g. \"900m\", or k, M, G, Ki, Mi, Gi)",
                          "n: expected a number, got the string \"abc\"",
                          "l: expected a list, got the string \"x\"",
                          "m: expected a map of strings, got a list"));
}

TEST(Node, RangeAndEnumChecks) {
  auto errors = read("port: 70000\nmode: Strct\n", [](Node& n) {
    n.integer("port", kRequired, 1, 65535);
    n.one_of("mode", {"Strict", "Permissive"});
    n.str("name", kRequired);
  });
  EXPECT_THAT(errors, ElementsAre("port: value 70000 is out of range [1, 65535]",
                                  "mode: unsupported value \"Strct\"; expected one of: Strict, "
                                  "Permissive (did you mean \"Strict\"?)",
                                  "name: missing required field"));
}

TEST(Node, UnknownFieldsGetSuggestionsAndHints) {
  auto errors = read("spec:\n  intervl: 1m\n  schedule: 1m\n  zzz: 1\n", [](Node& n) {
    n.object("spec", kRequired, [](Node& spec) {
      spec.str("interval");
      spec.suggest("schedule", "did you mean \"interval\"?");
    });
  });
  EXPECT_THAT(errors, ElementsAre("spec.intervl: unknown field \"intervl\" (did you mean \"interval\"?)",
                                  "spec.schedule: unknown field \"schedule\"; did you mean \"interval\"?",
                                  "spec.zzz: unknown field \"zzz\""));
}

TEST(Node, PathsIndexListsAndQuoteOddKeys) {
  auto errors = read("items:\n  - a: 1\n  - a: x\nann:\n  linkerd.io/inject: [1]\n", [](Node& n) {
    n.each_object("items", kOptional, [](Node& item) { item.integer("a", kOptional, 0, 9); });
    n.string_map("ann");
  });
  EXPECT_THAT(errors, ElementsAre("items[1].a: expected an integer, got the string \"x\"",
                                  "ann[\"linkerd.io/inject\"]: expected a string, got a list"));
}

TEST(Node, DuplicateKeysAreErrors) {
  auto errors = read("a: 1\nb: 2\na: 3\n", [](Node& n) { n.ignore({"a", "b"}); });
  EXPECT_THAT(errors, ElementsAre("a: duplicate field \"a\" (first defined on line 1)"));
}

TEST(Node, VariantsAreAcceptedWithAWarning) {
  std::vector<std::string> warnings;
  auto errors = read("autoscalingRef: {name: x}\n", [](Node& n) {
    n.object("autoscalerRef", kOptional, [](Node&) {});
    auto v = n.accept_variant("autoscalingRef", "autoscalerRef", "use autoscalerRef");
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(v->is_map());
    v->ignore({"name"});
    v->finish();
  }, &warnings);
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_THAT(warnings, ElementsAre("autoscalingRef: use autoscalerRef"));
  auto both = read("autoscalingRef: {}\nautoscalerRef: {}\n", [](Node& n) {
    n.object("autoscalerRef", kOptional, [](Node&) {});
    n.accept_variant("autoscalingRef", "autoscalerRef", "w");
  });
  EXPECT_THAT(both, ElementsAre("autoscalingRef: both \"autoscalingRef\" and \"autoscalerRef\" are "
                                "set; remove \"autoscalingRef\""));
}

TEST(Documents, SplitKeepsLineNumbers) {
  auto docs = split_yaml_stream("# c\n---\na: 1\n---\n\n---\nb: 2\n...\nc: 3\n");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].line_offset, 1);
  EXPECT_EQ(docs[1].line_offset, 5);
  EXPECT_EQ(docs[2].line_offset, 8);
  EXPECT_TRUE(looks_like_json("  \n {\"a\": 1}"));
  EXPECT_FALSE(looks_like_json("a: {}"));
}

TEST(Load, LocationsAreFileLineColumnAcrossDocuments) {
  auto r = decode_yaml(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\n"
      "kind: Namespace\nmetadata:\n  name: b\n  bogus: 1\n");
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_THAT(r.formatted(),
              ElementsAre("test.yaml:10:3: error: Namespace/b: metadata.bogus: unknown field "
                          "\"bogus\""));
}

TEST(Load, SyntaxErrorInOneDocumentKeepsTheOthers) {
  auto r = decode_yaml("a: [\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n");
  ASSERT_EQ(r.resources.size(), 1u);
  ASSERT_EQ(r.diags.items().size(), 1u);
  EXPECT_EQ(r.diags.items()[0].location.line, 2);
  EXPECT_THAT(r.diags.items()[0].message, ::testing::StartsWith("syntax error: "));
}

TEST(Load, JsonAndListKinds) {
  auto r = decode_yaml(R"({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b", "extra": 1}}]})");
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_THAT(r.formatted(), ElementsAre("test.yaml:3:73: error: Namespace/b: metadata.extra: "
                                         "unknown field \"extra\""));
}

TEST(Load, HostileInputIsRejectedCleanly) {
  EXPECT_THAT(decode_yaml(std::string(200, '[')).errors(),
              ElementsAre("nesting deeper than 64 levels; this is not a Kubernetes manifest"));
  EXPECT_THAT(decode_yaml(std::string("a: 1\0b", 6)).errors(),
              ElementsAre("file contains NUL bytes; it is not a text manifest"));
  // Aliases that fan out must hit the node budget, not run for ever.
  std::string labels;
  for (int i = 0; i < 1000; ++i) labels += "k" + std::to_string(i) + ": v,";
  std::string bomb = "apiVersion: v1\nkind: List\nitems:\n- &o {apiVersion: v1, kind: Namespace, "
                     "metadata: {name: x, labels: {" + labels + "}}}\n";
  for (int i = 0; i < 300; ++i) bomb += "- *o\n";
  auto r = decode_yaml(bomb);
  EXPECT_THAT(r.errors(), ::testing::Contains(::testing::HasSubstr("node budget exhausted")));
}

TEST(Registry, RejectsUnknownKindsAndVersions) {
  EXPECT_THAT(decode_yaml("apiVersion: linkerd.io/v1beta9\nkind: ServiceProfile\nmetadata: {name: x}\n").errors(),
              ElementsAre("apiVersion: ServiceProfile is not served as \"linkerd.io/v1beta9\"; "
                          "supported versions: linkerd.io/v1alpha1, linkerd.io/v1alpha2"));
  EXPECT_THAT(decode_yaml("apiVersion: split.smi-spec.io/v1alpha1\nkind: TrafficSplt\nmetadata: {name: x}\n").errors(),
              ElementsAre("kind: unknown kind \"TrafficSplt\" in split.smi-spec.io (did you mean "
                          "\"TrafficSplit\"?); known kinds: TrafficSplit"));
  EXPECT_THAT(decode_yaml("kind: Namespace\nmetadata: {name: x}\n").errors(),
              ElementsAre("apiVersion: missing required field"));
  EXPECT_THAT(decode_yaml("- 1\n- 2\n").errors(),
              ElementsAre("expected a Kubernetes object (a map with apiVersion, kind and metadata), got the integer 1",
                          "expected a Kubernetes object (a map with apiVersion, kind and metadata), got the integer 2"));
}

TEST(Registry, OtherMeshesAndUnrelatedKinds) {
  auto vs = decode_yaml("apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n"
                        "metadata: {name: f, namespace: demo}\nspec: {hosts: [f]}\n");
  EXPECT_THAT(vs.errors(), IsEmpty());
  ASSERT_EQ(vs.warnings().size(), 1u);
  EXPECT_THAT(vs.warnings()[0], ::testing::HasSubstr("is not a Trellis resource and is ignored; for "
                                                     "routing, rewrites and timeouts use an HTTPRoute"));
  EXPECT_TRUE(vs.resources.empty());
  auto cm = decode_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n");
  EXPECT_THAT(cm.errors(), IsEmpty());
  EXPECT_THAT(cm.warnings(), IsEmpty());
  auto other = decode_yaml("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
  EXPECT_THAT(other.warnings(), ElementsAre("example.com/v1 Widget is not a kind Trellis uses; it "
                                            "was not validated and will be ignored"));
}

TEST(Registry, EveryKindOfTheCompatibilityContractIsKnown) {
  const std::vector<std::pair<std::string, std::string>> contract = {
      {"", "Namespace"}, {"", "Service"}, {"", "Endpoints"}, {"discovery.k8s.io", "EndpointSlice"},
      {"", "Pod"}, {"apps", "Deployment"}, {"", "ServiceAccount"},
      {"autoscaling", "HorizontalPodAutoscaler"}, {"linkerd.io", "ServiceProfile"},
      {"split.smi-spec.io", "TrafficSplit"}, {"policy.linkerd.io", "Server"},
      {"policy.linkerd.io", "ServerAuthorization"}, {"policy.linkerd.io", "AuthorizationPolicy"},
      {"policy.linkerd.io", "MeshTLSAuthentication"}, {"policy.linkerd.io", "NetworkAuthentication"},
      {"policy.linkerd.io", "HTTPRoute"}, {"policy.linkerd.io", "HTTPLocalRateLimitPolicy"},
      {"policy.linkerd.io", "EgressNetwork"}, {"gateway.networking.k8s.io", "HTTPRoute"},
      {"gateway.networking.k8s.io", "GRPCRoute"}, {"workload.linkerd.io", "ExternalWorkload"},
      {"multicluster.linkerd.io", "Link"}, {"flagger.app", "Canary"},
      {"flagger.app", "MetricTemplate"}};
  for (const auto& [group, kind] : contract) {
    bool found = false;
    for (const auto& k : known_kinds()) found |= k.group == group && k.kind == kind;
    EXPECT_TRUE(found) << group << " " << kind;
  }
}

}  // namespace
}  // namespace trellis::resources
