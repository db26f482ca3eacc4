#include "resources/core.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, Namespace&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, Service&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, Endpoints&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, EndpointSlice&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, Pod&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, Deployment&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, ServiceAccount&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, HorizontalPodAutoscaler&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
