#pragma once
// Loading manifests: files, directories and standard input, in YAML (multi-document) or JSON,
// with `List` kinds expanded, into Resources plus Diagnostics for everything wrong.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "resources/diagnostics.h"
#include "resources/resource.h"

namespace trellis::resources {

inline constexpr size_t kMaxManifestBytes = 16 * 1024 * 1024;

// Decodes every object in `text`. Objects that decode (even with errors reported) are appended
// to `out`; objects that are not Trellis kinds are skipped. Never throws.
void load_text(std::string_view text, const std::string& file, std::vector<Resource>& out,
               Diagnostics& diags);

// The manifest files under `path`: the file itself, or every *.yaml, *.yml and *.json below a
// directory (recursively, sorted, hidden entries skipped). Errors are I/O problems.
base::Result<std::vector<std::string>, std::string> collect_manifest_files(const std::string& path);

// Reads and decodes one file ("-" is standard input). I/O problems are returned as errors;
// content problems go to `diags`.
base::Result<base::Ok, std::string> load_file(const std::string& path, std::vector<Resource>& out,
                                              Diagnostics& diags);

}  // namespace trellis::resources
