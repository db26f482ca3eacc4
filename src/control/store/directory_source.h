#pragma once
// DirectorySource: every *.yaml, *.yml and *.json under a directory (recursively, hidden entries
// skipped), decoded with the resources module exactly as `trellis validate` does, and reloaded
// when files change.
//
// Change detection: inotify on every directory of the tree. Events only mark the tree dirty; after
// a quiet period (debounce: editors write, rename and chmod in bursts) the tree is rescanned and
// files whose content changed are reloaded, vanished files reported removed. A rescan also adds
// watches for new subdirectories, so renames, atomic saves (write temp + rename) and `mv dir`
// are all handled the same way. An inotify queue overflow just causes a rescan.

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "control/store/source.h"

namespace trellis::control::store {

struct DirectorySourceOptions {
  std::chrono::milliseconds debounce{100};   // quiet time after the last event
  std::chrono::milliseconds max_delay{500};  // reload at the latest this long after the first
};

class DirectorySource final : public Source {
 public:
  explicit DirectorySource(std::string dir, DirectorySourceOptions options = {});
  ~DirectorySource() override;

  void start(Sink sink) override;
  void stop() override;
  std::string description() const override { return dir_; }

  // Scans the tree now and returns the origins that changed since the last scan (all of them
  // on the first). Used by the watch thread; public for tests.
  std::vector<OriginUpdate> rescan();

 private:
  void run();
  void add_watches();

  const std::string dir_;
  const DirectorySourceOptions options_;
  Sink sink_;
  std::thread thread_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the poll
  std::atomic<bool> stopping_{false};
  std::map<int, std::string> watches_;       // watch descriptor -> directory
  std::set<std::string> watched_dirs_;
  std::map<std::string, std::string> files_;  // relative path -> content last loaded
};

// Decodes one file's content into an OriginUpdate (origin = `relative`).
OriginUpdate load_origin(const std::string& relative, std::string_view content);

}  // namespace trellis::control::store
