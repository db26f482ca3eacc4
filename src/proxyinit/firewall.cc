#include "proxyinit/firewall.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "base/strings.h"

namespace trellis::proxyinit {

namespace {

bool executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string shell_quote(const std::string& s) {
  const bool safe = !s.empty() && s.find_first_not_of(
                                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789-_./:,=+@%") == std::string::npos;
  if (safe) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace

base::Result<Mode, std::string> parse_mode(std::string_view text) {
  if (text == "auto") return Mode::kAuto;
  if (text == "legacy") return Mode::kLegacy;
  if (text == "nft") return Mode::kNft;
  if (text == "plain") return Mode::kPlain;
  return base::unexpected("invalid iptables mode " + base::quote(text) +
                          "; expected auto, legacy, nft or plain");
}

std::string find_binary(const std::string& name) {
  if (name.find('/') != std::string::npos) return executable(name) ? name : std::string();
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    for (auto d : base::split(path, ':')) {
      if (!d.empty()) dirs.emplace_back(d);
    }
  }
  for (const char* d : {"/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    dirs.emplace_back(d);
  }
  for (const auto& d : dirs) {
    const std::string candidate = d + "/" + name;
    if (executable(candidate)) return candidate;
  }
  return {};
}

std::string backend_from_version(std::string_view version_output) {
  if (version_output.find("(nf_tables)") != std::string_view::npos) return "nft";
  if (version_output.find("(legacy)") != std::string_view::npos) return "legacy";
  return "plain";
}

base::Result<Firewall, std::string> select_firewall(Mode mode, const std::string& bin_override,
                                                    const std::string& save_override) {
  Firewall fw;
  std::string backend;
  if (mode == Mode::kLegacy) backend = "legacy";
  if (mode == Mode::kNft) backend = "nft";
  if (mode == Mode::kPlain) backend = "plain";
  if (mode == Mode::kAuto && bin_override.empty()) {
    const std::string plain = find_binary("iptables");
    if (plain.empty()) {
      return base::unexpected(std::string(
          "iptables not found on PATH or in /usr/sbin, /sbin (install the iptables package)"));
    }
    auto version = run({plain, "--version"});
    if (!version || version->exit_code != 0) {
      return base::unexpected(
          plain + " --version failed: " + (version ? version->output : version.error()));
    }
    backend = backend_from_version(version->output);
  }
  if (backend.empty()) backend = "plain";
  const std::string prefix = backend == "plain" ? "iptables" : "iptables-" + backend;
  fw.backend = backend;
  fw.iptables = bin_override.empty() ? find_binary(prefix) : find_binary(bin_override);
  fw.iptables_save =
      save_override.empty() ? find_binary(prefix + "-save") : find_binary(save_override);
  // The machine may only have the plain names (the alternatives link) for the chosen backend.
  if (fw.iptables.empty() && bin_override.empty()) fw.iptables = find_binary("iptables");
  if (fw.iptables_save.empty() && save_override.empty())
    fw.iptables_save = find_binary("iptables-save");
  if (fw.iptables.empty()) {
    return base::unexpected((bin_override.empty() ? prefix : bin_override) +
                            " not found or not executable");
  }
  if (fw.iptables_save.empty()) {
    return base::unexpected((save_override.empty() ? prefix + "-save" : save_override) +
                            " not found or not executable");
  }
  return fw;
}

base::Result<RunResult, std::string> run(const std::vector<std::string>& argv) {
  if (argv.empty()) return base::unexpected(std::string("empty command"));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return base::unexpected(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return base::unexpected(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execv(args[0], args.data());
    const char msg[] = "exec failed\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  RunResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return base::unexpected(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

base::Result<base::Ok, std::string> enter_netns(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return base::unexpected("cannot open network namespace " + path + ": " + std::strerror(errno));
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int e = errno;
  ::close(fd);
  if (rc != 0) {
    return base::unexpected("cannot enter network namespace " + path + ": " + std::strerror(e));
  }
  return base::Ok{};
}

std::string format_command(const std::vector<std::string>& argv) {
  std::vector<std::string> parts;
  for (const auto& a : argv) parts.push_back(shell_quote(a));
  return base::join(parts, " ");
}

int install(const Options& options, const Firewall& firewall, bool dry_run, std::ostream& out,
            std::ostream& err) {
  NatState state;
  if (!dry_run) {
    auto saved = run({firewall.iptables_save, "-t", "nat"});
    if (!saved) {
      err << "trellis-proxy init: " << saved.error() << "\n";
      return 1;
    }
    if (saved->exit_code != 0) {
      err << "trellis-proxy init: " << format_command({firewall.iptables_save, "-t", "nat"})
          << " failed (exit " << saved->exit_code << "): " << base::trim(saved->output) << "\n";
      return 1;
    }
    state = parse_nat_state(saved->output);
  }
  for (auto args : build_commands(options, state)) {
    std::vector<std::string> argv = {firewall.iptables};
    // -w: wait for the xtables lock, which other pods' set-ups may hold at the same moment.
    argv.push_back("-w");
    argv.insert(argv.end(), args.begin(), args.end());
    if (dry_run) {
      out << format_command(argv) << "\n";
      continue;
    }
    auto result = run(argv);
    if (!result) {
      err << "trellis-proxy init: " << format_command(argv) << ": " << result.error() << "\n";
      return 1;
    }
    if (result->exit_code != 0) {
      err << "trellis-proxy init: " << format_command(argv) << " failed (exit " << result->exit_code
          << "): " << base::trim(result->output) << "\n";
      return 1;
    }
    out << format_command(argv) << "\n";
  }
  return 0;
}

}  // namespace trellis::proxyinit
