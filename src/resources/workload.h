#pragma once
// workload.linkerd.io ExternalWorkload and multicluster.linkerd.io Link.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct ExternalWorkload {};
struct Link {};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ExternalWorkload& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Link& out);

}  // namespace trellis::resources
