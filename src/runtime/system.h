#pragma once
// Small POSIX helpers the runtime is built on: running a tool (`ip`, `iptables-restore`) and
// capturing its output, atomic file writes, process identity (pid + start time, so that a pid
// reused by the kernel is never mistaken for one of ours) and killing process groups.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace trellis::runtime {

struct CommandOutput {
  int exit_code = 0;
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (searched in PATH) with `input` on stdin and waits for it. Errors are failures
// to start; a non-zero exit is reported in exit_code.
base::Result<CommandOutput, std::string> run_command(const std::vector<std::string>& argv,
                                                     const std::string& input = {});

// run_command that turns a non-zero exit into an error naming the command and its output.
base::Result<base::Ok, std::string> run_checked(const std::vector<std::string>& argv,
                                                const std::string& input = {});

// Writes via a temporary file in the same directory + rename, so readers never see a part.
base::Result<base::Ok, std::string> write_file_atomic(const std::string& path,
                                                      const std::string& content,
                                                      unsigned mode = 0644);
// write_file_atomic for a file another user must own (a proxy's token: 0400, UID 2102).
base::Result<base::Ok, std::string> write_file_owned(const std::string& path,
                                                     const std::string& content, unsigned mode,
                                                     uid_t uid, gid_t gid);
// Rewrites a file in place (same inode): needed for files bind-mounted into running processes.
base::Result<base::Ok, std::string> write_file_in_place(const std::string& path,
                                                        const std::string& content);
std::optional<std::string> read_file(const std::string& path);

// The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or nullopt
// when there is no such process.
std::optional<uint64_t> process_start_time(pid_t pid);
// True when `pid` exists and is still the process that started at `start_time`.
bool same_process(pid_t pid, uint64_t start_time);

// Resolves a command's first word: a path is kept; a bare name is looked up first in
// `bin_dir`, then in PATH. Returns the path or an empty string.
std::string resolve_executable(const std::string& name, const std::string& bin_dir);

// The directory holding the running executable (/proc/self/exe).
std::string self_directory();

std::string now_rfc3339();
// "5s", "3m", "2h", "4d": kubectl's AGE column.
std::string format_age(int64_t seconds);

}  // namespace trellis::runtime
