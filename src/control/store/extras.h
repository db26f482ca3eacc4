#pragma once
// Reads ObjectExtras (Pod status, ownerReferences, deletionTimestamp) from manifest text. The
// resource decoders validate and skip these fields; discovery needs them, so they are read here
// from the same YAML/JSON, keyed by kind/namespace/name as written.

#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "control/store/object.h"

namespace trellis::control::store {

// (kind, namespace as written, name)
using RawKey = std::tuple<std::string, std::string, std::string>;

// Extras of every Pod in `text` (one or more YAML documents, or JSON; List kinds expanded).
// Anything that does not parse is skipped silently: the resource loader reports it.
std::map<RawKey, ObjectExtras> extract_extras(std::string_view text);

}  // namespace trellis::control::store
