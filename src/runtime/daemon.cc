#include "runtime/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "base/log.h"
#include "runtime/system.h"

namespace trellis::runtime {

namespace fs = std::filesystem;
namespace asio = net::asio;
using nlohmann::json;
using local = asio::local::stream_protocol;

namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024 * 1024;

std::vector<ManifestDocument> documents_of(const json& req) {
  std::vector<ManifestDocument> docs;
  if (!req.contains("documents")) return docs;
  for (const auto& d : req["documents"]) {
    docs.push_back({d.value("file", "-"), d.value("text", "")});
  }
  return docs;
}

class Daemon {
 public:
  Daemon(RuntimeOptions options)
      : options_(std::move(options)),
        paths_{options_.state_dir},
        ledger_(paths_.ledger()),
        network_(options_.cluster, ledger_),
        signals_(io_, SIGTERM, SIGINT, SIGCHLD),
        timer_(io_) {}

  base::Result<base::Ok, std::string> init() {
    if (auto r = network_.create(); !r) return r;
    cluster_ = std::make_unique<Cluster>(io_, options_, ledger_, network_);
    std::error_code ec;
    fs::remove(paths_.socket(), ec);
    try {
      acceptor_ = std::make_unique<local::acceptor>(io_, local::endpoint(paths_.socket()));
    } catch (const std::exception& e) {
      return base::unexpected(fmt::format("{}: {}", paths_.socket(), e.what()));
    }
    ::chmod(paths_.socket().c_str(), 0600);
    return base::Ok{};
  }

  void run() {
    wait_signal();
    schedule_tick();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    io_.run();
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    TRELLIS_LOG_INFO("shutting down");
    cluster_->shutdown();
    for (const auto& problem : ledger_.cleanup()) TRELLIS_LOG_WARN("cleanup: {}", problem);
    io_.stop();
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](net::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGCHLD) {
        cluster_->on_child_exit();
        wait_signal();
        return;
      }
      stop();
    });
  }

  void schedule_tick() {
    timer_.expires_after(std::chrono::milliseconds(200));
    timer_.async_wait([this](net::error_code ec) {
      if (ec || stopping_) return;
      cluster_->tick();
      schedule_tick();
    });
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(net::use_nothrow);
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  net::awaitable<void> serve(local::socket socket) {
    std::string line;
    auto [ec, n] = co_await asio::async_read_until(
        socket, asio::dynamic_buffer(line, kMaxRequestBytes), '\n', net::use_nothrow);
    if (ec) co_return;
    json answer;
    bool shutdown = false;
    try {
      const json req = json::parse(line.substr(0, n));
      answer = handle(req, shutdown);
    } catch (const std::exception& e) {
      answer = {{"ok", false}, {"error", fmt::format("bad request: {}", e.what())}};
    }
    const std::string out = answer.dump() + "\n";
    co_await asio::async_write(socket, asio::buffer(out), net::use_nothrow);
    net::error_code ignored;
    socket.close(ignored);
    if (shutdown) asio::post(io_, [this] { stop(); });
  }

  json handle(const json& req, bool& shutdown) {
    const std::string op = req.value("op", "");
    if (op == "ping") {
      return {{"ok", true}, {"cluster", options_.cluster}, {"pid", ::getpid()},
              {"store", paths_.store()}};
    }
    if (op == "apply") return cluster_->apply(documents_of(req));
    if (op == "delete") return cluster_->remove(documents_of(req));
    if (op == "get") {
      return cluster_->get(req.value("what", "pods"), req.value("namespace", ""),
                           req.value("allNamespaces", false));
    }
    if (op == "status") return cluster_->status();
    if (op == "pod") return cluster_->pod_info(req.value("namespace", "default"),
                                               req.value("name", ""));
    if (op == "shutdown") {
      shutdown = true;
      return {{"ok", true}};
    }
    return {{"ok", false}, {"error", "unknown op \"" + op + "\""}};
  }

  RuntimeOptions options_;
  StatePaths paths_;
  Ledger ledger_;
  ClusterNetwork network_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer timer_;
  std::unique_ptr<local::acceptor> acceptor_;
  std::unique_ptr<Cluster> cluster_;
  bool stopping_ = false;
};

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

