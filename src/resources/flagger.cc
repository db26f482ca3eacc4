#include "resources/flagger.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, Canary&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, MetricTemplate&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
