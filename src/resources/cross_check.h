#pragma once
// Checks across the objects of one validation run: references to Services, Servers,
// authentications, Deployments and MetricTemplates that are not among the manifests.
//
// A reference can legitimately point at an object that exists only in the cluster, so a missing
// target is a warning, and only when the manifests define other objects of that kind in the
// same namespace (validating a single file stays quiet). Objects defined twice are warned about
// because the later one silently replaces the earlier on apply.

#include <vector>

#include "resources/diagnostics.h"
#include "resources/resource.h"

namespace trellis::resources {

void cross_check(const std::vector<Resource>& resources, Diagnostics& diags);

}  // namespace trellis::resources
