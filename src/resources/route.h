#pragma once
// HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io) and GRPCRoute.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.
//
// Every policy.linkerd.io version (v1alpha1..v1beta3) and every gateway.networking.k8s.io
// version (v1alpha2, v1beta1, v1) of HTTPRoute decodes into one HttpRoute; `group` records
// which API it came from. Defaults from the CRDs are filled in, so the control plane never has
// to know which version was written: a route without rules has one rule matching PathPrefix
// "/", a match without a path matches PathPrefix "/", a backend without a weight has weight 1.
//
// The retry.linkerd.io/* and timeout.linkerd.io/* annotations are parsed here too, by functions
// a Service decoder can call on the Service's own annotations (route annotations override the
// Service's as a whole: if a route has any retry annotation, none of the Service's apply).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

// ---------------------------------------------------------------------------------------------
// retry.linkerd.io/* and timeout.linkerd.io/* annotations (Service, HTTPRoute, GRPCRoute)
// ---------------------------------------------------------------------------------------------

inline constexpr uint32_t kDefaultRetryLimit = 1;

// An inclusive range of HTTP status codes; "503" is {503, 503}, "5xx" is {500, 599},
// "gateway-error" is {502, 504}.
struct StatusRange {
  int min = 0;
  int max = 0;
  bool contains(int status) const { return status >= min && status <= max; }
  friend bool operator==(const StatusRange&, const StatusRange&) = default;
};

enum class GrpcRetryCondition {
  kCancelled,
  kDeadlineExceeded,
  kInternal,
  kResourceExhausted,
  kUnavailable
};

// The retry policy written with retry.linkerd.io/* annotations.
struct RetryPolicy {
  // Whether any retry.linkerd.io/* annotation is present. A route with retry annotations
  // replaces the Service's retry policy as a whole, so "configured but empty" matters.
  bool configured = false;
  // retry.linkerd.io/http: response statuses that are retried. Unset: none were written.
  std::optional<std::vector<StatusRange>> http_conditions;
  // retry.linkerd.io/grpc: gRPC status codes that are retried. Unset: none were written.
  std::optional<std::vector<GrpcRetryCondition>> grpc_conditions;
  // retry.linkerd.io/limit: maximum retries per request. Unset: kDefaultRetryLimit.
  std::optional<uint32_t> limit;
  // retry.linkerd.io/timeout: per-attempt timeout after which the attempt is cancelled and
  // retried. Unset: no per-attempt timeout.
  std::optional<base::Duration> timeout;

  uint32_t max_retries() const { return limit.value_or(kDefaultRetryLimit); }
};

// Timeouts written with timeout.linkerd.io/* annotations. Unset means no timeout; a zero
// duration also means no timeout.
struct TimeoutPolicy {
  std::optional<base::Duration> request;   // whole request/response stream, retries included
  std::optional<base::Duration> response;  // until the backend's response completes
  std::optional<base::Duration> idle;      // idle stream
  bool configured() const { return request || response || idle; }
};

// Which kind of resource carries the annotations: retry.linkerd.io/http has no effect on a
// GRPCRoute and retry.linkerd.io/grpc none on an HTTPRoute; a Service takes both.
enum class RetryProtocol { kHttp, kGrpc, kAny };

// Parses the retry.linkerd.io/* annotations in `annotations` (the object's decoded
// metadata.annotations). Bad values are errors, and unknown retry.linkerd.io/* keys and
// annotations that do not apply to `protocol` are warnings, all reported on
// metadata.annotations["..."] of the document `root` is the root of.
RetryPolicy parse_retry_annotations(Node& root,
                                    const std::map<std::string, std::string>& annotations,
                                    RetryProtocol protocol);
// Same for timeout.linkerd.io/{request,response,idle}.
TimeoutPolicy parse_timeout_annotations(Node& root,
                                        const std::map<std::string, std::string>& annotations);

// ---------------------------------------------------------------------------------------------
// Shared route pieces
// ---------------------------------------------------------------------------------------------

enum class RouteGroup { kPolicy, kGateway };  // policy.linkerd.io or gateway.networking.k8s.io

// What a parentRef attaches the route to, as far as Trellis is concerned.
enum class ParentKind {
  kService,        // group "" / "core", kind Service: outbound routes for that Service
  kServer,         // policy.linkerd.io Server: inbound routes (matching and authorization)
  kEgressNetwork,  // policy.linkerd.io EgressNetwork: egress routes (port required)
  kOther,          // anything else (e.g. a Gateway): Trellis ignores this parentRef
};

struct ParentRef {
  std::string group;  // after defaulting; "core" is normalized to ""
  std::string kind;   // after defaulting
  ParentKind parent_kind = ParentKind::kOther;
  std::string name;
  std::string ns;               // empty: the route's own namespace
  std::optional<int32_t> port;  // unset: every port of the parent
  std::string section_name;     // empty: unset
};

// A reference to a backend object (backendRefs[], RequestMirror.backendRef).
struct BackendObjectRef {
  std::string group;  // "" is the core group ("core" is normalized to "")
  std::string kind = "Service";
  std::string name;
  std::string ns;  // empty: the route's own namespace
  // Unset only where the schema allows it (policy.linkerd.io routes): the port of the parentRef
  // the request arrived through.
  std::optional<int32_t> port;
  bool is_service() const { return group.empty() && kind == "Service"; }
};

enum class ValueMatchType { kExact, kRegularExpression };

