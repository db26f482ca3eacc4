#pragma once
// TokenWriter: keeps `<token-dir>/<ns>/<sa>/token` (C-3) current for every service account the
// store implies — ServiceAccount objects, the `default` account of every namespace that appears
// in any resource, and every serviceAccountName of a Pod or a Deployment's pod template. A token
// is rewritten (atomically, mode 0600) once half its TTL has passed, so a mounted token is never
// close to expiry. Tokens of accounts that disappear are left to expire.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "control/store/store.h"

namespace trellis::control::identity {

using ServiceAccountKey = std::pair<std::string, std::string>;  // namespace, service account

// The service accounts `snapshot` implies (see above); invalid names are skipped.
std::set<ServiceAccountKey> implied_service_accounts(const store::Snapshot& snapshot);

class TokenWriter {
 public:
  TokenWriter(store::Store& store, std::string key, std::string dir,
              std::chrono::seconds ttl);
  ~TokenWriter();

  // Writes what is due now, then keeps tokens current on a thread of its own.
  void start();
  void stop();

  // Writes every token that is missing or past half its TTL at `now`; returns how many.
  size_t sync(const store::Snapshot& snapshot, std::chrono::system_clock::time_point now);

 private:
  store::Store& store_;
  const std::string key_;
  const std::string dir_;
  const std::chrono::seconds ttl_;

  std::map<ServiceAccountKey, int64_t> issued_at_;  // only touched by sync()
  std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false;
  bool stopping_ = false;
  std::unique_ptr<store::Store::Watch> watch_;
  std::thread thread_;
};

}  // namespace trellis::control::identity
