#include "resources/route.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, HttpRoute&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, GrpcRoute&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
