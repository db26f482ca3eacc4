#pragma once
// The local runtime's commands: up, down, apply, delete, get, logs, exec (src/runtime does the
// work; these parse flags, talk to the runtime daemon and print kubectl-like output).

#include <string>

namespace trellis::cli {

// Default state directory of the local runtime (env TRELLIS_STATE_DIR overrides it).
inline constexpr const char* kDefaultStateDir = "/run/trellis";

}  // namespace trellis::cli
