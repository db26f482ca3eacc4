#include "resources/policy.h"

namespace trellis::resources {

void decode(Node& root, const TypeMeta&, const ObjectMeta&, Server&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, ServerAuthorization&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, AuthorizationPolicy&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, MeshTLSAuthentication&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, NetworkAuthentication&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, HttpLocalRateLimitPolicy&) { root.ignore({"spec"}); }
void decode(Node& root, const TypeMeta&, const ObjectMeta&, EgressNetwork&) { root.ignore({"spec"}); }

}  // namespace trellis::resources
