#pragma once
// Endpoint resolution: what Destination.Get and GetProfile answer for a path.
//
//   path "web", "web.ns", "web.ns.svc", "web.ns.svc.cluster.local" (optionally with a trailing
//   dot), each with an optional ":port" (default 80); short names resolve in the context
//   namespace ("default" when none is given) — or an IP:port: a Service's ClusterIP, a pod IP
//   (that single pod) or an ExternalWorkload's IP.
//
//   Service with a selector  → ready Pods it selects (targetPort numeric or named via the pod's
//                              container ports) + ExternalWorkloads it selects
//   Service without selector → its EndpointSlices (kubernetes.io/service-name), else its
//                              Endpoints object
//
// Every answer is a complete state (see api/destination.proto): streams recompute it after a
// relevant change and send it when it differs from the last one sent.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/destination.pb.h"
#include "control/store/store.h"
#include "tls/identity.h"

namespace trellis::control::destination {

namespace api = trellis::api::destination::v1;

// The kinds the traffic policy compiler reads (besides Services).
inline constexpr const char* kTrafficKinds[] = {"ServiceProfile", "TrafficSplit", "HTTPRoute",
                                                "GRPCRoute"};

// Every input of traffic::compile in a snapshot: Services and the kinds above.
std::vector<const resources::Resource*> traffic_inputs(const store::Snapshot& snapshot);

// Linkerd's default endpoint weight.
inline constexpr uint32_t kDefaultWeight = 10000;

struct ResolverOptions {
  std::string cluster_domain = "cluster.local";
  tls::IdentityDomain identity_domain;
};

struct Target {
  enum class Kind { kService, kAddress, kInvalid };
  Kind kind = Kind::kInvalid;
  std::string name;  // kService
  std::string ns;    // kService
  std::string ip;    // kAddress, canonical text
  uint32_t port = 80;
};

// Parses a path as described above.
Target parse_target(std::string_view path, std::string_view context_namespace,
                    std::string_view cluster_domain);

class Resolver {
 public:
  explicit Resolver(ResolverOptions options) : options_(std::move(options)) {}

  api::Update resolve(const store::Snapshot& snapshot, const Target& target) const;
  // GetProfile's answer: the Service's name and its compiled traffic policy (control/traffic,
  // contract C-9) for the target port, as seen by a client in `client_namespace` (consumer
  // routes and client-side ServiceProfile overrides of that namespace apply). Not a Service:
  // an empty Profile.
  api::Profile profile(const store::Snapshot& snapshot, const Target& target,
                       std::string_view client_namespace = {}) const;

  // False only when the change cannot affect the answer for `target` (objects of other
  // namespaces); streams skip recomputing then.
  static bool affects(const store::Change& change, const Target& target);
  // The same for profile(): traffic resources anywhere may name the target.
  static bool affects_profile(const store::Change& change, const Target& target,
                              std::string_view client_namespace);

  // "web.emojivoto.svc.cluster.local"
  std::string fqdn(const std::string& name, const std::string& ns) const {
    return name + "." + ns + ".svc." + options_.cluster_domain;
  }
  const ResolverOptions& options() const { return options_; }

 private:
  api::Update resolve_service(const store::Snapshot& snapshot, const store::Object& service,
                              uint32_t port) const;
  void add_pod_endpoint(const store::Snapshot& snapshot, const store::Object& pod,
                        const std::string& ip, int32_t port, api::Update& out) const;

  ResolverOptions options_;
};

}  // namespace trellis::control::destination
