#pragma once
// split.smi-spec.io TrafficSplit (v1alpha1..v1alpha4) and its seed variants.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.
//
// Versions differ in the weight type: v1alpha1 weights are Kubernetes quantities ("900m",
// 1), v1alpha2 and later are integers. Both become milli-units, so 1 (v1alpha1) and "1000m"
// are 1000 while 100 (v1alpha2) is 100000; weights are relative, so only ratios within one
// split matter. v1alpha3 and v1alpha4 add `matches` (HTTPRouteGroup references).
// Seed variant: `spec.trafficRouting[].backend.serviceName` is read as `spec.backends[].service`.

#include <cstdint>
#include <string>
#include <vector>

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct TrafficSplitBackend {
  std::string service;  // a Service in the split's namespace
  int64_t weight_milli = 0;
};

// A reference to the SMI traffic spec that selects the requests being split.
struct TrafficSplitMatch {
  std::string kind = "HTTPRouteGroup";
  std::string name;  // in the split's namespace
};

struct TrafficSplit {
  std::string service;  // the apex Service that clients address
  std::vector<TrafficSplitBackend> backends;
  // Empty: every request to the apex is split. Otherwise only requests matching one of
  // these route groups are split; the rest go to the apex service itself.
  std::vector<TrafficSplitMatch> matches;

  // Sum of the backend weights (at least one is non-zero in a valid split).
  int64_t total_weight_milli() const;
};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, TrafficSplit& out);

}  // namespace trellis::resources
