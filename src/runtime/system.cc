#include "runtime/system.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace trellis::runtime {

namespace fs = std::filesystem;

namespace {

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

base::Result<CommandOutput, std::string> run_command(const std::vector<std::string>& argv,
                                                     const std::string& input) {
  if (argv.empty()) return base::unexpected(std::string("empty command"));
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return base::unexpected(std::string("pipe failed"));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return base::unexpected(std::string("pipe failed"));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return base::unexpected(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(out_pipe[1], 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(args[0], args.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  // Inputs are small (rule sets): the pipe buffer holds them, so writing before reading is safe.
  write_all(in_pipe[1], input.data(), input.size());
  ::close(in_pipe[1]);
  CommandOutput result;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(out_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

base::Result<base::Ok, std::string> run_checked(const std::vector<std::string>& argv,
                                                const std::string& input) {
  auto r = run_command(argv, input);
  if (!r) return base::unexpected(r.error());
  if (r->exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    std::string out = r->output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return base::unexpected(fmt::format("`{}` failed (exit {}): {}", cmd, r->exit_code, out));
  }
  return base::Ok{};
}

base::Result<base::Ok, std::string> write_file_atomic(const std::string& path,
                                                      const std::string& content, unsigned mode) {
  const fs::path p(path);
  const std::string tmp =
      (p.parent_path() / ("." + p.filename().string() + ".tmp")).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return base::unexpected(fmt::format("{}: {}", tmp, std::strerror(errno)));
  ::fchmod(fd, mode);
  const bool ok = write_all(fd, content.data(), content.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return base::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  return base::Ok{};
}

base::Result<base::Ok, std::string> write_file_owned(const std::string& path,
                                                     const std::string& content, unsigned mode,
                                                     uid_t uid, gid_t gid) {
  const fs::path p(path);
  const std::string tmp =
      (p.parent_path() / ("." + p.filename().string() + ".tmp")).string();
  ::unlink(tmp.c_str());
  // Created 0600 and owned by us until complete; ownership and mode change before the rename,
  // so the file is never readable by anyone but root and its owner.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return base::unexpected(fmt::format("{}: {}", tmp, std::strerror(errno)));
  const bool ok = write_all(fd, content.data(), content.size()) && ::fchown(fd, uid, gid) == 0 &&
                  ::fchmod(fd, mode) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return base::unexpected(fmt::format("{}: {}", path, std::strerror(err)));
  }
  return base::Ok{};
}

base::Result<base::Ok, std::string> write_file_in_place(const std::string& path,
                                                        const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return base::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  const bool ok = write_all(fd, content.data(), content.size()) &&
                  ::ftruncate(fd, static_cast<off_t>(content.size())) == 0;
  ::close(fd);
  if (!ok) return base::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  return base::Ok{};
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return std::nullopt;
  // The command name (field 2) may contain spaces and parentheses: fields start after the last ')'.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 2));
  std::string field;
  // After ")": field 3 (state) is index 0, so field 22 (starttime) is index 19.
  for (int i = 0; i < 20; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return std::nullopt;
  }
}

bool same_process(pid_t pid, uint64_t start_time) {
  if (pid <= 1) return false;
  auto t = process_start_time(pid);
  return t && *t == start_time;
}

std::string resolve_executable(const std::string& name, const std::string& bin_dir) {
  auto executable = [](const fs::path& p) {
    return ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p);
  };
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return name;
  if (!bin_dir.empty() && executable(fs::path(bin_dir) / name)) {
    return (fs::path(bin_dir) / name).string();
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && executable(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  }
  return {};
}

std::string self_directory() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

std::string now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_age(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return fmt::format("{}s", seconds);
  if (seconds < 3600 * 3) return fmt::format("{}m", seconds / 60);
  if (seconds < 86400 * 2) return fmt::format("{}h", seconds / 3600);
  return fmt::format("{}d", seconds / 86400);
}

}  // namespace trellis::runtime
