#pragma once
// A DiscoverySource read from a YAML or JSON file, reloaded when the file changes (checked every
// poll interval; editors that replace the file are handled). A file with errors is reported and
// the last good snapshot stays in force.
//
//   services:
//     - name: web
//       namespace: emojivoto
//       clusterIPs: [198.19.0.10]
//       ports:
//         - port: 80
//           name: http
//           opaque: false
//           endpoints:
//             - address: 127.0.0.1:8080
//               weight: 1
//               identity: web.emojivoto.serviceaccount.identity.linkerd.cluster.local
//               protocolHint: h2        # unknown | h2 | opaque
//               labels: {pod: web-5f7d, deployment: web}

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/asio.h"
#include "proxy/discovery/snapshot.h"

namespace trellis::proxy::discovery {

// Parses discovery file content. Errors name the file, line and field.
base::Result<Snapshot, std::string> parse_discovery_file(std::string_view text,
                                                         const std::string& file_name);

class StaticFileSource final : public DiscoverySource {
 public:
  explicit StaticFileSource(std::string path);

  // Loads the file now. Returns the error if it cannot be loaded (at start-up the caller decides
  // whether that is fatal); the previous snapshot (initially empty) stays in force.
  base::Result<base::Ok, std::string> reload();
  // Polls the file for changes on `io` until `io` stops.
  void start_polling(net::asio::io_context& io,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(500));

  SnapshotPtr current() const override { return current_.load(); }
  void watch(std::function<void(SnapshotPtr)> on_change) override;

  uint64_t reload_count() const { return reloads_.load(); }
  uint64_t error_count() const { return errors_.load(); }
  std::string last_error() const;

 private:
  net::awaitable<void> poll_loop(std::chrono::milliseconds interval);
  bool changed_on_disk();

  std::string path_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::vector<std::function<void(SnapshotPtr)>> watchers_;
  std::filesystem::file_time_type mtime_{};
  uintmax_t size_ = 0;
  uint64_t inode_ = 0;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> errors_{0};
  mutable std::mutex error_mu_;  // guards last_error_ (admin reads it; never on the data path)
  std::string last_error_;
};

}  // namespace trellis::proxy::discovery
