#pragma once
// Starting a container's process the way `ip netns exec` would, without a shell: in its own
// session (so the whole process group can be signalled), inside the pod's network namespace,
// with the pod's hosts file bind-mounted over /etc/hosts in a private mount namespace, stdout
// and stderr appended to the container's log file.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace trellis::runtime {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is the resolved executable path
  std::vector<std::string> env;   // "NAME=value", the whole environment
  std::string working_dir;        // empty: /
  std::string netns;              // name under /run/netns; empty: stay in ours
  std::string hosts_file;         // bind-mounted over /etc/hosts; empty: none
  std::string hostname;           // in a UTS namespace of its own; empty: the host's
  std::string log_file;           // stdout + stderr appended here; empty: /dev/null
  std::optional<uid_t> uid;       // run as this user (and group of the same number)
};

base::Result<pid_t, std::string> spawn(const SpawnSpec& spec);

// Moves the calling (single-threaded) process into a pod: its network namespace, and a private
// mount namespace where `hosts_file` is /etc/hosts, with the pod's hostname. Used by `trellis exec` before execvp.
base::Result<base::Ok, std::string> enter_pod(const std::string& netns,
                                              const std::string& hosts_file,
                                              const std::string& hostname = {});

}  // namespace trellis::runtime
