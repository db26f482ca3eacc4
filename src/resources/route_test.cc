// Tests of the HTTPRoute (policy.linkerd.io, gateway.networking.k8s.io) and GRPCRoute decoders
// and of the retry.linkerd.io/* and timeout.linkerd.io/* annotation parsers.

#include "resources/route.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "resources/test_support.h"

namespace trellis::resources {
namespace {

using testing::decode_yaml;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Valid manifests
// ---------------------------------------------------------------------------------------------

// "Linkerd Patterns" template 6, with its flattened indentation restored
// (tests/fixtures/seeds/000-template6-httproute.yaml).
TEST(HttpRoute, SeedTemplate6DecodesCleanly) {
  auto r = decode_yaml(R"(apiVersion: policy.linkerd.io/v1beta2
kind: HTTPRoute
metadata:
  name: my-route
  namespace: my-namespace
spec:
  parentRefs:
    - name: my-service
      kind: Service
      group: core
      port: 8080
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /api/v2
        - headers:
            - name: x-api-version
              value: v2
      backendRefs:
        - name: my-service-v2
          port: 8080
    - matches:
        - path:
            type: PathPrefix
            value: /api
      backendRefs:
        - name: my-service-v1
          port: 8080
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->group, RouteGroup::kPolicy);
  ASSERT_THAT(route->parent_refs, SizeIs(1));
  const ParentRef& parent = route->parent_refs[0];
  EXPECT_EQ(parent.group, "");  // "core" is normalized
  EXPECT_EQ(parent.kind, "Service");
  EXPECT_EQ(parent.parent_kind, ParentKind::kService);
  EXPECT_EQ(parent.name, "my-service");
  EXPECT_EQ(parent.ns, "");
  EXPECT_EQ(parent.port, 8080);
  EXPECT_EQ(parent.section_name, "");
  EXPECT_THAT(route->hostnames, IsEmpty());

  ASSERT_THAT(route->rules, SizeIs(2));
  const HttpRouteRule& v2 = route->rules[0];
  ASSERT_THAT(v2.matches, SizeIs(2));  // path OR header
  EXPECT_EQ(v2.matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(v2.matches[0].path.value, "/api/v2");
  EXPECT_THAT(v2.matches[0].headers, IsEmpty());
  // The header-only match keeps the default path, PathPrefix "/".
  EXPECT_EQ(v2.matches[1].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(v2.matches[1].path.value, "/");
  ASSERT_THAT(v2.matches[1].headers, SizeIs(1));
  EXPECT_EQ(v2.matches[1].headers[0].name, "x-api-version");
  EXPECT_EQ(v2.matches[1].headers[0].type, ValueMatchType::kExact);
  EXPECT_EQ(v2.matches[1].headers[0].value, "v2");
  EXPECT_EQ(v2.matches[1].method, "");
  ASSERT_THAT(v2.backend_refs, SizeIs(1));
  EXPECT_EQ(v2.backend_refs[0].ref.group, "");
  EXPECT_EQ(v2.backend_refs[0].ref.kind, "Service");
  EXPECT_TRUE(v2.backend_refs[0].ref.is_service());
  EXPECT_EQ(v2.backend_refs[0].ref.name, "my-service-v2");
  EXPECT_EQ(v2.backend_refs[0].ref.port, 8080);
  EXPECT_EQ(v2.backend_refs[0].weight, 1);
  EXPECT_THAT(v2.filters, IsEmpty());
  EXPECT_FALSE(v2.timeouts.request.has_value());

  const HttpRouteRule& v1 = route->rules[1];
  ASSERT_THAT(v1.matches, SizeIs(1));
  EXPECT_EQ(v1.matches[0].path.value, "/api");
  ASSERT_THAT(v1.backend_refs, SizeIs(1));
  EXPECT_EQ(v1.backend_refs[0].ref.name, "my-service-v1");

  EXPECT_FALSE(route->retry.configured);
  EXPECT_FALSE(route->timeouts.configured());
}

TEST(HttpRoute, GatewayV1DecodesEveryField) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web-routes
  namespace: shop
  annotations:
    retry.linkerd.io/http: 5xx, gateway-error,429,500-504
    retry.linkerd.io/limit: "3"
    retry.linkerd.io/timeout: 300ms
    timeout.linkerd.io/response: 2s
    timeout.linkerd.io/idle: 1m
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: web
    namespace: shop
    port: 80
    sectionName: http
  hostnames: ["web.shop.svc.cluster.local", "*.example.com"]
  rules:
  - name: api
    matches:
    - path: {type: PathPrefix, value: /api}
      headers:
      - {name: X-Canary, type: RegularExpression, value: "^(yes|true)$"}
      queryParams:
      - {name: debug, value: "1"}
      method: POST
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-route, value: api}]
        add: [{name: x-trace, value: "on"}]
        remove: [x-internal]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        remove: [server]
    - type: URLRewrite
      urlRewrite:
        hostname: api.internal
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
    - type: RequestMirror
      requestMirror:
        backendRef: {name: web-shadow, namespace: shadow, port: 8080}
        percent: 25
    backendRefs:
    - name: web-v1
      port: 8080
      weight: 90
    - name: web-v2
      port: 8080
      weight: 10
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: x-version, value: v2}]
    timeouts:
      request: 10s
      backendRequest: 2s
  - matches:
    - path: {type: Exact, value: /healthz}
    - path: {type: RegularExpression, value: "/items/[0-9]+"}
    backendRefs:
    - {name: web-v1, port: 8080, weight: 0}
    - {name: web-v2, port: 8080}
    timeouts:
      request: "0s"
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->group, RouteGroup::kGateway);
  ASSERT_THAT(route->parent_refs, SizeIs(1));
  EXPECT_EQ(route->parent_refs[0].parent_kind, ParentKind::kService);
  EXPECT_EQ(route->parent_refs[0].ns, "shop");
  EXPECT_EQ(route->parent_refs[0].section_name, "http");
  EXPECT_THAT(route->hostnames, ElementsAre("web.shop.svc.cluster.local", "*.example.com"));

  // Annotations: retry policy and timeouts.
  EXPECT_TRUE(route->retry.configured);
  ASSERT_TRUE(route->retry.http_conditions.has_value());
  EXPECT_THAT(*route->retry.http_conditions,
              ElementsAre(StatusRange{500, 599}, StatusRange{502, 504}, StatusRange{429, 429},
                          StatusRange{500, 504}));
  EXPECT_FALSE(route->retry.grpc_conditions.has_value());
  EXPECT_EQ(route->retry.limit, 3u);
  EXPECT_EQ(route->retry.max_retries(), 3u);
  EXPECT_EQ(route->retry.timeout, base::Duration(300ms));
  EXPECT_FALSE(route->timeouts.request.has_value());
  EXPECT_EQ(route->timeouts.response, base::Duration(2s));
  EXPECT_EQ(route->timeouts.idle, base::Duration(1min));

  ASSERT_THAT(route->rules, SizeIs(2));
  const HttpRouteRule& api = route->rules[0];
  EXPECT_EQ(api.name, "api");
  ASSERT_THAT(api.matches, SizeIs(1));
  const HttpRouteMatch& m = api.matches[0];
  EXPECT_EQ(m.path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(m.path.value, "/api");
  ASSERT_THAT(m.headers, SizeIs(1));
  EXPECT_EQ(m.headers[0].name, "X-Canary");
  EXPECT_EQ(m.headers[0].type, ValueMatchType::kRegularExpression);
  EXPECT_EQ(m.headers[0].value, "^(yes|true)$");
  ASSERT_THAT(m.query_params, SizeIs(1));
  EXPECT_EQ(m.query_params[0].name, "debug");
  EXPECT_EQ(m.query_params[0].type, ValueMatchType::kExact);
  EXPECT_EQ(m.query_params[0].value, "1");
  EXPECT_EQ(m.method, "POST");

  ASSERT_THAT(api.filters, SizeIs(4));
  EXPECT_EQ(api.filters[0].type, FilterType::kRequestHeaderModifier);
  const HeaderModifier& req = api.filters[0].header_modifier;
  ASSERT_THAT(req.set, SizeIs(1));
  EXPECT_EQ(req.set[0].name, "x-route");
  EXPECT_EQ(req.set[0].value, "api");
  ASSERT_THAT(req.add, SizeIs(1));
  EXPECT_EQ(req.add[0].name, "x-trace");
  EXPECT_EQ(req.add[0].value, "on");
  EXPECT_THAT(req.remove, ElementsAre("x-internal"));
  EXPECT_EQ(api.filters[1].type, FilterType::kResponseHeaderModifier);
  EXPECT_THAT(api.filters[1].header_modifier.remove, ElementsAre("server"));
  EXPECT_EQ(api.filters[2].type, FilterType::kUrlRewrite);
  EXPECT_EQ(api.filters[2].rewrite.hostname, "api.internal");
  ASSERT_TRUE(api.filters[2].rewrite.path.has_value());
  EXPECT_EQ(api.filters[2].rewrite.path->type, PathModifierType::kReplacePrefixMatch);
  EXPECT_EQ(api.filters[2].rewrite.path->value, "/v2");
  EXPECT_EQ(api.filters[3].type, FilterType::kRequestMirror);
  EXPECT_EQ(api.filters[3].mirror.backend.name, "web-shadow");
  EXPECT_EQ(api.filters[3].mirror.backend.ns, "shadow");
  EXPECT_EQ(api.filters[3].mirror.backend.port, 8080);
  EXPECT_EQ(api.filters[3].mirror.numerator, 25);
  EXPECT_EQ(api.filters[3].mirror.denominator, 100);

  ASSERT_THAT(api.backend_refs, SizeIs(2));
  EXPECT_EQ(api.backend_refs[0].ref.name, "web-v1");
  EXPECT_EQ(api.backend_refs[0].weight, 90);
  EXPECT_THAT(api.backend_refs[0].filters, IsEmpty());
  EXPECT_EQ(api.backend_refs[1].weight, 10);
  ASSERT_THAT(api.backend_refs[1].filters, SizeIs(1));
  EXPECT_EQ(api.backend_refs[1].filters[0].header_modifier.set[0].value, "v2");
  EXPECT_EQ(api.timeouts.request, base::Duration(10s));
  EXPECT_EQ(api.timeouts.backend_request, base::Duration(2s));

  const HttpRouteRule& other = route->rules[1];
  EXPECT_EQ(other.name, "");
  ASSERT_THAT(other.matches, SizeIs(2));
  EXPECT_EQ(other.matches[0].path.type, PathMatchType::kExact);
  EXPECT_EQ(other.matches[0].path.value, "/healthz");
  EXPECT_EQ(other.matches[1].path.type, PathMatchType::kRegularExpression);
  EXPECT_EQ(other.matches[1].path.value, "/items/[0-9]+");
  ASSERT_THAT(other.backend_refs, SizeIs(2));
  EXPECT_EQ(other.backend_refs[0].weight, 0);
  EXPECT_EQ(other.backend_refs[1].weight, 1);             // default
  EXPECT_EQ(other.timeouts.request, base::Duration(0s));  // zero: no timeout
  EXPECT_FALSE(other.timeouts.backend_request.has_value());
}

