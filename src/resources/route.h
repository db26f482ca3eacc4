#pragma once
// HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io) and GRPCRoute.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct HttpRoute {};
struct GrpcRoute {};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, HttpRoute& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, GrpcRoute& out);

}  // namespace trellis::resources
