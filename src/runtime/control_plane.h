#pragma once
// trellis-control as a process the runtime manages (contract C-10): started in the host
// network namespace on the runtime's host link address (pods reach it through their gateway),
// with the store the cluster writes, the CA created by `trellis up` and the token directory the
// runtime mounts tokens from; restarted with backoff when it exits; ready when its admin /ready
// answers 200.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "net/asio.h"
#include "runtime/ledger.h"

namespace trellis::runtime {

struct RuntimeOptions;
struct StatePaths;

inline constexpr int kControlGrpcPort = 8086;
inline constexpr int kControlAdminPort = 9996;

// Where pods find the control plane's gRPC listener ("198.18.255.254:8086").
std::string control_grpc_address();
std::string control_admin_address();

// A Trellis binary (trellis-control, trellis-proxy): --bin-dir first, then the directory of the
// running trellis, then PATH. Empty when none has it.
std::string mesh_executable(const std::string& name, const std::string& bin_dir);

class ControlPlane {
 public:
  ControlPlane(net::asio::io_context& io, const RuntimeOptions& options, const StatePaths& paths,
               Ledger& ledger);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Starts (or restarts, after the backoff) the process and probes its /ready.
  void tick();
  // Reaps the process if it exited.
  void on_child_exit();
  // SIGTERM, then SIGKILL after a few seconds; waits for it (the daemon is shutting down).
  void stop();

  bool ready() const { return ready_; }
  // Why it is not ready ("" when it is), for `trellis up` and status.
  std::string problem() const;

 private:
  using Clock = std::chrono::steady_clock;
  void start();
  void probe();

  net::asio::io_context& io_;
  std::string bin_dir_;
  std::string log_level_;
  std::string state_root_;
  Ledger& ledger_;
  pid_t pid_ = 0;
  bool running_ = false;
  bool ready_ = false;
  bool probing_ = false;
  bool stopped_ = false;
  int restarts_ = 0;
  int quick_failures_ = 0;
  int last_exit_ = 0;
  std::string last_error_;
  Clock::time_point started_at_{};
  Clock::time_point restart_at_{};
  Clock::time_point next_probe_{};
  std::shared_ptr<bool> alive_;
};

}  // namespace trellis::runtime
