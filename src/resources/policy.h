#pragma once
// policy.linkerd.io authorization, rate-limit and egress kinds.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct Server {};
struct ServerAuthorization {};
struct AuthorizationPolicy {};
struct MeshTLSAuthentication {};
struct NetworkAuthentication {};
struct HttpLocalRateLimitPolicy {};
struct EgressNetwork {};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Server& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ServerAuthorization& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, AuthorizationPolicy& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, MeshTLSAuthentication& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, NetworkAuthentication& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, HttpLocalRateLimitPolicy& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, EgressNetwork& out);

}  // namespace trellis::resources