TEST(HttpRoute, RedirectAndFractionalMirror) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirects, namespace: shop}
spec:
  parentRefs: [{group: core, kind: Service, name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: https
        hostname: new.example.com
        port: 8443
        statusCode: 301
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
  - matches: [{path: {type: Exact, value: /legacy}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        path: {type: ReplaceFullPath, replaceFullPath: /current}
  - filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: shadow, port: 80}
        fraction: {numerator: 1, denominator: 3}
    - type: RequestMirror
      requestMirror:
        backendRef: {name: audit, port: 80}
    backendRefs: [{name: web, port: 80}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  ASSERT_THAT(route->rules, SizeIs(3));

  const RequestRedirect& moved = route->rules[0].filters.at(0).redirect;
  EXPECT_EQ(route->rules[0].filters[0].type, FilterType::kRequestRedirect);
  EXPECT_EQ(moved.scheme, "https");
  EXPECT_EQ(moved.hostname, "new.example.com");
  EXPECT_EQ(moved.port, 8443);
  EXPECT_EQ(moved.status_code, 301);
  ASSERT_TRUE(moved.path.has_value());
  EXPECT_EQ(moved.path->type, PathModifierType::kReplacePrefixMatch);
  EXPECT_EQ(moved.path->value, "/new");
  EXPECT_THAT(route->rules[0].backend_refs, IsEmpty());

  const RequestRedirect& found = route->rules[1].filters.at(0).redirect;
  EXPECT_EQ(found.scheme, "");
  EXPECT_EQ(found.hostname, "");
  EXPECT_FALSE(found.port.has_value());
  EXPECT_EQ(found.status_code, 302);  // default
  ASSERT_TRUE(found.path.has_value());
  EXPECT_EQ(found.path->type, PathModifierType::kReplaceFullPath);
  EXPECT_EQ(found.path->value, "/current");

  // A rule without matches matches everything.
  const HttpRouteRule& mirrored = route->rules[2];
  ASSERT_THAT(mirrored.matches, SizeIs(1));
  EXPECT_EQ(mirrored.matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(mirrored.matches[0].path.value, "/");
  ASSERT_THAT(mirrored.filters, SizeIs(2));  // RequestMirror may repeat
  EXPECT_EQ(mirrored.filters[0].mirror.numerator, 1);
  EXPECT_EQ(mirrored.filters[0].mirror.denominator, 3);
  EXPECT_EQ(mirrored.filters[1].mirror.backend.name, "audit");
  EXPECT_EQ(mirrored.filters[1].mirror.numerator, 100);  // default: every request
  EXPECT_EQ(mirrored.filters[1].mirror.denominator, 100);
}

TEST(HttpRoute, DefaultsWhenRulesAreOmitted) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: all, namespace: shop}
spec:
  parentRefs: [{kind: Service, group: "", name: web}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_FALSE(route->parent_refs[0].port.has_value());
  ASSERT_THAT(route->rules, SizeIs(1));
  ASSERT_THAT(route->rules[0].matches, SizeIs(1));
  EXPECT_EQ(route->rules[0].matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(route->rules[0].matches[0].path.value, "/");
  EXPECT_THAT(route->rules[0].backend_refs, IsEmpty());  // to the parent Service
  EXPECT_EQ(route->retry.max_retries(), kDefaultRetryLimit);
}

TEST(HttpRoute, PolicyV1beta3InboundRouteWithTimeouts) {
  auto r = decode_yaml(R"(apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata:
  name: authors-get
  namespace: booksapp
  annotations:
    timeout.linkerd.io/request: 15s
spec:
  parentRefs:
  - name: authors-server
    kind: Server
    group: policy.linkerd.io
  rules:
  - matches:
    - path: {value: /authors.json}
      method: GET
    - path: {type: RegularExpression, value: "/authors/\\d+\\.json"}
    timeouts:
      backendRequest: 1m30s
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->group, RouteGroup::kPolicy);
  EXPECT_EQ(route->parent_refs[0].parent_kind, ParentKind::kServer);
  EXPECT_EQ(route->parent_refs[0].group, "policy.linkerd.io");
  EXPECT_EQ(route->timeouts.request, base::Duration(15s));
  EXPECT_FALSE(route->retry.configured);
  const HttpRouteRule& rule = route->rules.at(0);
  EXPECT_EQ(rule.matches.at(0).path.type, PathMatchType::kPathPrefix);  // type defaults
  EXPECT_EQ(rule.matches.at(0).path.value, "/authors.json");
  EXPECT_EQ(rule.matches.at(0).method, "GET");
  EXPECT_EQ(rule.matches.at(1).path.value, "/authors/\\d+\\.json");
  EXPECT_FALSE(rule.timeouts.request.has_value());
  EXPECT_EQ(rule.timeouts.backend_request, base::Duration(90s));
}

TEST(HttpRoute, EveryPolicyVersionIsServed) {
  for (const char* version : {"v1alpha1", "v1beta1", "v1beta2", "v1beta3"}) {
    SCOPED_TRACE(version);
    auto r = decode_yaml(std::string("apiVersion: policy.linkerd.io/") + version + R"(
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: web, kind: Service, group: core, port: 80}]
  rules:
  - matches: [{path: {type: Exact, value: /x}}]
    backendRefs: [{name: web, port: 80}]
)");
    EXPECT_THAT(r.errors(), IsEmpty());
    EXPECT_THAT(r.warnings(), IsEmpty());
    const HttpRoute* route = r.first<HttpRoute>();
    ASSERT_NE(route, nullptr);
    EXPECT_EQ(route->group, RouteGroup::kPolicy);
    EXPECT_EQ(route->rules.at(0).matches.at(0).path.value, "/x");
    EXPECT_EQ(route->rules.at(0).backend_refs.at(0).weight, 1);
  }
}

TEST(HttpRoute, PolicyV1beta1IgnoresBackendWeightsWithAWarning) {
  auto r = decode_yaml(R"(apiVersion: policy.linkerd.io/v1beta1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: web, kind: Service, group: core, port: 80}]
  rules:
  - backendRefs:
    - {name: web-v1, port: 80, weight: 0}
    - {name: web-v2, port: 80, weight: 100}
)");
  EXPECT_THAT(r.errors(), IsEmpty());  // weight 0 is ignored, so no all-zero error either
  const std::string ignored =
      "ignored: policy.linkerd.io/v1beta1 backendRefs have no weight (added in "
      "policy.linkerd.io/v1beta2), so every backend gets weight 1";
  EXPECT_THAT(r.warnings(), ElementsAre("spec.rules[0].backendRefs[0].weight: " + ignored,
                                        "spec.rules[0].backendRefs[1].weight: " + ignored));
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->rules.at(0).backend_refs.at(0).weight, 1);
  EXPECT_EQ(route->rules.at(0).backend_refs.at(1).weight, 1);
}

TEST(HttpRoute, GatewayV1alpha2IsDeprecatedButDecodes) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1alpha2
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: web, kind: Service, group: core}]
  rules:
  - backendRefs: [{name: web-v2, port: 80, weight: 5}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: gateway.networking.k8s.io/v1alpha2 HTTPRoute is "
                          "deprecated; use gateway.networking.k8s.io/v1"));
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->group, RouteGroup::kGateway);
  EXPECT_EQ(route->rules.at(0).backend_refs.at(0).weight, 5);
}

