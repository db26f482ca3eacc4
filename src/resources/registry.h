#pragma once
// The table of every kind Trellis reads (DESIGN.md §5): group, served versions, scope and
// decoder; the seed-variant aliases; and what to say about other meshes' resources.

#include <string>
#include <string_view>
#include <vector>

#include "resources/reader.h"
#include "resources/resource.h"

namespace trellis::resources {

struct KindInfo {
  std::string_view group;
  std::string_view kind;
  std::vector<std::string_view> versions;  // served versions, oldest first
  bool namespaced = true;
  // Versions that still work but are deprecated, with the version to move to.
  std::vector<std::pair<std::string_view, std::string_view>> deprecated;
  void (*decode)(Node& root, const TypeMeta& type, const ObjectMeta& meta, Resource& out) = nullptr;
};

const std::vector<KindInfo>& known_kinds();

// Splits "group/version" (or "v1") into group and version.
std::pair<std::string, std::string> split_api_version(std::string_view api_version);

// Decodes one object (a map with apiVersion/kind/metadata) into `out`. Returns false when the
// object is not a Trellis kind (ignored, possibly with a warning) or is too broken to use.
// Every problem goes to ctx.diags.
bool decode_object(Node& root, Resource& out);

}  // namespace trellis::resources
