#include "resources/workload.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, ExternalWorkload&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, Link&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
