#include "runtime/ledger.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "runtime/system.h"

namespace trellis::runtime {
namespace {

namespace fs = std::filesystem;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trellis-ledger-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(LedgerTest, LiveIsWhatWasAddedAndNotRemoved) {
  Ledger l(dir_ + "/ledger");
  l.add_netns("a");
  l.add_netns("b");
  l.add_link("trellis0");
  l.add_pid(100, 5);
  l.add_pid(101, 6);
  l.remove_netns("a");
  l.remove_pid(100);
  l.add_dir("/x");
  l.remove_dir("/x");
  const auto live = l.live();
  EXPECT_EQ(live.netns, std::vector<std::string>{"b"});
  EXPECT_EQ(live.links, std::vector<std::string>{"trellis0"});
  ASSERT_EQ(live.pids.size(), 1u);
  EXPECT_EQ(live.pids[0], (std::pair<pid_t, uint64_t>{101, 6}));
  EXPECT_TRUE(live.dirs.empty());
}

TEST_F(LedgerTest, CleanupRemovesRecordedDirsAndKillsOnlyTheRecordedProcess) {
  const std::string d = dir_ + "/etc-netns-x";
  fs::create_directories(d);
  const pid_t child = ::fork();
  if (child == 0) {
    ::setsid();
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  std::optional<uint64_t> start;
  for (int i = 0; i < 100 && !start; ++i) start = process_start_time(child);
  ASSERT_TRUE(start);
  Ledger l(dir_ + "/ledger");
  l.add_dir(d);
  l.add_pid(child, *start + 1);  // a reused pid: must be left alone
  EXPECT_TRUE(l.cleanup().empty());
  EXPECT_FALSE(fs::exists(d));
  EXPECT_TRUE(same_process(child, *start));
  l.add_pid(child, *start);
  EXPECT_TRUE(l.cleanup().empty());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(System, FormatsAgesLikeKubectl) {
  EXPECT_EQ(format_age(5), "5s");
  EXPECT_EQ(format_age(119), "119s");
  EXPECT_EQ(format_age(600), "10m");
  EXPECT_EQ(format_age(3 * 3600), "3h");
  EXPECT_EQ(format_age(3 * 86400), "3d");
}

TEST(System, ResolvesCommandsInTheBinDirFirst) {
  char tmpl[] = "/tmp/trellis-bin-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  ASSERT_TRUE(write_file_atomic(dir + "/sh", "#!/bin/true\n", 0755));
  EXPECT_EQ(resolve_executable("sh", dir), dir + "/sh");
  EXPECT_EQ(resolve_executable("/bin/sh", dir), "/bin/sh");
  EXPECT_NE(resolve_executable("true", dir), "");
  EXPECT_EQ(resolve_executable("no-such-command-xyz", dir), "");
  fs::remove_all(dir);
}

TEST(System, RunCommandCapturesOutputAndExitCode) {
  auto r = run_command({"sh", "-c", "cat; echo err >&2; exit 3"}, "in\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "in\nerr\n");
  auto checked = run_checked({"sh", "-c", "echo boom; exit 1"});
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().find("boom"), std::string::npos);
}

}  // namespace
}  // namespace trellis::runtime
