#include "control/identity/token_writer.h"

#include "base/log.h"
#include "control/identity/token.h"
#include "tls/identity.h"

namespace trellis::control::identity {

std::set<ServiceAccountKey> implied_service_accounts(const store::Snapshot& snapshot) {
  std::set<ServiceAccountKey> out;
  auto add = [&](const std::string& ns, const std::string& sa) {
    const std::string name = sa.empty() ? std::string("default") : sa;
    // Both become path components: only DNS-1123 labels (no "..", no "/").
    if (tls::is_dns1123_label(ns) && tls::is_dns1123_label(name)) out.insert({ns, name});
  };
  for (const auto& [key, sa] : snapshot.service_accounts) add(key.first, key.second);
  for (const auto& ns : snapshot.namespace_names()) add(ns, "default");
  for (const auto& [key, pod] : snapshot.pods) {
    add(key.first, pod->resource.as<resources::Pod>()->spec.service_account_name);
  }
  for (const auto& o : snapshot.kind("Deployment")) {
    if (const auto* d = o->resource.as<resources::Deployment>()) {
      add(o->key.ns, d->pod_template.spec.service_account_name);
    }
  }
  return out;
}

TokenWriter::TokenWriter(store::Store& store, std::string key, std::string dir,
                         std::chrono::seconds ttl)
    : store_(store), key_(std::move(key)), dir_(std::move(dir)), ttl_(ttl) {}

TokenWriter::~TokenWriter() { stop(); }

size_t TokenWriter::sync(const store::Snapshot& snapshot,
                         std::chrono::system_clock::time_point now) {
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const int64_t ttl_s = ttl_.count();
  size_t written = 0;
  for (const auto& sa : implied_service_accounts(snapshot)) {
    auto it = issued_at_.find(sa);
    if (it != issued_at_.end() && now_s - it->second < ttl_s / 2) continue;
    const TokenClaims claims{sa.second, sa.first, now_s, now_s + ttl_s};
    const std::string path = dir_ + "/" + sa.first + "/" + sa.second + "/token";
    auto ok = write_file_atomically(path, issue_token(key_, claims), 0600);
    if (!ok) {
      TRELLIS_LOG_WARN("identity: cannot write the token of {}/{}: {}", sa.first, sa.second,
                       ok.error());
      continue;
    }
    TRELLIS_LOG_DEBUG("identity: wrote the token of {}/{}", sa.first, sa.second);
    issued_at_[sa] = now_s;
    ++written;
  }
  return written;
}

void TokenWriter::start() {
  sync(*store_.snapshot(), std::chrono::system_clock::now());
  watch_ = store_.watch([this](const store::Change&) {
    std::lock_guard lock(mu_);
    changed_ = true;
    cv_.notify_one();
  });
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      // Renewal is due at half the TTL; a 1 s tick keeps that precise for short test TTLs.
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || changed_; });
      if (stopping_) break;
      changed_ = false;
      lock.unlock();
      sync(*store_.snapshot(), std::chrono::system_clock::now());
      lock.lock();
    }
  });
}

void TokenWriter::stop() {
  watch_.reset();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

}  // namespace trellis::control::identity
