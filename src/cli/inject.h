#pragma once
// `trellis inject -f FILE|DIR|- [--manual] [--ingress]` and `trellis uninject -f ...`: print the
// manifests with the proxy injected (the linkerd.io/inject annotation, or with --manual the full
// sidecar) or removed, like `linkerd inject/uninject`. One line per object goes to stderr.

#include <iosfwd>
#include <string>
#include <vector>

#include "inject/manifest.h"

namespace trellis::cli {

struct InjectCommandOptions {
  std::vector<std::string> paths;  // files, directories, or "-"
  inject::TransformOptions transform;
};

// Exit codes: 0 = done, 1 = some objects could not be processed (bad annotations, invalid
// YAML; they are printed unchanged), 2 = usage or I/O error.
int run_inject(const InjectCommandOptions& options, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace trellis::cli
