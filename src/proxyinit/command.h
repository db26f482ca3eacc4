#pragma once
// `trellis-proxy init [flags] [--dry-run]`: the init container's iptables set-up (contract C-8).
// apps/trellis-proxy dispatches here when its first argument is `init`.

namespace trellis::proxyinit {

// argv[0] is "init". Returns the exit code: 0 ok, 1 iptables failed, 2 usage error.
int init_main(int argc, char** argv);

}  // namespace trellis::proxyinit
