#pragma once
// `trellis validate -f PATH|DIR|- [-o text|json]`

#include <iosfwd>
#include <string>
#include <vector>

namespace trellis::cli {

struct ValidateOptions {
  std::vector<std::string> paths;  // files, directories, or "-"
  std::string output = "text";     // text | json
};

// Exit codes: 0 = no errors (warnings allowed), 1 = errors in manifests, 2 = usage or I/O error.
int run_validate(const ValidateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace trellis::cli
