#include "metrics/process_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "metrics/exposition_parser.h"

namespace trellis::metrics {
namespace {

namespace fs = std::filesystem;

// "1234 (my (weird) proc) S ..." with utime 250, stime 50, starttime 5000, vsize 104857600 and
// rss 2560 pages; a command name with spaces and parentheses, as a process may choose.
constexpr std::string_view kStat =
    "1234 (my (weird) proc) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 4 0 5000 "
    "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
constexpr std::string_view kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 4096                 files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";
constexpr std::string_view kProcStat =
    "cpu  10 20 30 40\nintr 5 6\nctxt 99\nbtime 1700000000\nprocesses 77\n";

class FakeProc {
 public:
  FakeProc() {
    std::string tmpl = (fs::temp_directory_path() / "trellis_metrics_proc_XXXXXX").string();
    root_ = mkdtemp(tmpl.data());
  }
  ~FakeProc() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write(const std::string& rel, std::string_view text) {
    const fs::path path = fs::path(root_) / rel;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  void add_fds(int n) {
    fs::create_directories(fs::path(root_) / "self/fd");
    for (int i = 0; i < n; ++i) write("self/fd/" + std::to_string(i), "");
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

ProcessCollectorOptions fake_options(const FakeProc& proc) {
  return {.proc_root = proc.root(), .ticks_per_second = 100, .page_size = 4096};
}

TEST(ProcessCollectorTest, RendersEveryMetricFromProc) {
  FakeProc proc;
  proc.write("self/stat", kStat);
  proc.write("self/limits", kLimits);
  proc.write("stat", kProcStat);
  proc.add_fds(5);
  Registry registry;
  registry.add_collector(std::make_unique<ProcessCollector>(fake_options(proc)));
  EXPECT_EQ(registry.render(),
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
            "# TYPE process_cpu_seconds_total counter\n"
            "process_cpu_seconds_total 3\n"
            "# HELP process_max_fds Maximum number of open file descriptors.\n"
            "# TYPE process_max_fds gauge\n"
            "process_max_fds 1024\n"
            "# HELP process_open_fds Number of open file descriptors.\n"
            "# TYPE process_open_fds gauge\n"
            "process_open_fds 5\n"
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
            "# TYPE process_resident_memory_bytes gauge\n"
            "process_resident_memory_bytes 10485760\n"
            "# HELP process_start_time_seconds Start time of the process since unix epoch in "
            "seconds.\n"
            "# TYPE process_start_time_seconds gauge\n"
            "process_start_time_seconds 1700000050\n"
            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
            "# TYPE process_virtual_memory_bytes gauge\n"
            "process_virtual_memory_bytes 104857600\n");
}

TEST(ProcessCollectorTest, ReadsAgainOnEveryScrape) {
  FakeProc proc;
  proc.write("self/stat", kStat);
  proc.add_fds(2);
  Registry registry;
  registry.add_collector(std::make_unique<ProcessCollector>(fake_options(proc)));
  auto first = parse_exposition(registry.render());
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->value("process_open_fds"), 2);
  proc.add_fds(7);
  auto second = parse_exposition(registry.render());
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(second->value("process_open_fds"), 7);
}

TEST(ProcessCollectorTest, LeavesOutWhatCannotBeRead) {
  FakeProc proc;
  Registry registry;
  registry.add_collector(std::make_unique<ProcessCollector>(fake_options(proc)));
  EXPECT_EQ(registry.render(), "");

  proc.write("self/stat", kStat);  // no limits, no fd directory, no /proc/stat
  auto parsed = parse_exposition(registry.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->value("process_cpu_seconds_total"), 3);
  EXPECT_EQ(parsed->value("process_virtual_memory_bytes"), 104857600);
  EXPECT_EQ(parsed->value("process_resident_memory_bytes"), 10485760);
  EXPECT_FALSE(parsed->value("process_start_time_seconds"));
  EXPECT_FALSE(parsed->value("process_max_fds"));
  EXPECT_FALSE(parsed->value("process_open_fds"));

  proc.write("self/stat", "garbage");
  parsed = parse_exposition(registry.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_TRUE(parsed->samples().empty());
}

TEST(ProcessCollectorTest, ParsesProcFiles) {
  const auto stat = parse_proc_stat(kStat);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 50u);
  EXPECT_EQ(stat->start_time_ticks, 5000u);
  EXPECT_EQ(stat->vsize_bytes, 104857600u);
  EXPECT_EQ(stat->rss_pages, 2560u);
  EXPECT_FALSE(parse_proc_stat("1234 (short) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all"));

  EXPECT_EQ(parse_max_open_files(kLimits), 1024u);
  EXPECT_FALSE(parse_max_open_files("Max open files            unlimited            unlimited"));
  EXPECT_FALSE(parse_max_open_files("Max cpu time 1 1 seconds\n"));

  EXPECT_EQ(parse_boot_time(kProcStat), 1700000000u);
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
}

TEST(ProcessCollectorTest, ReadsTheRealProcSelf) {
  Registry registry;
  registry.add_collector(std::make_unique<ProcessCollector>());
  auto parsed = parse_exposition(registry.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds"}) {
    EXPECT_TRUE(parsed->value(name)) << name;
  }
  EXPECT_EQ(parsed->type("process_cpu_seconds_total"), "counter");
  EXPECT_EQ(parsed->type("process_open_fds"), "gauge");
  const double open_fds = parsed->value("process_open_fds").value_or(0);
  EXPECT_GE(open_fds, 3);  // at least stdin, stdout, stderr
  EXPECT_GE(parsed->value("process_max_fds").value_or(0), open_fds);
  EXPECT_GT(parsed->value("process_resident_memory_bytes").value_or(0), 0);
  EXPECT_GE(parsed->value("process_virtual_memory_bytes").value_or(0),
            parsed->value("process_resident_memory_bytes").value_or(0));
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = parsed->value("process_start_time_seconds").value_or(0);
  EXPECT_GT(start, now - 24 * 3600) << "this test process started recently";
  EXPECT_LE(start, now + 1);
}

}  // namespace
}  // namespace trellis::metrics