TEST(HttpRoute, EgressNetworkParentAndBackend) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: egress, namespace: egress}
spec:
  parentRefs:
  - {name: internet, kind: EgressNetwork, group: policy.linkerd.io, port: 443}
  rules:
  - backendRefs:
    - {name: internet, kind: EgressNetwork, group: policy.linkerd.io}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const HttpRoute* route = r.first<HttpRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->parent_refs.at(0).parent_kind, ParentKind::kEgressNetwork);
  EXPECT_EQ(route->parent_refs.at(0).port, 443);
  const BackendObjectRef& backend = route->rules.at(0).backend_refs.at(0).ref;
  EXPECT_FALSE(backend.is_service());
  EXPECT_EQ(backend.kind, "EgressNetwork");
  EXPECT_FALSE(backend.port.has_value());
}

TEST(GrpcRoute, V1DecodesEveryField) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: greeter
  namespace: demo
  annotations:
    retry.linkerd.io/grpc: "unavailable, deadline-exceeded,cancelled,internal,resource-exhausted"
    retry.linkerd.io/limit: "0"
    timeout.linkerd.io/request: 5s
spec:
  parentRefs: [{name: greeter, kind: Service, group: core, port: 50051}]
  hostnames: [greeter.demo.svc.cluster.local]
  rules:
  - matches:
    - method: {service: helloworld.Greeter, method: SayHello}
      headers:
      - {name: x-tenant, value: blue}
    - method: {type: RegularExpression, service: "helloworld\\..*"}
    - method: {method: _Private9}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-grpc-route, value: greeter}]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {add: [{name: x-served-by, value: trellis}]}
    - type: RequestMirror
      requestMirror: {backendRef: {name: greeter-shadow, port: 50051}, percent: 10}
    backendRefs:
    - {name: greeter-v1, port: 50051, weight: 3}
    - name: greeter-v2
      port: 50051
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {remove: [x-debug]}
  - {}
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(), IsEmpty());
  const GrpcRoute* route = r.first<GrpcRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->parent_refs.at(0).parent_kind, ParentKind::kService);
  EXPECT_EQ(route->parent_refs.at(0).port, 50051);
  EXPECT_THAT(route->hostnames, ElementsAre("greeter.demo.svc.cluster.local"));
  EXPECT_TRUE(route->retry.configured);
  EXPECT_FALSE(route->retry.http_conditions.has_value());
  ASSERT_TRUE(route->retry.grpc_conditions.has_value());
  EXPECT_THAT(*route->retry.grpc_conditions,
              ElementsAre(GrpcRetryCondition::kUnavailable, GrpcRetryCondition::kDeadlineExceeded,
                          GrpcRetryCondition::kCancelled, GrpcRetryCondition::kInternal,
                          GrpcRetryCondition::kResourceExhausted));
  EXPECT_EQ(route->retry.max_retries(), 0u);
  EXPECT_FALSE(route->retry.timeout.has_value());
  EXPECT_EQ(route->timeouts.request, base::Duration(5s));

  ASSERT_THAT(route->rules, SizeIs(2));
  const GrpcRouteRule& rule = route->rules[0];
  ASSERT_THAT(rule.matches, SizeIs(3));
  ASSERT_TRUE(rule.matches[0].method.has_value());
  EXPECT_EQ(rule.matches[0].method->type, ValueMatchType::kExact);
  EXPECT_EQ(rule.matches[0].method->service, "helloworld.Greeter");
  EXPECT_EQ(rule.matches[0].method->method, "SayHello");
  ASSERT_THAT(rule.matches[0].headers, SizeIs(1));
  EXPECT_EQ(rule.matches[0].headers[0].name, "x-tenant");
  EXPECT_EQ(rule.matches[0].headers[0].value, "blue");
  EXPECT_EQ(rule.matches[1].method->type, ValueMatchType::kRegularExpression);
  EXPECT_EQ(rule.matches[1].method->service, "helloworld\\..*");
  EXPECT_EQ(rule.matches[1].method->method, "");
  EXPECT_EQ(rule.matches[2].method->service, "");
  EXPECT_EQ(rule.matches[2].method->method, "_Private9");

  ASSERT_THAT(rule.filters, SizeIs(3));
  EXPECT_EQ(rule.filters[0].type, FilterType::kRequestHeaderModifier);
  EXPECT_EQ(rule.filters[0].header_modifier.set.at(0).value, "greeter");
  EXPECT_EQ(rule.filters[1].type, FilterType::kResponseHeaderModifier);
  EXPECT_EQ(rule.filters[1].header_modifier.add.at(0).name, "x-served-by");
  EXPECT_EQ(rule.filters[2].type, FilterType::kRequestMirror);
  EXPECT_EQ(rule.filters[2].mirror.backend.name, "greeter-shadow");
  EXPECT_EQ(rule.filters[2].mirror.numerator, 10);

  ASSERT_THAT(rule.backend_refs, SizeIs(2));
  EXPECT_EQ(rule.backend_refs[0].weight, 3);
  EXPECT_EQ(rule.backend_refs[1].weight, 1);
  EXPECT_THAT(rule.backend_refs[1].filters.at(0).header_modifier.remove, ElementsAre("x-debug"));

  // An empty rule matches every call and sends it to the parent.
  const GrpcRouteRule& rest = route->rules[1];
  ASSERT_THAT(rest.matches, SizeIs(1));
  EXPECT_FALSE(rest.matches[0].method.has_value());
  EXPECT_THAT(rest.matches[0].headers, IsEmpty());
  EXPECT_THAT(rest.backend_refs, IsEmpty());
}

