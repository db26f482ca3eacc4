#pragma once
// process_* metrics read from /proc at every scrape, with the names and meanings of the
// Prometheus client libraries (and of linkerd2-proxy's process metrics):
//   process_cpu_seconds_total      counter  user + system CPU time
//   process_resident_memory_bytes  gauge    RSS
//   process_virtual_memory_bytes   gauge    virtual memory size
//   process_open_fds               gauge    entries in /proc/self/fd
//   process_max_fds                gauge    soft RLIMIT_NOFILE from /proc/self/limits
//   process_start_time_seconds     gauge    start time, seconds since the Unix epoch
// A value that cannot be read (file missing, unexpected format) is left out of that scrape.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.h"

namespace trellis::metrics {

struct ProcessCollectorOptions {
  // Tests point this at a directory laid out like /proc (self/stat, self/fd/, self/limits,
  // stat).
  std::string proc_root = "/proc";
  // 0 means sysconf(_SC_CLK_TCK) and sysconf(_SC_PAGESIZE).
  long ticks_per_second = 0;
  long page_size = 0;
};

class ProcessCollector final : public Collector {
 public:
  explicit ProcessCollector(ProcessCollectorOptions options = {});
  void collect(std::vector<CollectedFamily>& out) const override;

 private:
  const std::string proc_root_;
  const long ticks_per_second_;
  const long page_size_;
};

// Parsers of the /proc files, exposed for tests.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_time_ticks = 0;  // since boot
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
};
// /proc/<pid>/stat. The command name is in parentheses and may itself contain spaces and
// parentheses, so fields are counted from the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The soft "Max open files" limit of /proc/<pid>/limits; nullopt if missing or "unlimited".
std::optional<uint64_t> parse_max_open_files(std::string_view limits);
// The "btime" line of /proc/stat: boot time in seconds since the epoch.
std::optional<uint64_t> parse_boot_time(std::string_view stat);

}  // namespace trellis::metrics
