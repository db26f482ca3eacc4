#include "runtime/control_plane.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "base/log.h"
#include "runtime/cluster.h"
#include "runtime/network.h"
#include "runtime/probe.h"
#include "runtime/process.h"
#include "runtime/system.h"

namespace trellis::runtime {

using namespace std::chrono_literals;

namespace {

constexpr auto kMaxBackoff = 10s;
constexpr auto kProbePeriod = 1s;
constexpr auto kStopGrace = 5s;

}  // namespace

std::string control_grpc_address() { return fmt::format("{}:{}", kHostIp, kControlGrpcPort); }
std::string control_admin_address() { return fmt::format("{}:{}", kHostIp, kControlAdminPort); }

std::string mesh_executable(const std::string& name, const std::string& bin_dir) {
  std::string path = resolve_executable(name, bin_dir);
  if (path.empty() || (!bin_dir.empty() && path.rfind(bin_dir, 0) != 0)) {
    // Not in --bin-dir: prefer the build or install directory of the running trellis over PATH.
    const std::string own = resolve_executable(name, self_directory());
    if (!own.empty()) path = own;
  }
  return path;
}

ControlPlane::ControlPlane(net::asio::io_context& io, const RuntimeOptions& options,
                           const StatePaths& paths, Ledger& ledger)
    : io_(io),
      bin_dir_(options.bin_dir),
      log_level_(options.log_level),
      state_root_(paths.root),
      ledger_(ledger),
      alive_(std::make_shared<bool>(true)) {}

ControlPlane::~ControlPlane() { *alive_ = false; }

std::string ControlPlane::problem() const {
  if (ready_) return "";
  const std::string log = StatePaths{state_root_}.control_log();
  if (!last_error_.empty()) return fmt::format("control plane: {} (log {})", last_error_, log);
  if (!running_ && restarts_ > 0) {
    return fmt::format("control plane exited with code {} (restarts: {}; log {})", last_exit_,
                       restarts_, log);
  }
  return fmt::format("control plane: /ready at {} has not answered 200 yet (log {})",
                     control_admin_address(), log);
}

void ControlPlane::start() {
  const auto now = Clock::now();
  const StatePaths paths{state_root_};
  const std::string exe = mesh_executable("trellis-control", bin_dir_);
  if (exe.empty()) {
    last_error_ = fmt::format("trellis-control not found in {} or PATH", bin_dir_);
    restart_at_ = now + kMaxBackoff;
    return;
  }
  SpawnSpec s;
  s.argv = {exe,
            "--store-dir", paths.store(),
            "--ca-dir", paths.ca(),
            "--listen", control_grpc_address(),
            "--admin-listen", control_admin_address(),
            "--token-dir", paths.tokens(),
            "--token-key-file", paths.token_key(),
            "--log-level", log_level_};
  s.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
  s.log_file = paths.control_log();
  auto pid = spawn(s);
  if (!pid) {
    last_error_ = pid.error();
    restart_at_ = now + kMaxBackoff;
    return;
  }
  pid_ = *pid;
  ledger_.add_pid(pid_, process_start_time(pid_).value_or(0));
  if (started_at_ != Clock::time_point{}) ++restarts_;
  running_ = true;
  ready_ = false;
  last_error_.clear();
  started_at_ = now;
  next_probe_ = now;
  TRELLIS_LOG_INFO("control plane started (pid {}): grpc {}, admin {}, log {}", pid_,
                   control_grpc_address(), control_admin_address(), paths.control_log());
}

void ControlPlane::tick() {
  if (stopped_) return;
  on_child_exit();
  const auto now = Clock::now();
  if (!running_) {
    if (now >= restart_at_) start();
    return;
  }
  if (!probing_ && now >= next_probe_) probe();
}

void ControlPlane::probe() {
  probing_ = true;
  auto alive = alive_;
  const pid_t pid = pid_;
  net::asio::co_spawn(
      io_, tcp_probe(kHostIp, kControlAdminPort, "/ready", std::chrono::milliseconds(1000)),
      [this, alive, pid](std::exception_ptr e, bool ok) {
        if (!*alive) return;
        probing_ = false;
        next_probe_ = Clock::now() + kProbePeriod;
        if (pid != pid_ || !running_) return;  // an answer about an earlier process
        if (ok != ready_) {
          TRELLIS_LOG_INFO("control plane {}", ok && !e ? "ready" : "not ready");
        }
        ready_ = ok && !e;
      });
}

void ControlPlane::on_child_exit() {
  if (!running_) return;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return;
  ::kill(-pid_, SIGKILL);  // whatever its session still holds
  ledger_.remove_pid(pid_);
  running_ = false;
  ready_ = false;
  last_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (stopped_) return;
  const auto now = Clock::now();
  if (now - started_at_ > kMaxBackoff) quick_failures_ = 0;
  const auto delay =
      std::min<Clock::duration>(kMaxBackoff, 1s * (1 << std::min(quick_failures_, 4)));
  quick_failures_ = std::min(quick_failures_ + 1, 10);
  restart_at_ = now + delay;
  TRELLIS_LOG_WARN("control plane exited with code {}; restarting in {} ms (log {})", last_exit_,
                   std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(),
                   StatePaths{state_root_}.control_log());
}

void ControlPlane::stop() {
  stopped_ = true;
  if (!running_) return;
  ::kill(-pid_, SIGTERM);
  const auto deadline = Clock::now() + kStopGrace;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (Clock::now() >= deadline) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ::kill(-pid_, SIGKILL);
  ledger_.remove_pid(pid_);
  running_ = false;
  ready_ = false;
  TRELLIS_LOG_INFO("control plane stopped");
}

}  // namespace trellis::runtime