TEST(GrpcRoute, V1alpha2IsDeprecatedAndRulesDefault) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1alpha2
kind: GRPCRoute
metadata: {name: all, namespace: demo}
spec:
  parentRefs: [{name: greeter-server, kind: Server, group: policy.linkerd.io}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("apiVersion: gateway.networking.k8s.io/v1alpha2 GRPCRoute is "
                          "deprecated; use gateway.networking.k8s.io/v1"));
  const GrpcRoute* route = r.first<GrpcRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->parent_refs.at(0).parent_kind, ParentKind::kServer);
  ASSERT_THAT(route->rules, SizeIs(1));
  ASSERT_THAT(route->rules[0].matches, SizeIs(1));
  EXPECT_FALSE(route->rules[0].matches[0].method.has_value());
}

TEST(RouteAnnotations, ErrorsCarryTheAnnotationsLocation) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
  namespace: ns
  annotations:
    retry.linkerd.io/limit: lots
spec:
  parentRefs: [{name: web, kind: Service, group: core}]
)",
                       "routes.yaml");
  EXPECT_THAT(r.formatted(),
              ElementsAre("routes.yaml:7:29: error: HTTPRoute/ns/r: "
                          "metadata.annotations[\"retry.linkerd.io/limit\"]: must be a "
                          "non-negative integer, got \"lots\""));
}

TEST(RouteAnnotations, ConditionsOnlyForTheRightProtocolAndHttpRangesAreInclusive) {
  auto r = decode_yaml(R"(apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: r
  namespace: ns
  annotations:
    retry.linkerd.io/http: 5xx
    retry.linkerd.io/timeout: 1.5s
spec:
  parentRefs: [{name: web, kind: Service, group: core, port: 80}]
)");
  EXPECT_THAT(r.errors(), IsEmpty());
  EXPECT_THAT(r.warnings(),
              ElementsAre("metadata.annotations[\"retry.linkerd.io/http\"]: has no effect on a "
                          "GRPCRoute; use retry.linkerd.io/grpc"));
  const GrpcRoute* route = r.first<GrpcRoute>();
  ASSERT_NE(route, nullptr);
  EXPECT_TRUE(route->retry.configured);  // by retry.linkerd.io/timeout
  EXPECT_FALSE(route->retry.http_conditions.has_value());
  EXPECT_EQ(route->retry.timeout, base::Duration(1500ms));

  const StatusRange range{500, 504};
  EXPECT_TRUE(range.contains(500));
  EXPECT_TRUE(range.contains(504));
  EXPECT_FALSE(range.contains(505));
}

// A Service decoder calls the parsers directly on the Service's annotations: a Service takes
// both HTTP and gRPC retry conditions.
TEST(RouteAnnotations, ParsersServeServicesToo) {
  Diagnostics diags;
  DecodeContext ctx(diags, "svc.yaml", 0);
  Node root(ctx, YAML::Load(R"(apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    retry.linkerd.io/http: gateway-error
    retry.linkerd.io/grpc: internal
    timeout.linkerd.io/reponse: 1s
    linkerd.io/inject: enabled
)"),
            "");
  const std::map<std::string, std::string> annotations = {
      {"retry.linkerd.io/http", "gateway-error"},
      {"retry.linkerd.io/grpc", "internal"},
      {"timeout.linkerd.io/reponse", "1s"},
      {"linkerd.io/inject", "enabled"}};
  const RetryPolicy retry = parse_retry_annotations(root, annotations, RetryProtocol::kAny);
  const TimeoutPolicy timeouts = parse_timeout_annotations(root, annotations);
  EXPECT_TRUE(retry.configured);
  ASSERT_TRUE(retry.http_conditions.has_value());
  EXPECT_THAT(*retry.http_conditions, ElementsAre(StatusRange{502, 504}));
  ASSERT_TRUE(retry.grpc_conditions.has_value());
  EXPECT_THAT(*retry.grpc_conditions, ElementsAre(GrpcRetryCondition::kInternal));
  EXPECT_FALSE(retry.limit.has_value());
  EXPECT_EQ(retry.max_retries(), 1u);
  EXPECT_FALSE(timeouts.configured());
  ASSERT_EQ(diags.items().size(), 1u);
  const Diagnostic& d = diags.items()[0];
  EXPECT_EQ(d.severity, Severity::kWarning);
  EXPECT_EQ(d.field, "metadata.annotations[\"timeout.linkerd.io/reponse\"]");
  EXPECT_EQ(d.message,
            "unknown annotation \"timeout.linkerd.io/reponse\" has no effect (did you mean "
            "\"timeout.linkerd.io/response\"?)");
  EXPECT_EQ(d.location.file, "svc.yaml");
  EXPECT_EQ(d.location.line, 8);

  const RetryPolicy none =
      parse_retry_annotations(root, {{"linkerd.io/inject", "enabled"}}, RetryProtocol::kAny);
  EXPECT_FALSE(none.configured);
  EXPECT_EQ(diags.items().size(), 1u);
}

TEST(RouteHostname, Grammar) {
  EXPECT_EQ(check_route_hostname("example.com", true), "");
  EXPECT_EQ(check_route_hostname("*.example.com", true), "");
  EXPECT_EQ(check_route_hostname("*.example.com", false), "must not contain a wildcard");
  EXPECT_EQ(check_route_hostname("10.0.0.1", true), "must be a DNS name, not an IP address");
  EXPECT_EQ(check_route_hostname(std::string(64, 'a') + ".com", true),
            "each label must be no more than 63 characters");
  EXPECT_EQ(check_route_hostname("", true), "must not be empty");
}

// ---------------------------------------------------------------------------------------------
// Bad inputs
// ---------------------------------------------------------------------------------------------

constexpr char kService[] = "  parentRefs: [{name: web, kind: Service, group: core, port: 80}]\n";

std::string manifest(std::string_view api_version, std::string_view kind, std::string_view spec,
                     std::string_view annotations = "") {
  std::string out = "apiVersion: " + std::string(api_version) + "\nkind: " + std::string(kind) +
                    "\nmetadata:\n  name: r\n  namespace: ns\n";
  if (!annotations.empty()) out += "  annotations:\n" + std::string(annotations);
  out += "spec:\n" + std::string(spec);
  return out;
}

