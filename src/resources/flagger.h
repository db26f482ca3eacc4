#pragma once
// flagger.app Canary and MetricTemplate.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

struct Canary {};
struct MetricTemplate {};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Canary& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, MetricTemplate& out);

}  // namespace trellis::resources
