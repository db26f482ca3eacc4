#pragma once
// The ledger: an append-only record, in the state directory, of everything the runtime creates
// outside its own memory (network namespaces, host links, /etc/netns directories, processes).
// Each entry is written (and flushed) BEFORE the thing is created, and a removal line after it
// is gone, so that `trellis down` after a crashed daemon can still remove every leftover:
//
//   + netns trellis-demo-web-5d9c
//   + pid 4242 1234567          (pid, start time in clock ticks: never kill a reused pid)
//   - pid 4242
//
// cleanup() undoes whatever is still live, in a safe order: processes, then namespaces (with
// anything still running inside them), then host links, then directories.

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace trellis::runtime {

class Ledger {
 public:
  explicit Ledger(std::string path) : path_(std::move(path)) {}

  void add_netns(const std::string& name) { append("+ netns " + name); }
  void remove_netns(const std::string& name) { append("- netns " + name); }
  void add_link(const std::string& name) { append("+ link " + name); }
  void add_dir(const std::string& path) { append("+ dir " + path); }
  void remove_dir(const std::string& path) { append("- dir " + path); }
  void add_pid(pid_t pid, uint64_t start_time);
  void remove_pid(pid_t pid);

  struct Live {
    std::vector<std::pair<pid_t, uint64_t>> pids;
    std::vector<std::string> netns;
    std::vector<std::string> links;
    std::vector<std::string> dirs;
  };
  // What the ledger says still exists (in creation order).
  Live live() const;

  // Removes everything still live; returns problems (empty when all went). Idempotent.
  std::vector<std::string> cleanup() const;

  const std::string& path() const { return path_; }

 private:
  void append(const std::string& line);
  std::string path_;
};

// Kills the process group of every process (SIGTERM, then SIGKILL after `grace_ms`) that is
// still the recorded one.
void kill_processes(const std::vector<std::pair<pid_t, uint64_t>>& pids, int grace_ms);

// Every pid running inside the named network namespace (`ip netns pids`).
std::vector<pid_t> netns_pids(const std::string& netns);

}  // namespace trellis::runtime