// A gateway.networking.k8s.io/v1 HTTPRoute attached to Service web.
std::string http(std::string_view rest, std::string_view annotations = "") {
  return manifest("gateway.networking.k8s.io/v1", "HTTPRoute",
                  std::string(kService) + std::string(rest), annotations);
}

std::string grpc(std::string_view rest, std::string_view annotations = "") {
  return manifest("gateway.networking.k8s.io/v1", "GRPCRoute",
                  std::string(kService) + std::string(rest), annotations);
}

struct BadInput {
  std::string name;
  std::string yaml;
  std::vector<std::string> errors;    // exactly these
  std::vector<std::string> warnings;  // exactly these
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.name; }

class RouteBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(RouteBadInput, ReportsExactly) {
  const BadInput& row = GetParam();
  auto r = decode_yaml(row.yaml);
  EXPECT_THAT(r.errors(), ElementsAreArray(row.errors)) << row.yaml;
  EXPECT_THAT(r.warnings(), ElementsAreArray(row.warnings)) << row.yaml;
}

const std::string kRetryHttp = "metadata.annotations[\"retry.linkerd.io/http\"]: ";
const std::string kRedirect = "spec.rules[0].filters[0].requestRedirect.";

std::vector<BadInput> bad_inputs() {
  std::string many_matches = "  rules:\n  - matches:\n";
  for (int i = 0; i < 9; ++i) many_matches += "    - path: {value: /p" + std::to_string(i) + "}\n";
  std::string many_rules = "  rules:\n";
  for (int i = 0; i < 17; ++i)
    many_rules += "  - matches: [{path: {value: /r" + std::to_string(i) + "}}]\n";

  return {
      // ---- structure, unknown fields, types, required fields ----
      {"MissingSpec",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n",
       {"spec: missing required field"},
       {}},
      {"UnknownRuleFieldSuggestsTheRightOne",
       http("  rules:\n  - backendRef: [{name: web, port: 80}]\n"),
       {"spec.rules[0].backendRef: unknown field \"backendRef\" (did you mean \"backendRefs\"?)"},
       {}},
      {"RetryFieldPointsToTheAnnotations",
       http("  rules:\n  - retry: {attempts: 3}\n"),
       {"spec.rules[0].retry: unknown field \"retry\"; retries are configured with the "
        "retry.linkerd.io/* annotations on the route (metadata.annotations), e.g. "
        "retry.linkerd.io/http: 5xx"},
       {}},
      {"BackendServiceNameField",
       http("  rules:\n  - backendRefs: [{serviceName: web, port: 80}]\n"),
       {"spec.rules[0].backendRefs[0].name: missing required field",
        "spec.rules[0].backendRefs[0].serviceName: unknown field \"serviceName\"; use \"name\" "
        "(and \"port\")"},
       {}},
      {"ParentRefNameMissing",
       manifest("gateway.networking.k8s.io/v1", "HTTPRoute",
                "  parentRefs: [{kind: Service, group: core}]\n"),
       {"spec.parentRefs[0].name: missing required field"},
       {}},
      {"RulesNotAList",
       http("  rules: {matches: []}\n"),
       {"spec.rules: expected a list, got a map"},
       {}},
      {"WeightWrongType",
       http("  rules:\n  - backendRefs: [{name: web, port: 80, weight: ten}]\n"),
       {"spec.rules[0].backendRefs[0].weight: expected an integer, got the string \"ten\""},
       {}},
      {"WeightOutOfRange",
       http("  rules:\n  - backendRefs: [{name: web, port: 80, weight: 1000001}]\n"),
       {"spec.rules[0].backendRefs[0].weight: value 1000001 is out of range [0, 1000000]"},
       {}},
      {"AllWeightsZero",
       http("  rules:\n  - backendRefs:\n    - {name: a, port: 80, weight: 0}\n"
            "    - {name: b, port: 80, weight: 0}\n"),
       {"spec.rules[0].backendRefs: every backendRef has weight 0, so the rule cannot send "
        "requests anywhere; give at least one backend a positive weight"},
       {}},
      {"BackendPortOutOfRange",
       http("  rules:\n  - backendRefs: [{name: web, port: 70000}]\n"),
       {"spec.rules[0].backendRefs[0].port: value 70000 is out of range [1, 65535]"},
       {}},
      {"BackendPortRequiredForServiceInGatewayApi",
       http("  rules:\n  - backendRefs: [{name: web}]\n"),
       {"spec.rules[0].backendRefs[0].port: missing required field (a backendRef of kind "
        "Service needs a port)"},
       {}},
      {"BackendNameInvalid",
       http("  rules:\n  - backendRefs: [{name: Web_V2, port: 80}]\n"),
       {"spec.rules[0].backendRefs[0].name: invalid name \"Web_V2\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name')"},
       {}},
      {"ParentPortIsANumberNotAName",
       manifest("gateway.networking.k8s.io/v1", "HTTPRoute",
                "  parentRefs: [{name: web, kind: Service, group: core, port: http}]\n"),
       {"spec.parentRefs[0].port: expected a port number (1-65535), got the string \"http\""},
       {}},
      {"ParentNamespaceInvalid",
       manifest("gateway.networking.k8s.io/v1", "HTTPRoute",
                "  parentRefs: [{name: web, kind: Service, group: core, namespace: My_NS}]\n"),
       {"spec.parentRefs[0].namespace: invalid namespace \"My_NS\": must consist of lower case "
        "alphanumeric characters or '-' (e.g. 'my-name')"},
       {}},
      {"DuplicateParentRef",
       manifest("gateway.networking.k8s.io/v1", "HTTPRoute",
                "  parentRefs:\n  - {name: web, kind: Service, group: core, port: 80}\n"
                "  - {name: web, kind: Service, group: \"\", port: 80}\n"),
       {"spec.parentRefs[1]: duplicate parentRef (same as parentRefs[0]); give each reference "
        "to the same parent a different port or sectionName"},
       {}},
      {"EgressNetworkParentNeedsAPort",
       manifest(
           "gateway.networking.k8s.io/v1", "HTTPRoute",
           "  parentRefs: [{name: internet, kind: EgressNetwork, group: policy.linkerd.io}]\n"),
       {"spec.parentRefs[0].port: missing required field (an EgressNetwork parent needs a port)"},
       {}},
      {"TooManyParentRefs",
       [] {
         std::string spec = "  parentRefs:\n";
         for (int i = 0; i < 33; ++i) {
           spec +=
               "  - {name: web, kind: Service, group: core, port: " + std::to_string(i + 1) + "}\n";
         }
         return manifest("gateway.networking.k8s.io/v1", "HTTPRoute", spec);
       }(),
       {"spec.parentRefs: must have at most 32 items, got 33"},
       {}},

      // ---- hostnames ----
      {"HostnameUpperCase",
       http("  hostnames: [Web.Example.com]\n"),
       {"spec.hostnames[0]: invalid hostname \"Web.Example.com\": must consist of lower case "
        "alphanumeric characters, '-' or '.' (e.g. 'example.com')"},
       {}},
      {"HostnameIpAddress",
       http("  hostnames: [\"10.1.2.3\"]\n"),
       {"spec.hostnames[0]: invalid hostname \"10.1.2.3\": must be a DNS name, not an IP address"},
       {}},
      {"HostnameWildcardInTheMiddle",
       http("  hostnames: [\"api.*.example.com\"]\n"),
       {"spec.hostnames[0]: invalid hostname \"api.*.example.com\": a wildcard is allowed only "
        "as the whole first label (e.g. \"*.example.com\")"},
       {}},

      // ---- matches ----
      {"PathTypeMisspelled",
       http("  rules:\n  - matches: [{path: {type: Prefix, value: /api}}]\n"),
       {"spec.rules[0].matches[0].path.type: unsupported value \"Prefix\"; expected one of: "
        "Exact, PathPrefix, RegularExpression (did you mean \"PathPrefix\"?)"},
       {}},
      {"PathNotAbsolute",
       http("  rules:\n  - matches: [{path: {value: api}}]\n"),
       {"spec.rules[0].matches[0].path.value: invalid path \"api\": must be an absolute path "
        "starting with \"/\" (type PathPrefix)"},
       {}},
      {"PathWithDoubleSlash",
       http("  rules:\n  - matches: [{path: {type: Exact, value: /a//b}}]\n"),
       {"spec.rules[0].matches[0].path.value: invalid path \"/a//b\": must not contain \"//\" "
        "(type Exact)"},
       {}},
      {"PathWithDotSegment",
       http("  rules:\n  - matches: [{path: {value: /a/../admin}}]\n"),
       {"spec.rules[0].matches[0].path.value: invalid path \"/a/../admin\": must not contain "
        "\".\" or \"..\" segments (type PathPrefix)"},
       {}},
      {"PathRegexDoesNotCompile",
       http("  rules:\n  - matches: [{path: {type: RegularExpression, value: \"/(api\"}}]\n"),
       {"spec.rules[0].matches[0].path.value: invalid regular expression \"/(api\": missing ): "
        "/(api (RE2 syntax; backreferences and lookaround are not supported)"},
       {}},
      {"PathRegexWithLookahead",
       http("  rules:\n  - matches: [{path: {type: RegularExpression, value: \"/(?!admin)\"}}]\n"),
       {"spec.rules[0].matches[0].path.value: invalid regular expression \"/(?!admin)\": invalid "
        "perl operator: (?! (RE2 syntax; backreferences and lookaround are not supported)"},
       {}},
      {"PathRegexNeedsAValue",
       http("  rules:\n  - matches: [{path: {type: RegularExpression}}]\n"),
       {"spec.rules[0].matches[0].path.value: missing required field (type is RegularExpression)"},
       {}},
      {"ServiceProfilePathRegexField",
       http("  rules:\n  - matches: [{pathRegex: /api/.*}]\n"),
       {"spec.rules[0].matches[0].pathRegex: unknown field \"pathRegex\"; use path: {type: "
        "RegularExpression, value: <regex>}"},
       {}},
      {"HeaderNameInvalid",
       http("  rules:\n  - matches: [{headers: [{name: \"x api\", value: v}]}]\n"),
       {"spec.rules[0].matches[0].headers[0].name: invalid header name \"x api\": must be a "
        "valid HTTP header name (RFC 9110 token characters only)"},
       {}},
      {"HeaderValueMissing",
       http("  rules:\n  - matches: [{headers: [{name: x-api-version}]}]\n"),
       {"spec.rules[0].matches[0].headers[0].value: missing required field"},
       {}},
      {"HeaderValueWithNewline",
       http("  rules:\n  - matches: [{headers: [{name: x-a, value: \"v\\r\\nx-b: 1\"}]}]\n"),
       {"spec.rules[0].matches[0].headers[0].value: must not contain CR, LF or NUL characters"},
       {}},
      {"HeaderRegexDoesNotCompile",
       http("  rules:\n  - matches: [{headers: [{name: x-a, type: RegularExpression, value: "
            "\"[a-\"}]}]\n"),
       {"spec.rules[0].matches[0].headers[0].value: invalid regular expression \"[a-\": missing "
        "]: [a- (RE2 syntax; backreferences and lookaround are not supported)"},
       {}},
      {"DuplicateHeaderMatchIgnoringCase",
       http("  rules:\n  - matches:\n    - headers:\n      - {name: X-Version, value: a}\n"
            "      - {name: x-version, value: b}\n"),
       {"spec.rules[0].matches[0].headers[1].name: duplicate header \"x-version\" (also at "
        "headers[0]); each may be matched only once per match; header names are "
        "case-insensitive"},
       {}},
      {"QueryParamValueMissing",
       http("  rules:\n  - matches: [{queryParams: [{name: debug}]}]\n"),
       {"spec.rules[0].matches[0].queryParams[0].value: missing required field"},
       {}},
      {"QueryParamTypeUnknown",
       http("  rules:\n  - matches: [{queryParams: [{name: q, type: Prefix, value: a}]}]\n"),
       {"spec.rules[0].matches[0].queryParams[0].type: unsupported value \"Prefix\"; expected "
        "one of: Exact, RegularExpression"},
       {}},
      {"MethodUnknown",
       http("  rules:\n  - matches: [{method: FETCH}]\n"),
       {"spec.rules[0].matches[0].method: unsupported value \"FETCH\"; expected one of: GET, "
        "HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH (did you mean \"PATCH\"?)"},
       {}},
      {"TooManyMatches",
       http(many_matches),
       {"spec.rules[0].matches: must have at most 8 items, got 9"},
       {}},
      {"TooManyRules", http(many_rules), {"spec.rules: must have at most 16 items, got 17"}, {}},

      // ---- filters ----
      {"ExtensionRefNotSupported",
       http("  rules:\n  - filters:\n    - type: ExtensionRef\n"
            "      extensionRef: {group: example.com, kind: Auth, name: a}\n"),
       {"spec.rules[0].filters[0].type: ExtensionRef filters are not supported by Trellis; "
        "remove this filter"},
       {}},
      {"FilterConfigDoesNotMatchType",
       http("  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
            "      requestRedirect: {scheme: https}\n"),
       {"spec.rules[0].filters[0].requestHeaderModifier: missing required field (type is "
        "RequestHeaderModifier)",
        "spec.rules[0].filters[0].requestRedirect: must not be set when type is "
        "RequestHeaderModifier (a filter has exactly one type; use a separate filter of type "
        "RequestRedirect)"},
       {}},
      {"FilterTypeMissing",
       http("  rules:\n  - filters:\n    - requestHeaderModifier: {remove: [x-a]}\n"),
       {"spec.rules[0].filters[0].type: missing required field"},
       {}},
      {"HeaderModifierDuplicateSet",
       http("  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
            "      requestHeaderModifier:\n        set: [{name: X-A, value: '1'}, {name: x-a, "
            "value: '2'}]\n"),
       {"spec.rules[0].filters[0].requestHeaderModifier.set[1].name: duplicate header \"x-a\" "
        "(also at set[0]); header names are case-insensitive"},
       {}},
      {"HeaderModifierValueInjection",
       http("  rules:\n  - filters:\n    - type: ResponseHeaderModifier\n"
            "      responseHeaderModifier:\n        add: [{name: x-a, value: \"1\\nSet-Cookie: "
            "x\"}]\n"),
       {"spec.rules[0].filters[0].responseHeaderModifier.add[0].value: must not contain CR, LF "
        "or NUL characters"},
       {}},
      {"FilterRepeated",
       http("  rules:\n  - filters:\n    - {type: RequestHeaderModifier, requestHeaderModifier: "
            "{remove: [a]}}\n    - {type: RequestHeaderModifier, requestHeaderModifier: {remove: "
            "[b]}}\n"),
       {"spec.rules[0].filters[1].type: RequestHeaderModifier may appear only once in a filter "
        "list (also at filters[0])"},
       {}},
      {"RedirectAndRewriteTogether",
       http("  rules:\n  - filters:\n    - {type: RequestRedirect, requestRedirect: {scheme: "
            "https}}\n    - {type: URLRewrite, urlRewrite: {hostname: a.example.com}}\n"),
       {"spec.rules[0].filters[1].type: URLRewrite cannot be combined with RequestRedirect (at "
        "filters[0]) in one filter list"},
       {}},
      {"RedirectWithBackends",
       http("  rules:\n  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]\n"
            "    backendRefs: [{name: web, port: 80}]\n"),
       {"spec.rules[0].backendRefs: must be empty when the rule has a RequestRedirect filter "
        "(the redirect answers the request itself)"},
       {}},
      {"RedirectStatusCode",
       http("  rules:\n  - filters: [{type: RequestRedirect, requestRedirect: {statusCode: "
            "307}}]\n"),
       {kRedirect + "statusCode: unsupported status code 307; expected 301 or 302"},
       {}},
      {"RedirectScheme",
       http("  rules:\n  - filters: [{type: RequestRedirect, requestRedirect: {scheme: ftp}}]\n"),
       {kRedirect + "scheme: unsupported value \"ftp\"; expected one of: http, https (did you "
                    "mean \"http\"?)"},
       {}},
      {"RedirectHostnameWildcard",
       http("  rules:\n  - filters: [{type: RequestRedirect, requestRedirect: {hostname: "
            "\"*.example.com\"}}]\n"),
       {kRedirect + "hostname: invalid hostname \"*.example.com\": must not contain a wildcard"},
       {}},
      {"RedirectPathConfigMismatch",
       http("  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n"
            "        path: {type: ReplaceFullPath, replacePrefixMatch: /x}\n"),
       {kRedirect + "path.replaceFullPath: missing required field (type is ReplaceFullPath)",
        kRedirect + "path.replacePrefixMatch: must not be set when type is ReplaceFullPath"},
       {}},
      {"ReplacePrefixMatchNeedsOnePathPrefixMatch",
       http("  rules:\n  - matches: [{path: {type: Exact, value: /old}}]\n    filters:\n"
            "    - type: URLRewrite\n      urlRewrite:\n        path: {type: ReplacePrefixMatch, "
            "replacePrefixMatch: /new}\n    backendRefs: [{name: web, port: 80}]\n"),
       {"spec.rules[0].filters[0].urlRewrite.path.type: ReplacePrefixMatch in a URLRewrite filter "
        "needs the rule to have exactly one match, with a PathPrefix path (it replaces the "
        "matched prefix)"},
       {}},
      {"MirrorPercentOutOfRange",
       http("  rules:\n  - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: s, "
            "port: 80}, percent: 150}}]\n"),
       {"spec.rules[0].filters[0].requestMirror.percent: value 150 is out of range [0, 100]"},
       {}},
      {"MirrorFractionAboveOne",
       http("  rules:\n  - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: s, "
            "port: 80}, fraction: {numerator: 5, denominator: 4}}}]\n"),
       {"spec.rules[0].filters[0].requestMirror.fraction.numerator: must not be greater than the "
        "denominator (4)"},
       {}},
      {"MirrorPercentAndFraction",
       http("  rules:\n  - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: s, "
            "port: 80}, percent: 5, fraction: {numerator: 1}}}]\n"),
       {"spec.rules[0].filters[0].requestMirror.fraction: set either percent or fraction, not "
        "both"},
       {}},
      {"MirrorBackendNeedsAPort",
       http("  rules:\n  - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: "
            "s}}}]\n"),
       {"spec.rules[0].filters[0].requestMirror.backendRef.port: missing required field (a "
        "mirror backendRef of kind Service needs a port)"},
       {}},
      {"RedirectInBackendFilters",
       http("  rules:\n  - backendRefs:\n    - name: web\n      port: 80\n      filters: [{type: "
            "RequestRedirect, requestRedirect: {scheme: https}}]\n"),
       {"spec.rules[0].backendRefs[0].filters[0].type: RequestRedirect is not allowed in "
        "backendRefs[].filters: a redirect answers the request without reaching a backend (put "
        "it in the rule's filters)"},
       {}},

      // ---- timeouts ----
      {"TimeoutsNeedGatewayV1",
       manifest("gateway.networking.k8s.io/v1beta1", "HTTPRoute",
                std::string(kService) + "  rules:\n  - timeouts: {request: 10s}\n"),
       {"spec.rules[0].timeouts: timeouts is not available in gateway.networking.k8s.io/v1beta1; "
        "use apiVersion gateway.networking.k8s.io/v1 (or the timeout.linkerd.io/request "
        "annotation)"},
       {}},
      {"TimeoutsNeedPolicyV1beta3",
       manifest("policy.linkerd.io/v1beta2", "HTTPRoute",
                std::string(kService) + "  rules:\n  - timeouts: {request: 10s}\n"),
       {"spec.rules[0].timeouts: timeouts is not available in policy.linkerd.io/v1beta2; use "
        "apiVersion policy.linkerd.io/v1beta3 (or the timeout.linkerd.io/request annotation)"},
       {}},
      {"BackendRequestLongerThanRequest",
       http("  rules:\n  - timeouts: {request: 5s, backendRequest: 10s}\n"),
       {"spec.rules[0].timeouts.backendRequest: must not be longer than the request timeout (5s)"},
       {}},
      {"TimeoutNotGatewayDurationSyntax",
       http("  rules:\n  - timeouts: {request: 1.5s}\n"),
       {"spec.rules[0].timeouts.request: invalid duration \"1.5s\": Gateway API durations are "
        "one to four parts of up to 5 digits with a unit h, m, s or ms (e.g. \"10s\", \"500ms\", "
        "\"1m30s\")"},
       {}},
      {"TimeoutWrongType",
       http("  rules:\n  - timeouts: {request: [10s]}\n"),
       {"spec.rules[0].timeouts.request: expected a duration such as \"5s\" or \"1m30s\", got a "
        "list"},
       {}},
      {"TimeoutUnknownField",
       http("  rules:\n  - timeouts: {requestTimeout: 10s}\n"),
       {"spec.rules[0].timeouts.requestTimeout: unknown field \"requestTimeout\" (did you mean "
        "\"request\"?)"},
       {}},

      // ---- annotations ----
      {"RetryHttpUnknownCondition",
       http("", "    retry.linkerd.io/http: 5xx,server-error\n"),
       {kRetryHttp + "invalid retry condition \"server-error\": expected 5xx, gateway-error, a "
                     "status code such as 503 or a range such as 500-504"},
       {}},
      {"RetryHttpStatusOutOfRange",
       http("", "    retry.linkerd.io/http: \"600\"\n"),
       {kRetryHttp + "status code 600 is out of range [100, 599]"},
       {}},
      {"RetryHttpRangeReversed",
       http("", "    retry.linkerd.io/http: 504-500\n"),
       {kRetryHttp + "invalid status range \"504-500\": the first code must not be greater than "
                     "the second"},
       {}},
      {"RetryHttpStrayComma",
       http("", "    retry.linkerd.io/http: 502,,503\n"),
       {kRetryHttp + "empty entry in the list (check for a stray comma)"},
       {}},
      {"RetryGrpcMisspelled",
       grpc("", "    retry.linkerd.io/grpc: unavailble\n"),
       {"metadata.annotations[\"retry.linkerd.io/grpc\"]: unsupported gRPC retry condition "
        "\"unavailble\"; expected one of: cancelled, deadline-exceeded, internal, "
        "resource-exhausted, unavailable (did you mean \"unavailable\"?)"},
       {}},
      {"RetryLimitNegative",
       http("", "    retry.linkerd.io/limit: \"-1\"\n"),
       {"metadata.annotations[\"retry.linkerd.io/limit\"]: must be a non-negative integer, got "
        "\"-1\""},
       {}},
      {"RetryLimitNotAString",
       http("", "    retry.linkerd.io/limit: 3\n"),
       {"metadata.annotations[\"retry.linkerd.io/limit\"]: expected a string, got the integer 3 "
        "(quote it: \"3\")"},
       {}},
      {"RetryTimeoutWithoutUnit",
       http("", "    retry.linkerd.io/timeout: \"5\"\n"),
       {"metadata.annotations[\"retry.linkerd.io/timeout\"]: missing unit in duration \"5\" "
        "(use one of ns, us, ms, s, m, h, e.g. \"5s\")"},
       {}},
      {"TimeoutAnnotationNegative",
       http("", "    timeout.linkerd.io/request: -1s\n"),
       {"metadata.annotations[\"timeout.linkerd.io/request\"]: must not be negative, got "
        "\"-1s\""},
       {}},

      // ---- GRPCRoute ----
      {"GrpcMethodNeedsServiceOrMethod",
       grpc("  rules:\n  - matches: [{method: {type: Exact}}]\n"),
       {"spec.rules[0].matches[0].method: at least one of service or method must be set"},
       {}},
      {"GrpcServiceNameInvalid",
       grpc("  rules:\n  - matches: [{method: {service: helloworld/Greeter}}]\n"),
       {"spec.rules[0].matches[0].method.service: invalid gRPC service name "
        "\"helloworld/Greeter\": expected a fully-qualified protobuf service name such as "
        "\"helloworld.Greeter\""},
       {}},
      {"GrpcMethodNameInvalid",
       grpc("  rules:\n  - matches: [{method: {method: 9Lives}}]\n"),
       {"spec.rules[0].matches[0].method.method: invalid gRPC method name \"9Lives\": expected "
        "a method name such as \"SayHello\" (letters, digits and '_', not starting with a "
        "digit)"},
       {}},
      {"GrpcMethodRegexDoesNotCompile",
       grpc("  rules:\n  - matches: [{method: {type: RegularExpression, method: \"Say(\"}}]\n"),
       {"spec.rules[0].matches[0].method.method: invalid regular expression \"Say(\": missing ): "
        "Say( (RE2 syntax; backreferences and lookaround are not supported)"},
       {}},
      {"GrpcRedirectFilterNotAvailable",
       grpc("  rules:\n  - filters: [{type: RequestRedirect}]\n"),
       {"spec.rules[0].filters[0].type: unsupported value \"RequestRedirect\"; expected one of: "
        "RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, ExtensionRef"},
       {}},
      {"GrpcTimeoutsPointToTheAnnotation",
       grpc("  rules:\n  - timeouts: {request: 1s}\n"),
       {"spec.rules[0].timeouts: unknown field \"timeouts\"; GRPCRoute has no timeouts; use the "
        "timeout.linkerd.io/request annotation on the route (metadata.annotations)"},
       {}},

      // ---- warnings: accepted, but with no effect or not canonical ----
      {"GatewayParentIgnored",
       manifest("gateway.networking.k8s.io/v1", "HTTPRoute",
                "  parentRefs: [{name: my-gateway}]\n"),
       {},
       {"spec.parentRefs[0]: parentRefs of kind Gateway (group gateway.networking.k8s.io) are "
        "ignored: Trellis attaches routes to a Service (group core), or to a Server or an "
        "EgressNetwork (group policy.linkerd.io)"}},
      {"ServiceParentWithoutCoreGroup",
       manifest("policy.linkerd.io/v1beta3", "HTTPRoute",
                "  parentRefs: [{name: web, kind: Service}]\n"),
       {},
       {"spec.parentRefs[0]: a Service parent needs group: core (group defaults to "
        "\"policy.linkerd.io\" when omitted); this parentRef is ignored"}},
      {"NoParentRefs",
       manifest("gateway.networking.k8s.io/v1", "HTTPRoute", "  hostnames: []\n"),
       {},
       {"spec.parentRefs: the route has no parentRefs, so it is attached to nothing and has no "
        "effect"}},
      {"GrpcAnnotationOnHttpRoute",
       http("", "    retry.linkerd.io/grpc: unavailable\n"),
       {},
       {"metadata.annotations[\"retry.linkerd.io/grpc\"]: has no effect on an HTTPRoute; use "
        "retry.linkerd.io/http (or a GRPCRoute for gRPC traffic)"}},
      {"UnknownRetryAnnotation",
       http("", "    retry.linkerd.io/limits: \"2\"\n"),
       {},
       {"metadata.annotations[\"retry.linkerd.io/limits\"]: unknown annotation "
        "\"retry.linkerd.io/limits\" has no effect (did you mean \"retry.linkerd.io/limit\"?)"}},
      {"AnnotationOverridesRuleTimeout",
       http("  rules:\n  - timeouts: {request: 10s}\n", "    timeout.linkerd.io/request: 3s\n"),
       {},
       {"spec.rules[0].timeouts.request: has no effect: the timeout.linkerd.io/request "
        "annotation (3s) overrides it"}},
      {"BackendsOnAnInboundRoute",
       manifest("policy.linkerd.io/v1beta3", "HTTPRoute",
                "  parentRefs: [{name: web-http, kind: Server, group: policy.linkerd.io}]\n"
                "  rules:\n  - backendRefs: [{name: web, port: 80}]\n"),
       {},
       {"spec.rules[0].backendRefs: has no effect: every parentRef is a Server, and inbound "
        "routes deliver requests to the Server's workload"}},
      {"UnsupportedBackendKind",
       http("  rules:\n  - backendRefs: [{group: example.com, kind: Bucket, name: b}]\n"),
       {},
       {"spec.rules[0].backendRefs[0].kind: backendRef kind \"Bucket\" (group \"example.com\") "
        "is not supported: Trellis sends requests only to Services (group core) and "
        "EgressNetworks (group policy.linkerd.io), so requests for this backend fail"}},
      {"ServiceBackendWithAnotherGroup",
       http("  rules:\n  - backendRefs: [{group: apps, kind: Service, name: web, port: 80}]\n"),
       {},
       {"spec.rules[0].backendRefs[0].group: a backendRef of kind Service needs group \"\" or "
        "\"core\", not \"apps\"; it refers to no Service, so requests for this backend fail"}},
      {"EmptyHeaderModifier",
       http("  rules:\n  - filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}}]\n"),
       {},
       {"spec.rules[0].filters[0].requestHeaderModifier: has no effect: set, add and remove are "
        "all empty"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Table, RouteBadInput, ::testing::ValuesIn(bad_inputs()),
                         [](const ::testing::TestParamInfo<BadInput>& info) {
                           return info.param.name;
                         });

TEST(RouteDiagnostics, ReportsEveryProblemAtOnce) {
  auto r =
      decode_yaml(http("  hostnames: [\"Bad_Host\"]\n  rules:\n"
                       "  - matches: [{path: {value: nope}, method: GETT}]\n"
                       "    backendRefs: [{name: web}]\n",
                       "    retry.linkerd.io/http: \"99\"\n"));
  EXPECT_THAT(r.errors(),
              ElementsAre(kRetryHttp + "status code 99 is out of range [100, 599]",
                          "spec.hostnames[0]: invalid hostname \"Bad_Host\": must consist of "
                          "lower case alphanumeric characters, '-' or '.' (e.g. 'example.com')",
                          "spec.rules[0].matches[0].path.value: invalid path \"nope\": must be "
                          "an absolute path starting with \"/\" (type PathPrefix)",
                          "spec.rules[0].matches[0].method: unsupported value \"GETT\"; expected "
                          "one of: GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH "
                          "(did you mean \"GET\"?)",
                          "spec.rules[0].backendRefs[0].port: missing required field (a "
                          "backendRef of kind Service needs a port)"));
}

}  // namespace
}  // namespace trellis::resources