[[noreturn]] void daemon_main(const RuntimeOptions& options, int report_fd) {
  StatePaths paths{options.state_dir};
  const int log_fd = ::open(paths.log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(null_fd, 0);
  if (log_fd >= 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
  }
  ::chdir("/");
  base::log::init("runtime", options.log_level);
  Ledger ledger(paths.ledger());
  ledger.add_pid(::getpid(), process_start_time(::getpid()).value_or(0));
  (void)write_file_atomic(paths.pid_file(), std::to_string(::getpid()) + "\n");
  int code = 0;
  {
    Daemon daemon(options);
    auto ok = daemon.init();
    if (!ok) {
      TRELLIS_LOG_ERROR("start-up failed: {}", ok.error());
      write_all(report_fd, ok.error());
      ::close(report_fd);
      for (const auto& p : ledger.cleanup()) TRELLIS_LOG_WARN("cleanup: {}", p);
      ::_exit(1);
    }
    TRELLIS_LOG_INFO("runtime ready: cluster {}, state {}", options.cluster, options.state_dir);
    write_all(report_fd, "ok");
    ::close(report_fd);
    daemon.run();
  }
  ledger.remove_pid(::getpid());
  ::_exit(code);
}

}  // namespace

base::Result<base::Ok, std::string> start_daemon(const RuntimeOptions& options) {
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) return base::unexpected(fmt::format("{}: {}", options.state_dir, ec.message()));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return base::unexpected(std::string("pipe failed"));
  const pid_t child = ::fork();
  if (child < 0) return base::unexpected(fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    ::close(fds[0]);
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    daemon_main(options, fds[1]);
  }
  ::close(fds[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::string report;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (report == "ok") return base::Ok{};
  if (report.empty()) {
    report = "the runtime daemon exited during start-up; see " + StatePaths{options.state_dir}.log();
  }
  return base::unexpected(report);
}

base::Result<json, std::string> request(const std::string& state_dir, const json& req) {
  const std::string path = StatePaths{state_dir}.socket();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::unexpected(std::string("socket failed"));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return base::unexpected(fmt::format("state directory path too long for a socket: {}", path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return base::unexpected(fmt::format("no Trellis runtime is running with state directory {} "
                                        "({}: {}); start one with `trellis up -f DIR`",
                                        state_dir, path, std::strerror(err)));
  }
  write_all(fd, req.dump() + "\n");
  std::string answer;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
    if (!answer.empty() && answer.back() == '\n') break;
  }
  ::close(fd);
  try {
    return json::parse(answer);
  } catch (const std::exception& e) {
    return base::unexpected(fmt::format("the runtime daemon gave no valid answer: {}", e.what()));
  }
}

std::vector<std::string> stop_cluster(const std::string& state_dir) {
  StatePaths paths{state_dir};
  std::optional<pid_t> daemon_pid;
  if (auto text = read_file(paths.pid_file())) {
    try {
      daemon_pid = static_cast<pid_t>(std::stol(*text));
    } catch (...) {
    }
  }
  if (request(state_dir, {{"op", "shutdown"}})) {
    // The daemon removes everything itself; wait for it to be gone.
    for (int i = 0; i < 600 && daemon_pid && ::kill(*daemon_pid, 0) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Whatever is left (a crashed or hung daemon): the ledger knows it, the daemon included.
  Ledger ledger(paths.ledger());
  auto problems = ledger.cleanup();
  if (problems.empty()) {
    std::error_code ec;
    for (const char* name : {"daemon.sock", "daemon.pid", "ledger"}) {
      fs::remove(fs::path(state_dir) / name, ec);
    }
    fs::remove_all(paths.store(), ec);
    fs::remove_all(paths.pods(), ec);
    // Tokens are credentials of this cluster only; the CA stays (it may be the user's own).
    fs::remove_all(paths.tokens(), ec);
    fs::remove(paths.token_key(), ec);
  }
  return problems;
}

}  // namespace trellis::runtime
