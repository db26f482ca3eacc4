#pragma once
// Running iptables for `trellis-proxy init`: picks the backend the machine's `iptables` uses
// (legacy or nf_tables: rules written with the other one would be invisible to it), runs each
// command through fork/exec with an argument vector (never a shell), and reports failures with
// the command and its output.

#include <iosfwd>
#include <string>
#include <vector>

#include "base/result.h"
#include "proxyinit/rules.h"

namespace trellis::proxyinit {

enum class Mode { kAuto, kLegacy, kNft, kPlain };
base::Result<Mode, std::string> parse_mode(std::string_view text);

struct Firewall {
  std::string iptables;       // absolute path
  std::string iptables_save;  // absolute path
  std::string backend;        // "legacy", "nft" or "plain" (as found)
};

// Finds `name` on PATH and in the sbin directories (root's PATH is not always inherited);
// a name with a '/' is used as is. Empty when not found.
std::string find_binary(const std::string& name);

// `iptables --version` says "(nf_tables)" or "(legacy)".
std::string backend_from_version(std::string_view version_output);

// Resolves the binaries: explicit paths win, then the mode; kAuto asks `iptables --version`.
base::Result<Firewall, std::string> select_firewall(Mode mode, const std::string& bin_override,
                                                    const std::string& save_override);

struct RunResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr together
};
// Runs argv[0] (an absolute path) with argv; errors only when it cannot be started.
base::Result<RunResult, std::string> run(const std::vector<std::string>& argv);

// Moves this process into the network namespace at `path` (/var/run/netns/NAME or
// /proc/PID/ns/net); the iptables children inherit it.
base::Result<base::Ok, std::string> enter_netns(const std::string& path);

// Installs the rules (or with dry_run, prints the commands it would run for an empty table).
// Progress and errors go to `out`/`err`; returns the process exit code (0 ok, 1 failure).
int install(const Options& options, const Firewall& firewall, bool dry_run, std::ostream& out,
            std::ostream& err);

// The shell-quoted form of a command, for messages and --dry-run.
std::string format_command(const std::vector<std::string>& argv);

}  // namespace trellis::proxyinit
