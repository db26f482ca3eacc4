#include "resources/service_profile.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, ServiceProfile&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
