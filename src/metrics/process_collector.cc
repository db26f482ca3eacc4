#include "metrics/process_collector.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace trellis::metrics {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Whitespace-separated fields of one line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<size_t> count_entries(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return std::nullopt;
  size_t n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  // The iterator's own descriptor is listed in /proc/self/fd too; like the Prometheus
  // client libraries, it is counted, as it is open at the moment of reading.
  return n;
}

void add(std::vector<CollectedFamily>& out, std::string name, std::string help, MetricType type,
         double value) {
  out.push_back(CollectedFamily{std::move(name), std::move(help), type, {{{}, value}}});
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  const auto f = fields(base::trim(text.substr(close + 1)));
  // f[0] is field 3 (state), so field n of proc(5) is f[n - 3].
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kStart = 22 - 3, kVsize = 23 - 3,
                   kRss = 24 - 3;
  if (f.size() <= kRss) return std::nullopt;
  const auto utime = parse_u64(f[kUtime]);
  const auto stime = parse_u64(f[kStime]);
  const auto start = parse_u64(f[kStart]);
  const auto vsize = parse_u64(f[kVsize]);
  const auto rss = parse_u64(f[kRss]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<uint64_t> parse_max_open_files(std::string_view limits) {
  // "Max open files            1048576              1048576              files"
  constexpr std::string_view kPrefix = "Max open files";
  for (const std::string_view line : base::split(limits, '\n')) {
    if (!line.starts_with(kPrefix)) continue;
    const auto f = fields(line.substr(kPrefix.size()));
    if (f.empty()) return std::nullopt;
    return parse_u64(f[0]);  // "unlimited" does not parse
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_boot_time(std::string_view stat) {
  for (const std::string_view line : base::split(stat, '\n')) {
    const auto f = fields(line);
    if (f.size() == 2 && f[0] == "btime") return parse_u64(f[1]);
  }
  return std::nullopt;
}

ProcessCollector::ProcessCollector(ProcessCollectorOptions options)
    : proc_root_(std::move(options.proc_root)),
      ticks_per_second_(options.ticks_per_second > 0 ? options.ticks_per_second
                                                     : sysconf(_SC_CLK_TCK)),
      page_size_(options.page_size > 0 ? options.page_size : sysconf(_SC_PAGESIZE)) {}

void ProcessCollector::collect(std::vector<CollectedFamily>& out) const {
  const double ticks = ticks_per_second_ > 0 ? static_cast<double>(ticks_per_second_) : 100.0;
  std::optional<ProcStat> stat;
  if (const auto text = read_file(proc_root_ + "/self/stat")) stat = parse_proc_stat(*text);
  if (stat) {
    add(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
        MetricType::Counter, static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks);
  }
  if (const auto limits = read_file(proc_root_ + "/self/limits")) {
    if (const auto max_fds = parse_max_open_files(*limits)) {
      add(out, "process_max_fds", "Maximum number of open file descriptors.",
          MetricType::Gauge, static_cast<double>(*max_fds));
    }
  }
  if (const auto open_fds = count_entries(proc_root_ + "/self/fd")) {
    add(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
        static_cast<double>(*open_fds));
  }
  if (stat) {
    add(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
        MetricType::Gauge, static_cast<double>(stat->rss_pages) * static_cast<double>(page_size_));
    if (const auto proc_stat = read_file(proc_root_ + "/stat")) {
      if (const auto boot = parse_boot_time(*proc_stat)) {
        add(out, "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
            static_cast<double>(*boot) + static_cast<double>(stat->start_time_ticks) / ticks);
      }
    }
    add(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
        static_cast<double>(stat->vsize_bytes));
  }
}

}  // namespace trellis::metrics
