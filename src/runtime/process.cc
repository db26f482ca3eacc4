#include "runtime/process.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace trellis::runtime {

namespace {

// Only async-signal-safe calls between fork and exec: the daemon may have other threads
// (resolver, logging) whose locks a forked child must never touch.
[[noreturn]] void child_fail(int fd, const char* what) {
  const char* reason = ::strerror(errno);  // static table lookup, no allocation
  const char prefix[] = "trellis runtime: cannot start container: ";
  (void)!::write(fd, prefix, sizeof prefix - 1);
  (void)!::write(fd, what, ::strlen(what));
  (void)!::write(fd, ": ", 2);
  (void)!::write(fd, reason, ::strlen(reason));
  (void)!::write(fd, "\n", 1);
  ::_exit(127);
}

bool enter(const char* netns_path, const char* hosts_file, int report_fd) {
  if (netns_path) {
    const int fd = ::open(netns_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) child_fail(report_fd, netns_path);
    if (::setns(fd, CLONE_NEWNET) != 0) child_fail(report_fd, "setns");
    ::close(fd);
  }
  if (hosts_file) {
    if (::unshare(CLONE_NEWNS) != 0) child_fail(report_fd, "unshare(mount namespace)");
    // Keep our bind mount from propagating back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
      child_fail(report_fd, "mount --make-rslave /");
    }
    if (::mount(hosts_file, "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
      child_fail(report_fd, "bind-mount /etc/hosts");
    }
  }
  return true;
}

}  // namespace

base::Result<pid_t, std::string> spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return base::unexpected(std::string("no command"));
  // Everything the child needs is prepared before fork.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string netns_path = spec.netns.empty() ? "" : "/run/netns/" + spec.netns;
  const char* log_path = spec.log_file.empty() ? "/dev/null" : spec.log_file.c_str();
  const int log_fd = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) return base::unexpected(fmt::format("{}: {}", log_path, std::strerror(errno)));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const char* workdir = spec.working_dir.empty() ? "/" : spec.working_dir.c_str();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    return base::unexpected(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    enter(netns_path.empty() ? nullptr : netns_path.c_str(),
          spec.hosts_file.empty() ? nullptr : spec.hosts_file.c_str(), 2);
    if (!spec.hostname.empty()) {
      if (::unshare(CLONE_NEWUTS) != 0 ||
          ::sethostname(spec.hostname.c_str(), spec.hostname.size()) != 0) {
        child_fail(2, "hostname");
      }
    }
    if (::chdir(workdir) != 0) child_fail(2, workdir);
    if (spec.uid) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(*spec.uid) != 0 || ::setuid(*spec.uid) != 0) {
        child_fail(2, "setuid");
      }
    }
    ::execve(argv[0], argv.data(), envp.data());
    child_fail(2, argv[0]);
  }
  ::close(log_fd);
  ::close(null_fd);
  return pid;
}

base::Result<base::Ok, std::string> enter_pod(const std::string& netns,
                                              const std::string& hosts_file,
                                              const std::string& hostname) {
  if (!hostname.empty() && (::unshare(CLONE_NEWUTS) != 0 ||
                            ::sethostname(hostname.c_str(), hostname.size()) != 0)) {
    return base::unexpected(fmt::format("setting the hostname: {}", std::strerror(errno)));
  }
  const std::string path = "/run/netns/" + netns;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  const int rc = ::setns(fd, CLONE_NEWNET);
  ::close(fd);
  if (rc != 0) return base::unexpected(fmt::format("setns: {}", std::strerror(errno)));
  if (hosts_file.empty()) return base::Ok{};
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0 ||
      ::mount(hosts_file.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
    return base::unexpected(fmt::format("mounting {} over /etc/hosts: {}", hosts_file,
                                        std::strerror(errno)));
  }
  return base::Ok{};
}

}  // namespace trellis::runtime
