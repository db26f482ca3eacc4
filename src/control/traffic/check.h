#pragma once
// Every problem of the traffic configuration in a set of resources, for `trellis validate`,
// `trellis check` and the control plane's status: compile() run for every Service port the
// resources define (and, for partial manifests, for the Services their ServiceProfiles,
// TrafficSplits and routes name but do not define), as every client namespace that has traffic
// resources sees it. Problems are deduplicated and sorted by location.

#include <string>
#include <vector>

#include "resources/diagnostics.h"
#include "resources/resource.h"

namespace trellis::control::traffic {

struct CheckOptions {
  std::string cluster_domain = "cluster.local";
  // The resources are some manifests, not the whole cluster (`trellis validate -f`): Services
  // they do not define may exist. Then the Services that traffic resources name are compiled
  // even when undefined, and missing backend Services are not reported (resources::cross_check
  // already says that they must exist in the cluster).
  bool partial = false;
};

resources::Diagnostics check(const std::vector<const resources::Resource*>& store,
                             const CheckOptions& options = {});
resources::Diagnostics check(const std::vector<resources::Resource>& store,
                             const CheckOptions& options = {});

}  // namespace trellis::control::traffic
