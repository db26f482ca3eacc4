#pragma once

#include <string>

namespace trellis::resources {

// The group/version/kind an object was decoded as (after seed-variant aliasing), e.g.
// {"split.smi-spec.io", "v1alpha1", "TrafficSplit"}. The core group is "".
struct TypeMeta {
  std::string group;
  std::string version;
  std::string kind;
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

}  // namespace trellis::resources
