#include "resources/traffic_split.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, TrafficSplit&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
