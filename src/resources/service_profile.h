#pragma once
// linkerd.io ServiceProfile (v1alpha1, v1alpha2).
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.
//
// Both served versions have the same schema; they decode to one ServiceProfile. Request and
// response conditions become small match trees (the shape of linkerd2-proxy-api's
// RequestMatch / ResponseMatch): a condition that sets several keys is the `all` of them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

// A request condition. Leaves test the path or the method; inner nodes combine children.
struct ProfileRequestMatch {
  enum class Kind { kAll, kAny, kNot, kPathRegex, kMethod };
  Kind kind = Kind::kAll;
  // kPathRegex: the pattern as written (RE2-validated), and the form the proxy compiles:
  // Linkerd matches the whole path, so the pattern is anchored as ^(?:re)$.
  std::string path_regex;
  std::string anchored_path_regex;
  // kMethod: the method token, compared case-sensitively (RFC 9110).
  std::string method;
  // kAll / kAny: the operands (an empty kAll matches everything, an empty kAny nothing);
  // kNot: exactly one operand.
  std::vector<ProfileRequestMatch> children;
};

// An inclusive HTTP status range; a bound left out in the manifest is the widest value.
struct ProfileStatusRange {
  int min = 100;
  int max = 599;
};

// A response condition, shaped like ProfileRequestMatch.
struct ProfileResponseMatch {
  enum class Kind { kAll, kAny, kNot, kStatus };
  Kind kind = Kind::kAll;
  ProfileStatusRange status;                   // kStatus
  std::vector<ProfileResponseMatch> children;  // kAll / kAny operands; kNot: exactly one
};

// Classes are tried in order and the first match decides. With no classes the default
// classifier applies (5xx and gRPC errors are failures).
struct ProfileResponseClass {
  ProfileResponseMatch condition;
  bool is_failure = false;
};

struct ProfileRoute {
  std::string name;  // unique within the profile; the rt_route metric label
  ProfileRequestMatch condition;
  std::vector<ProfileResponseClass> response_classes;
  bool is_retryable = false;
  // Covers the whole request including retries; unset means no route timeout.
  std::optional<base::Duration> timeout;
};

// Retries may add at most retry_ratio extra requests per original request, averaged over
// ttl, plus min_retries_per_second regardless of traffic.
struct ProfileRetryBudget {
  double retry_ratio = 0.2;
  uint32_t min_retries_per_second = 10;
  base::Duration ttl = std::chrono::seconds(10);  // kept within [1s, 60s]
};

// A weighted destination that replaces the service's own (used for traffic shifting).
struct ProfileDstOverride {
  std::string authority;  // as written: "web-v2.emojivoto.svc.cluster.local:80"
  std::string host;       // DNS name or IP address (IPv6 without brackets)
  uint16_t port = 0;
  int64_t weight_milli = 0;  // quantity in thousandths: "500m" -> 500, 1 -> 1000
};

struct ServiceProfile {
  // From metadata.name "<service>.<namespace>.svc.<cluster domain>".
  std::string fqdn;
  std::string service;
  std::string service_namespace;
  std::string cluster_domain;  // "cluster.local" unless the cluster uses another domain
  // True when the profile lives in a namespace other than the service's: it then applies
  // only to clients in its own namespace, overriding the service's profile for them.
  bool client_override = false;

  std::vector<ProfileRoute> routes;  // the first matching route wins
  ProfileRetryBudget retry_budget;   // Linkerd's defaults unless spec.retryBudget is set
  bool retry_budget_set = false;
  std::vector<ProfileDstOverride> dst_overrides;
  std::vector<uint16_t> opaque_ports;  // sorted, without duplicates
};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ServiceProfile& out);

}  // namespace trellis::resources
