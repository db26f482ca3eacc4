#pragma once
// Store: the control plane's view of every resource, with typed indexes and watches.
//
// One thread mutates (the source's): each batch of origin updates produces a new immutable
// Snapshot, published atomically; readers take a shared_ptr<const Snapshot> and never lock
// while using it. Watchers are told which objects changed, with the snapshot that contains the
// change, so destination and policy streams re-evaluate only what concerns them.
//
// Invalid resources: an object whose new version has errors is reported (log + diagnostics in
// the snapshot, for /api/v1/status) and its last good version stays in force. In an origin with
// errors nothing disappears (a syntax error may hide objects); objects leave when their origin
// decodes cleanly without them, or is removed.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "control/store/object.h"
#include "control/store/source.h"
#include "resources/diagnostics.h"

namespace trellis::control::store {

using NsName = std::pair<std::string, std::string>;  // namespace, name

struct Snapshot {
  uint64_t version = 0;
  bool loaded = false;  // the source's initial content is in
  std::map<ObjectKey, ObjectPtr> objects;
  // Every current problem, sorted by file and line.
  std::vector<resources::Diagnostic> diagnostics;

  // ---- indexes ----
  std::map<NsName, ObjectPtr> services;
  std::map<std::string, ObjectPtr> service_by_cluster_ip;  // textual IP
  std::map<std::string, std::vector<ObjectPtr>> pods_by_ns;
  std::map<std::string, ObjectPtr> pod_by_ip;
  std::map<NsName, ObjectPtr> pods;
  std::map<NsName, ObjectPtr> endpoints;                          // by service (same name)
  std::map<NsName, std::vector<ObjectPtr>> slices_by_service;     // kubernetes.io/service-name
  std::map<std::string, std::vector<ObjectPtr>> external_workloads_by_ns;
  std::map<NsName, ObjectPtr> service_accounts;
  std::map<std::string, ObjectPtr> namespaces;
  // Everything else by kind ("ServiceProfile", "TrafficSplit", "HTTPRoute", "GRPCRoute",
  // "Server", "AuthorizationPolicy", ...), in key order.
  std::map<std::string, std::vector<ObjectPtr>> by_kind;

  const Object* find(const std::string& kind, const std::string& ns,
                     const std::string& name) const;
  const Object* service(const std::string& ns, const std::string& name) const;
  const Object* pod(const std::string& ns, const std::string& name) const;
  const Object* namespace_object(const std::string& name) const;
  const std::vector<ObjectPtr>& kind(const std::string& kind) const;
  // Namespaces that appear anywhere: Namespace objects and every namespaced object's namespace.
  std::set<std::string> namespace_names() const;
  size_t error_count() const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

struct Change {
  SnapshotPtr snapshot;
  std::set<ObjectKey> changed;  // added, modified or removed
};

class Store {
 public:
  using Watcher = std::function<void(const Change&)>;

  // Unsubscribes on destruction; once destroyed the watcher is not running and never runs again.
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    friend class Store;
    Watch(Store& store, uint64_t id) : store_(store), id_(id) {}
    Store& store_;
    uint64_t id_;
  };

  explicit Store(std::unique_ptr<Source> source = nullptr);
  ~Store();

  // Starts the source; its initial content is applied before start() returns.
  void start();
  void stop();

  SnapshotPtr snapshot() const;
  std::string description() const { return source_ ? source_->description() : "memory"; }

  // The watcher runs on the store's thread after every change; it must not block nor call
  // watch()/~Watch on this store.
  std::unique_ptr<Watch> watch(Watcher watcher);

  // Applies origin updates (what the source's sink does; tests feed it directly).
  void apply(std::vector<OriginUpdate> updates, bool initial);

 private:
  void unwatch(uint64_t id);

  std::unique_ptr<Source> source_;
  mutable std::mutex snapshot_mu_;
  SnapshotPtr snapshot_;

  std::mutex apply_mu_;  // serialises apply()
  // Per origin: the objects in force (their last good versions) and the current diagnostics.
  std::map<std::string, std::map<ObjectKey, ObjectPtr>> origins_;
  std::map<std::string, std::vector<resources::Diagnostic>> origin_diagnostics_;
  uint64_t version_ = 0;

  std::mutex watch_mu_;  // held while watchers run, so ~Watch waits for a running callback
  uint64_t next_watch_ = 1;
  std::map<uint64_t, Watcher> watchers_;
};

}  // namespace trellis::control::store
