#pragma once
// split.smi-spec.io TrafficSplit (v1alpha1..v1alpha4) and its seed variants.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct TrafficSplit {};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, TrafficSplit& out);

}  // namespace trellis::resources
