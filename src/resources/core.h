#pragma once
// Kubernetes core kinds Trellis reads: workloads, services and their endpoints.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct Namespace {};
struct Service {};
struct Endpoints {};
struct EndpointSlice {};
struct Pod {};
struct Deployment {};
struct ServiceAccount {};
struct HorizontalPodAutoscaler {};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Namespace& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Service& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Endpoints& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, EndpointSlice& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Pod& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Deployment& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ServiceAccount& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, HorizontalPodAutoscaler& out);

}  // namespace trellis::resources
