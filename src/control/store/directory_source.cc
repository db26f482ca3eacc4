#include "control/store/directory_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "control/store/extras.h"
#include "resources/load.h"

namespace trellis::control::store {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                IN_MOVE_SELF | IN_ONLYDIR;

// Reads a whole file; nullopt when it vanished or cannot be read (a rescan comes later).
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

std::string relative_to(const std::string& dir, const std::string& path) {
  std::error_code ec;
  fs::path rel = fs::relative(path, dir, ec);
  return ec ? path : rel.string();
}

}  // namespace

OriginUpdate load_origin(const std::string& relative, std::string_view content) {
  OriginUpdate update;
  update.origin = relative;
  resources::Diagnostics diags;
  std::vector<resources::Resource> decoded;
  if (content.size() > resources::kMaxManifestBytes) {
    diags.error({relative, 0, 0}, {}, "",
                "file is larger than " + std::to_string(resources::kMaxManifestBytes) +
                    " bytes");
  } else {
    resources::load_text(content, relative, decoded, diags);
  }
  bool has_pods = false;
  for (const auto& r : decoded) has_pods = has_pods || r.as<resources::Pod>() != nullptr;
  std::map<RawKey, ObjectExtras> extras;
  if (has_pods) extras = extract_extras(content);
  for (auto& r : decoded) {
    Object object;
    object.key = key_of(r);
    object.origin = relative;
    if (auto it = extras.find(RawKey{r.type.kind, r.meta.ns, r.meta.name}); it != extras.end()) {
      object.extras = it->second;
    }
    object.resource = std::move(r);
    update.objects.push_back(std::move(object));
  }
  update.diagnostics = diags.items();
  return update;
}

DirectorySource::DirectorySource(std::string dir, DirectorySourceOptions options)
    : dir_(std::move(dir)), options_(options) {}

DirectorySource::~DirectorySource() { stop(); }

void DirectorySource::start(Sink sink) {
  sink_ = std::move(sink);
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_fd_ < 0) {
    TRELLIS_LOG_WARN("store: inotify unavailable ({}); reloading by polling every second",
                     std::strerror(errno));
  }
  add_watches();
  sink_(rescan(), true);
  thread_ = std::thread([this] { run(); });
}

void DirectorySource::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

void DirectorySource::add_watches() {
  if (inotify_fd_ < 0) return;
  std::vector<std::string> dirs{dir_};
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code e2;
    if (!it->is_directory(e2)) continue;
    if (!name.empty() && name[0] == '.') {
      it.disable_recursion_pending();
      continue;
    }
    dirs.push_back(it->path().string());
  }
  for (const auto& d : dirs) {
    if (watched_dirs_.contains(d)) continue;
    const int wd = inotify_add_watch(inotify_fd_, d.c_str(), kWatchMask);
    if (wd < 0) continue;  // vanished meanwhile: the next rescan settles it
    watches_[wd] = d;
    watched_dirs_.insert(d);
  }
}

std::vector<OriginUpdate> DirectorySource::rescan() {
  std::vector<OriginUpdate> updates;
  auto listed = resources::collect_manifest_files(dir_);
  if (!listed) {
    TRELLIS_LOG_WARN("store: cannot list {}: {}", dir_, listed.error());
    return updates;
  }
  std::set<std::string> present;
  for (const auto& path : *listed) {
    const std::string rel = relative_to(dir_, path);
    auto content = read_file(path);
    if (!content) continue;  // vanished between listing and reading
    present.insert(rel);
    auto known = files_.find(rel);
    if (known != files_.end() && known->second == *content) continue;
    updates.push_back(load_origin(rel, *content));
    files_[rel] = std::move(*content);
  }
  for (auto it = files_.begin(); it != files_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    OriginUpdate removed;
    removed.origin = it->first;
    removed.removed = true;
    updates.push_back(std::move(removed));
    it = files_.erase(it);
  }
  return updates;
}

void DirectorySource::run() {
  using Clock = std::chrono::steady_clock;
  bool pending = false;  // events seen, rescan not done yet
  Clock::time_point first_event{};
  Clock::time_point last_event{};
  alignas(inotify_event) char buffer[16 * 1024];
  while (!stopping_.load()) {
    int timeout_ms = 1000;
    if (pending) {
      const auto now = Clock::now();
      const auto due = std::min(last_event + options_.debounce, first_event + options_.max_delay);
      timeout_ms = static_cast<int>(
          std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(due - now)
                                   .count()));
    }
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const int n = ::poll(fds, inotify_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (stopping_.load()) break;
    bool event = false;
    if (n > 0 && inotify_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      while (true) {
        const ssize_t len = ::read(inotify_fd_, buffer, sizeof buffer);
        if (len <= 0) break;
        for (ssize_t off = 0; off < len;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buffer + off);
          if (ev->mask & (IN_IGNORED | IN_MOVE_SELF | IN_DELETE_SELF)) {
            // The directory is gone or was moved (its watch would follow it out of the tree):
            // forget it; the rescan re-adds whatever directory now has that path.
            if (auto it = watches_.find(ev->wd); it != watches_.end()) {
              if (!(ev->mask & IN_IGNORED)) inotify_rm_watch(inotify_fd_, ev->wd);
              watched_dirs_.erase(it->second);
              watches_.erase(it);
            }
          }
          event = true;
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
      }
    }
    const auto now = Clock::now();
    if (event) {
      if (!pending) first_event = now;
      pending = true;
      last_event = now;
    }
    const bool due = pending && (now >= last_event + options_.debounce ||
                                 now >= first_event + options_.max_delay);
    // Without inotify, poll the tree every second.
    if (!due && !(inotify_fd_ < 0 && n == 0)) continue;
    pending = false;
    add_watches();
    auto updates = rescan();
    if (!updates.empty()) sink_(std::move(updates), false);
  }
}

}  // namespace trellis::control::store
