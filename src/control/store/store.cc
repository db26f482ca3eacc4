#include "control/store/store.h"

#include <algorithm>

#include "base/log.h"

namespace trellis::control::store {
namespace {

bool has_errors_for(const std::vector<resources::Diagnostic>& diags, const Object& o) {
  for (const auto& d : diags) {
    if (d.severity != resources::Severity::kError) continue;
    if (d.object.name == o.resource.meta.name && d.object.ns == o.resource.meta.ns &&
        d.object.kind == o.resource.type.kind) {
      return true;
    }
  }
  return false;
}

bool any_error(const std::vector<resources::Diagnostic>& diags) {
  return std::any_of(diags.begin(), diags.end(), [](const resources::Diagnostic& d) {
    return d.severity == resources::Severity::kError;
  });
}

void index(Snapshot& s, const ObjectPtr& o) {
  const auto& r = o->resource;
  const std::string& ns = o->key.ns;
  const std::string& name = o->key.name;
  if (const auto* svc = r.as<resources::Service>()) {
    s.services[{ns, name}] = o;
    for (const auto& ip : svc->cluster_ips) s.service_by_cluster_ip[ip.to_string()] = o;
    if (svc->cluster_ip) s.service_by_cluster_ip[svc->cluster_ip->to_string()] = o;
  } else if (r.as<resources::Pod>()) {
    s.pods[{ns, name}] = o;
    s.pods_by_ns[ns].push_back(o);
    for (const auto& ip : o->extras.status.pod_ips) s.pod_by_ip[ip] = o;
  } else if (r.as<resources::Endpoints>()) {
    s.endpoints[{ns, name}] = o;
  } else if (const auto* slice = r.as<resources::EndpointSlice>()) {
    s.slices_by_service[{ns, slice->service_name}].push_back(o);
  } else if (r.as<resources::ExternalWorkload>()) {
    s.external_workloads_by_ns[ns].push_back(o);
  } else if (r.as<resources::ServiceAccount>()) {
    s.service_accounts[{ns, name}] = o;
  } else if (r.as<resources::Namespace>()) {
    s.namespaces[name] = o;
  }
  s.by_kind[o->key.kind].push_back(o);
}

}  // namespace

// ---- Snapshot ----

const Object* Snapshot::find(const std::string& kind, const std::string& ns,
                             const std::string& name) const {
  auto it = by_kind.find(kind);
  if (it == by_kind.end()) return nullptr;
  for (const auto& o : it->second) {
    if (o->key.ns == ns && o->key.name == name) return o.get();
  }
  return nullptr;
}

const Object* Snapshot::service(const std::string& ns, const std::string& name) const {
  auto it = services.find({ns, name});
  return it == services.end() ? nullptr : it->second.get();
}

const Object* Snapshot::pod(const std::string& ns, const std::string& name) const {
  auto it = pods.find({ns, name});
  return it == pods.end() ? nullptr : it->second.get();
}

const Object* Snapshot::namespace_object(const std::string& name) const {
  auto it = namespaces.find(name);
  return it == namespaces.end() ? nullptr : it->second.get();
}

const std::vector<ObjectPtr>& Snapshot::kind(const std::string& kind) const {
  static const std::vector<ObjectPtr> kNone;
  auto it = by_kind.find(kind);
  return it == by_kind.end() ? kNone : it->second;
}

std::set<std::string> Snapshot::namespace_names() const {
  std::set<std::string> out;
  for (const auto& [key, o] : objects) {
    if (!key.ns.empty()) out.insert(key.ns);
    if (key.kind == "Namespace") out.insert(key.name);
  }
  return out;
}

size_t Snapshot::error_count() const {
  return static_cast<size_t>(std::count_if(
      diagnostics.begin(), diagnostics.end(),
      [](const resources::Diagnostic& d) { return d.severity == resources::Severity::kError; }));
}

// ---- Store ----

Store::Watch::~Watch() { store_.unwatch(id_); }

Store::Store(std::unique_ptr<Source> source)
    : source_(std::move(source)), snapshot_(std::make_shared<Snapshot>()) {}

Store::~Store() { stop(); }

void Store::start() {
  if (!source_) {
    apply({}, true);
    return;
  }
  source_->start([this](std::vector<OriginUpdate> updates, bool initial) {
    apply(std::move(updates), initial);
  });
}

void Store::stop() {
  if (source_) source_->stop();
}

SnapshotPtr Store::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

std::unique_ptr<Store::Watch> Store::watch(Watcher watcher) {
  std::lock_guard lock(watch_mu_);
  const uint64_t id = next_watch_++;
  watchers_[id] = std::move(watcher);
  return std::unique_ptr<Watch>(new Watch(*this, id));
}

void Store::unwatch(uint64_t id) {
  std::lock_guard lock(watch_mu_);
  watchers_.erase(id);
}

void Store::apply(std::vector<OriginUpdate> updates, bool initial) {
  std::lock_guard apply_lock(apply_mu_);
  std::set<ObjectKey> changed;

  for (auto& u : updates) {
    auto& in_force = origins_[u.origin];
    if (u.removed) {
      for (const auto& [key, o] : in_force) changed.insert(key);
      origins_.erase(u.origin);
      origin_diagnostics_.erase(u.origin);
      TRELLIS_LOG_INFO("store: {} removed", u.origin);
      continue;
    }
    std::map<ObjectKey, ObjectPtr> next;
    size_t kept = 0;
    for (auto& object : u.objects) {
      const ObjectKey key = object.key;
      if (has_errors_for(u.diagnostics, object)) {
        if (auto prev = in_force.find(key); prev != in_force.end()) {
          next[key] = prev->second;  // the last good version stays in force
          ++kept;
        }
        continue;
      }
      changed.insert(key);
      next[key] = std::make_shared<const Object>(std::move(object));
    }
    if (any_error(u.diagnostics)) {
      // An origin with errors may have lost objects to a syntax error: keep what it had.
      for (const auto& [key, o] : in_force) {
        if (!next.contains(key)) {
          next[key] = o;
          ++kept;
        }
      }
    } else {
      for (const auto& [key, o] : in_force) {
        if (!next.contains(key)) changed.insert(key);
      }
    }
    for (const auto& d : u.diagnostics) {
      if (d.severity == resources::Severity::kError) TRELLIS_LOG_WARN("store: {}", d.format());
    }
    if (!initial) {
      TRELLIS_LOG_INFO("store: reloaded {}: {} objects{}", u.origin, next.size(),
                       kept ? " (" + std::to_string(kept) + " kept from the last good version)"
                            : std::string());
    }
    in_force = std::move(next);
    origin_diagnostics_[u.origin] = std::move(u.diagnostics);
  }

  auto snap = std::make_shared<Snapshot>();
  snap->version = ++version_;
  snap->loaded = initial || snapshot()->loaded;
  // Origins in order; an object defined twice: the later origin wins, with a warning.
  for (const auto& [origin, objects] : origins_) {
    for (const auto& [key, o] : objects) {
      auto [it, inserted] = snap->objects.emplace(key, o);
      if (!inserted) {
        resources::Diagnostic d;
        d.severity = resources::Severity::kWarning;
        d.location = o->resource.location;
        d.object = {o->resource.type.api_version(), key.kind, key.ns, key.name};
        d.message = "also defined in " + it->second->origin + "; this definition is used";
        snap->diagnostics.push_back(std::move(d));
        it->second = o;
      }
    }
  }
  for (const auto& [origin, diags] : origin_diagnostics_) {
    snap->diagnostics.insert(snap->diagnostics.end(), diags.begin(), diags.end());
  }
  std::stable_sort(snap->diagnostics.begin(), snap->diagnostics.end(),
                   [](const resources::Diagnostic& a, const resources::Diagnostic& b) {
                     return std::tie(a.location.file, a.location.line, a.location.column) <
                            std::tie(b.location.file, b.location.line, b.location.column);
                   });
  for (const auto& [key, o] : snap->objects) index(*snap, o);

  SnapshotPtr published = snap;
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = published;
  }
  if (initial) {
    TRELLIS_LOG_INFO("store: loaded {} objects from {} ({} errors)", published->objects.size(),
                     description(), published->error_count());
  }
  Change change{published, std::move(changed)};
  std::lock_guard lock(watch_mu_);
  for (auto& [id, watcher] : watchers_) watcher(change);
}

}  // namespace trellis::control::store