// A header (or gRPC metadata) or query-parameter match. Regexes were validated with RE2.
struct ValueMatch {
  std::string name;  // header names as written; compare case-insensitively
  ValueMatchType type = ValueMatchType::kExact;
  std::string value;
};

struct HeaderValue {
  std::string name;
  std::string value;
};

// RequestHeaderModifier / ResponseHeaderModifier.
struct HeaderModifier {
  std::vector<HeaderValue> set;     // replace (or add) the header
  std::vector<HeaderValue> add;     // append a value
  std::vector<std::string> remove;  // header names to drop
};

enum class PathModifierType { kReplaceFullPath, kReplacePrefixMatch };

struct PathModifier {
  PathModifierType type = PathModifierType::kReplaceFullPath;
  std::string value;  // the new full path, or what replaces the matched prefix
};

struct RequestRedirect {
  std::string scheme;                // "http" | "https"; empty: the request's scheme
  std::string hostname;              // empty: the request's host
  std::optional<PathModifier> path;  // unset: the request's path
  // Unset: the request's port when the scheme is unchanged, else the scheme's well-known port.
  std::optional<int32_t> port;
  int status_code = 302;
};

struct UrlRewrite {
  std::string hostname;  // empty: unchanged
  std::optional<PathModifier> path;
};

// Copies each selected request to another backend and discards its response. `numerator` /
// `denominator` is the share of requests mirrored (percent p is p/100; default all).
struct RequestMirror {
  BackendObjectRef backend;
  int64_t numerator = 100;
  int64_t denominator = 100;
};

enum class FilterType {
  kRequestHeaderModifier,
  kResponseHeaderModifier,
  kRequestRedirect,  // HTTPRoute only
  kUrlRewrite,       // HTTPRoute only
  kRequestMirror,
};

// One filter; only the member matching `type` is meaningful.
struct RouteFilter {
  FilterType type = FilterType::kRequestHeaderModifier;
  HeaderModifier header_modifier;  // kRequestHeaderModifier, kResponseHeaderModifier
  RequestRedirect redirect;
  UrlRewrite rewrite;
  RequestMirror mirror;
};

struct BackendRef {
  BackendObjectRef ref;
  // Relative weight, 0..1,000,000. policy.linkerd.io v1alpha1/v1beta1 have no weights: always 1.
  int64_t weight = 1;
  std::vector<RouteFilter> filters;  // applied only to requests sent to this backend
};

// ---------------------------------------------------------------------------------------------
// HTTPRoute
// ---------------------------------------------------------------------------------------------

enum class PathMatchType { kExact, kPathPrefix, kRegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
};

// All conditions of one match must hold (AND); the matches of a rule are alternatives (OR).
struct HttpRouteMatch {
  PathMatch path;
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query_params;  // names are case-sensitive
  std::string method;                    // empty: any method
};

// rules[].timeouts (policy.linkerd.io/v1beta3, gateway.networking.k8s.io/v1). Zero disables.
struct HttpRouteTimeouts {
  std::optional<base::Duration> request;          // whole request, retries included
  std::optional<base::Duration> backend_request;  // each attempt to a backend
};

struct HttpRouteRule {
  std::string name;                     // rules[].name, empty when unset
  std::vector<HttpRouteMatch> matches;  // never empty (default: PathPrefix "/")
  std::vector<RouteFilter> filters;
  // Empty: requests go to the parent itself (the parent Service for outbound routes), unless a
  // RequestRedirect answers them.
  std::vector<BackendRef> backend_refs;
  HttpRouteTimeouts timeouts;
};

struct HttpRoute {
  RouteGroup group = RouteGroup::kGateway;
  std::vector<ParentRef> parent_refs;
  std::vector<std::string> hostnames;  // "*.example.com" wildcards allowed; empty: any host
  std::vector<HttpRouteRule> rules;    // never empty
  RetryPolicy retry;                   // from retry.linkerd.io/* annotations
  // From timeout.linkerd.io/* annotations; `request` wins over rules[].timeouts.request.
  TimeoutPolicy timeouts;
};

// ---------------------------------------------------------------------------------------------
// GRPCRoute
// ---------------------------------------------------------------------------------------------

struct GrpcMethodMatch {
  ValueMatchType type = ValueMatchType::kExact;
  std::string service;  // e.g. "helloworld.Greeter"; empty: any service
  std::string method;   // e.g. "SayHello"; empty: any method
};

struct GrpcRouteMatch {
  std::optional<GrpcMethodMatch> method;  // unset: any method
  std::vector<ValueMatch> headers;
};

struct GrpcRouteRule {
  std::string name;
  std::vector<GrpcRouteMatch> matches;   // never empty (default: one match-everything)
  std::vector<RouteFilter> filters;      // header modifiers and RequestMirror only
  std::vector<BackendRef> backend_refs;  // empty: requests go to the parent
};

struct GrpcRoute {
  std::vector<ParentRef> parent_refs;
  std::vector<std::string> hostnames;
  std::vector<GrpcRouteRule> rules;  // never empty
  RetryPolicy retry;
  TimeoutPolicy timeouts;
};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, HttpRoute& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, GrpcRoute& out);

// Hostname grammar of Gateway API: a lower-case DNS name, optionally with a leading "*."
// label when `allow_wildcard`. Returns an empty string when valid, else what is wrong.
std::string check_route_hostname(std::string_view s, bool allow_wildcard);

}  // namespace trellis::resources
