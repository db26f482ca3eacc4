#include "runtime/ledger.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "runtime/system.h"

namespace trellis::runtime {

namespace fs = std::filesystem;

void Ledger::append(const std::string& line) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::string text = line + "\n";
  (void)!::write(fd, text.data(), text.size());
  ::fsync(fd);
  ::close(fd);
}

void Ledger::add_pid(pid_t pid, uint64_t start_time) {
  append(fmt::format("+ pid {} {}", pid, start_time));
}

void Ledger::remove_pid(pid_t pid) { append(fmt::format("- pid {}", pid)); }

Ledger::Live Ledger::live() const {
  Live out;
  auto text = read_file(path_);
  if (!text) return out;
  std::istringstream in(*text);
  std::string line;
  auto erase = [](auto& v, const auto& pred) {
    v.erase(std::remove_if(v.begin(), v.end(), pred), v.end());
  };
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string op, kind, value;
    if (!(fields >> op >> kind >> value)) continue;
    if (kind == "pid") {
      pid_t pid = 0;
      try {
        pid = static_cast<pid_t>(std::stol(value));
      } catch (...) {
        continue;
      }
      if (op == "+") {
        uint64_t start = 0;
        fields >> start;
        out.pids.emplace_back(pid, start);
      } else {
        erase(out.pids, [&](const auto& p) { return p.first == pid; });
      }
      continue;
    }
    std::vector<std::string>* list = kind == "netns" ? &out.netns
                                     : kind == "link" ? &out.links
                                     : kind == "dir"  ? &out.dirs
                                                      : nullptr;
    if (!list) continue;
    if (op == "+") {
      if (std::find(list->begin(), list->end(), value) == list->end()) list->push_back(value);
    } else {
      erase(*list, [&](const std::string& s) { return s == value; });
    }
  }
  return out;
}

void kill_processes(const std::vector<std::pair<pid_t, uint64_t>>& pids, int grace_ms) {
  std::vector<std::pair<pid_t, uint64_t>> alive;
  for (const auto& [pid, start] : pids) {
    if (pid == ::getpid() || !same_process(pid, start)) continue;
    // Each supervised process leads its own session/group: its children go with it.
    if (::getpgid(pid) == pid) ::kill(-pid, SIGTERM);
    ::kill(pid, SIGTERM);
    alive.emplace_back(pid, start);
  }
  for (int waited = 0; !alive.empty() && waited < grace_ms; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    alive.erase(std::remove_if(alive.begin(), alive.end(),
                               [](const auto& p) {
                                 // A zombie (our own unreaped child) counts as gone.
                                 auto stat = read_file(fmt::format("/proc/{}/stat", p.first));
                                 const bool zombie =
                                     stat && stat->find(") Z ") != std::string::npos;
                                 return zombie || !same_process(p.first, p.second);
                               }),
                alive.end());
  }
  for (const auto& [pid, start] : alive) {
    if (!same_process(pid, start)) continue;
    if (::getpgid(pid) == pid) ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

std::vector<pid_t> netns_pids(const std::string& netns) {
  std::vector<pid_t> out;
  auto r = run_command({"ip", "netns", "pids", netns});
  if (!r || r->exit_code != 0) return out;
  std::istringstream in(r->output);
  long pid = 0;
  while (in >> pid) {
    if (pid > 1 && pid != ::getpid()) out.push_back(static_cast<pid_t>(pid));
  }
  return out;
}

std::vector<std::string> Ledger::cleanup() const {
  std::vector<std::string> problems;
  const Live l = live();
  kill_processes(l.pids, 3000);
  for (const auto& ns : l.netns) {
    if (!fs::exists("/run/netns/" + ns)) continue;
    // Anything still inside (an exec session, a grandchild that escaped its group) goes too.
    std::vector<std::pair<pid_t, uint64_t>> inside;
    for (pid_t pid : netns_pids(ns)) {
      if (auto start = process_start_time(pid)) inside.emplace_back(pid, *start);
    }
    kill_processes(inside, 1000);
    auto r = run_checked({"ip", "netns", "delete", ns});
    if (!r) problems.push_back(r.error());
  }
  for (const auto& link : l.links) {
    if (!fs::exists("/sys/class/net/" + link)) continue;  // went with its peer's namespace
    auto r = run_checked({"ip", "link", "delete", link});
    // Deleting a namespace removes its veth peers asynchronously: gone by now is fine.
    if (!r && fs::exists("/sys/class/net/" + link)) problems.push_back(r.error());
  }
  for (const auto& dir : l.dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) problems.push_back(fmt::format("{}: {}", dir, ec.message()));
  }
  return problems;
}

}  // namespace trellis::runtime
