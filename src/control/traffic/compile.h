#pragma once
// Compiles the traffic resources that apply to one Service port (ServiceProfile, TrafficSplit,
// HTTPRoute of both API groups, GRPCRoute, the Service's retry/timeout annotations) into the
// effective TrafficPolicy the proxy executes (api/traffic.proto). See README.md for the
// precedence rules.

#include <cstdint>
#include <string>
#include <vector>

#include "api/traffic.pb.h"
#include "resources/diagnostics.h"
#include "resources/resource.h"

namespace trellis::control::traffic {

struct Options {
  std::string cluster_domain = "cluster.local";
  // The namespace of the client asking. A ServiceProfile for the service that lives in this
  // namespace (a client-side override) wins over the one in the service's namespace. Empty:
  // no client overrides.
  std::string client_namespace;
  // False when `store` is not the whole cluster (`trellis validate` on some manifests): a
  // backend Service the store lacks may exist, so it is not reported (resources::cross_check
  // says it must exist already).
  bool report_missing_services = true;
};

struct Compiled {
  api::traffic::v1::TrafficPolicy policy;
  // Everything worth telling the user, attributed to the resource it is about: errors (e.g. a
  // TrafficSplit whose weights are all zero) and warnings (e.g. a backend Service that does not
  // exist, an HTTPRoute ignored because a ServiceProfile takes precedence). Sorted by location.
  resources::Diagnostics problems;
};

// `service` must hold a resources::Service; `port` is one of its ports (a port the Service does
// not declare is reported and compiled anyway). `store` is every resource known (others' kinds
// are ignored; the Service itself may be among them). Deterministic: the same inputs give the
// same policy, whatever their order in `store`.
Compiled compile(const resources::Resource& service, int32_t port,
                 const std::vector<resources::Resource>& store, const Options& options = {});
Compiled compile(const resources::Resource& service, int32_t port,
                 const std::vector<const resources::Resource*>& store,
                 const Options& options = {});

}  // namespace trellis::control::traffic
