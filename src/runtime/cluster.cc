#include "runtime/cluster.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "base/log.h"
#include "base/strings.h"
#include "runtime/probe.h"
#include "runtime/process.h"
#include "runtime/system.h"

namespace trellis::runtime {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kDrainDelay = 1s;        // endpoints withdrawn before the pod is signalled
constexpr auto kMaxGrace = 10s;         // TERM → KILL, at most
constexpr auto kMaxBackoff = 10s;       // restart backoff cap
constexpr auto kStartupProbePeriod = 1s;  // probe period until a container is first ready
// Meshed pods: client proxies learn of a withdrawn endpoint through the control plane.
constexpr auto kMeshDrainDelay = 2s;
constexpr auto kIdentitySyncPeriod = 2s;  // a pod's token copy is compared with the source
constexpr auto kInitTimeout = 20s;        // `trellis-proxy init`
constexpr const char* kTokenFile = "token";
constexpr const char* kAnchorsFile = "trust-anchors.crt";
constexpr const char* kPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string pod_key(const std::string& ns, const std::string& name) { return ns + "/" + name; }

uint32_t v4_host_order(const base::IpAddress& ip) {
  const auto& b = ip.bytes();
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

struct Cluster::Object {
  ManifestObject m;
  std::string uid;
  std::string created;
  int64_t generation = 1;
};

struct Cluster::Container {
  resources::Container spec;
  bool is_proxy = false;
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  bool running = false;
  bool started_once = false;
  bool gave_up = false;  // restartPolicy says no more
  int restarts = 0;
  int quick_failures = 0;
  int last_exit = 0;
  std::string last_error;
  Clock::time_point started_at{};
  Clock::time_point restart_at{};
  std::string started_rfc;
  // Readiness
  bool ready = false;
  bool ever_ready = false;
  int ok_streak = 0;
  int fail_streak = 0;
  bool probing = false;
  Clock::time_point next_probe{};
  std::string log_file;
};

struct Cluster::Pod {
  std::string ns;
  std::string name;
  std::string uid;
  std::string owner;  // Deployment name, empty for a bare Pod
  std::string hash;   // pod-template-hash
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  json spec_raw;
  resources::PodSpec spec;
  PodNetwork net;
  bool net_ready = false;
  std::vector<Container> containers;
  std::string created;
  Clock::time_point created_at{};
  std::string dir;
  std::string setup_error;
  Clock::time_point retry_setup_at{};
  bool terminating = false;
  bool term_sent = false;
  Clock::time_point term_at{};
  Clock::time_point kill_at{};
  bool killed = false;
  // Meshed pods: the injection plan, whether `trellis-proxy init` ran, the identity files.
  std::optional<inject::InjectionPlan> mesh;
  std::string plan_error;  // bad config.linkerd.io annotations: nothing starts
  bool mesh_init_done = false;
  std::string token_copied;    // content last copied for the proxy ("" = none yet)
  std::string anchors_copied;
  Clock::time_point next_identity_sync{};
};

Cluster::Cluster(net::asio::io_context& io, RuntimeOptions options, Ledger& ledger,
                 ClusterNetwork& network)
    : io_(io),
      options_(std::move(options)),
      paths_{options_.state_dir},
      ledger_(ledger),
      network_(network),
      alive_(std::make_shared<bool>(true)) {
  fs::create_directories(paths_.store());
  fs::create_directories(paths_.pods());
  fs::create_directories(paths_.tokens());
  // The proxy (UID 2102) reads its token and anchors under pods/<pod>/: every directory on the
  // way must be traversable, none listable.
  for (const auto& dir : {paths_.root, paths_.pods()}) {
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  ::chmod(paths_.tokens().c_str(), 0700);
  control_ = std::make_unique<ControlPlane>(io_, options_, paths_, ledger_);
}

Cluster::~Cluster() { *alive_ = false; }

// ---------------------------------------------------------------- requests

json Cluster::apply(const std::vector<ManifestDocument>& docs) {
  std::vector<std::string> warnings;
  auto decoded = decode_manifests(docs, warnings);
  if (!decoded) return {{"ok", false}, {"error", decoded.error()}};
  // Bad config.linkerd.io annotations are refused here rather than leaving pods never ready.
  std::string plan_errors;
  for (const auto& m : *decoded) {
    const json* tmpl = nullptr;
    const resources::PodSpec* spec = nullptr;
    if (const auto* d = m.res.as<resources::Deployment>()) {
      tmpl = &m.raw["spec"]["template"];
      spec = &d->pod_template.spec;
    } else if (const auto* p = m.res.as<resources::Pod>()) {
      tmpl = &m.raw;
      spec = &p->spec;
    }
    if (!tmpl) continue;
    auto planned = plan_for(m.key.kind, m.key.name, m.key.ns, *tmpl, *spec, m.key.name, "",
                            &*decoded);
    if (!planned) plan_errors += planned.error() + "\n";
  }
  if (!plan_errors.empty()) return {{"ok", false}, {"error", plan_errors}};
  json changes = json::array();
  for (auto& m : *decoded) {
    const std::string what = fmt::format("{}/{}", base::to_lower(m.key.kind), m.key.name);
    auto it = objects_.find(m.key);
    if (it != objects_.end()) {
      if (it->second->m.raw == m.raw) {
        changes.push_back(what + " unchanged");
        continue;
      }
      it->second->m = std::move(m);
      ++it->second->generation;
      changes.push_back(what + " configured");
    } else {
      auto obj = std::make_unique<Object>();
      obj->uid = random_uid();
      obj->created = now_rfc3339();
      obj->m = std::move(m);
      changes.push_back(what + " created");
      objects_.emplace(obj->m.key, std::move(obj));
    }
  }
  tick();
  return {{"ok", true}, {"changes", changes}, {"warnings", warnings}};
}

json Cluster::remove(const std::vector<ManifestDocument>& docs) {
  std::vector<std::string> warnings;
  auto decoded = decode_manifests(docs, warnings);
  if (!decoded) return {{"ok", false}, {"error", decoded.error()}};
  json changes = json::array();
  for (const auto& m : *decoded) {
    const std::string what = fmt::format("{}/{}", base::to_lower(m.key.kind), m.key.name);
    if (objects_.erase(m.key) == 0) {
      changes.push_back(what + " not found");
      continue;
    }
    if (m.key.kind == "Service") cluster_ips_.erase(pod_key(m.key.ns, m.key.name));
    changes.push_back(what + " deleted");
  }
  tick();
  return {{"ok", true}, {"changes", changes}};
}

json Cluster::get(const std::string& what, const std::string& ns, bool all_namespaces) {
  const std::string want_ns = ns.empty() ? "default" : ns;
  auto in_scope = [&](const std::string& object_ns) {
    return all_namespaces || object_ns == want_ns;
  };
  json items = json::array();
  const bool all = what == "all";
  if (what == "pods" || what == "pod" || what == "po" || all) {
    for (const auto& [key, pod] : pods_) {
      if (in_scope(pod->ns)) items.push_back(pod_json(*pod));
    }
  }
  if (what == "services" || what == "service" || what == "svc" || all) {
    for (const auto& [key, obj] : objects_) {
      if (key.kind == "Service" && in_scope(key.ns)) items.push_back(service_json(*obj));
    }
  }
  if (what == "deployments" || what == "deployment" || what == "deploy" || all) {
    for (const auto& [key, obj] : objects_) {
      if (key.kind == "Deployment" && in_scope(key.ns)) items.push_back(deployment_json(*obj));
    }
  }
  if (what == "namespaces" || what == "namespace" || what == "ns") {
    std::map<std::string, json> found;
    found["default"] = nullptr;
    for (const auto& [key, obj] : objects_) {
      if (!key.ns.empty()) found.emplace(key.ns, nullptr);
      if (key.kind == "Namespace") found[key.name] = obj->m.raw;
    }
    for (auto& [name, raw] : found) {
      json j = raw.is_null() ? json{{"apiVersion", "v1"}, {"kind", "Namespace"},
                                    {"metadata", {{"name", name}}}}
                             : raw;
      j["status"] = {{"phase", "Active"}};
      if (!j["metadata"].contains("creationTimestamp")) {
        j["metadata"]["creationTimestamp"] = now_rfc3339();
      }
      items.push_back(std::move(j));
    }
  }
  return {{"ok", true}, {"items", items}};
}

json Cluster::status() {
  json not_ready = json::array();
  if (!control_->ready()) not_ready.push_back(control_->problem());
  for (const auto& [key, obj] : objects_) {
    if (key.kind != "Deployment") continue;
    const auto* d = obj->m.res.as<resources::Deployment>();
    const std::string hash = template_hash(obj->m.raw["spec"]["template"]);
    int updated_ready = 0;
    int others = 0;
    for (const auto& [pk, pod] : pods_) {
      if (pod->ns != key.ns || pod->owner != key.name) continue;
      if (pod->hash == hash && !pod->terminating && pod_ready(*pod)) {
        ++updated_ready;
      } else {
        ++others;
      }
    }
    if (updated_ready != d->replicas || others != 0) {
      not_ready.push_back(fmt::format("deployment {}/{}: {}/{} updated replicas ready{}", key.ns,
                                      key.name, updated_ready, d->replicas,
                                      others ? fmt::format(", {} old or not ready", others) : ""));
    }
  }
  for (const auto& [pk, pod] : pods_) {
    if (pod->terminating || pod_ready(*pod)) continue;
    std::string why;
    if (!pod->setup_error.empty()) why = pod->setup_error;
    for (const auto& c : pod->containers) {
      if (!why.empty()) break;
      if (!c.last_error.empty()) {
        why = fmt::format("container {}: {}", c.spec.name, c.last_error);
      } else if (!c.running && c.started_once) {
        why = fmt::format("container {} exited with code {} (restarts: {})", c.spec.name,
                          c.last_exit, c.restarts);
      } else if (c.running && !c.ready) {
        why = c.is_proxy
                  ? fmt::format("container {}: the proxy's /ready has not answered 200 (no "
                                "certificate yet? see `trellis logs -n {} {} -c {}`)",
                                c.spec.name, pod->ns, pod->name, c.spec.name)
                  : fmt::format("container {} is running but its readiness probe has not passed",
                                c.spec.name);
      }
    }
    not_ready.push_back(fmt::format("pod {}/{}: not ready{}", pod->ns, pod->name,
                                    why.empty() ? "" : " (" + why + ")"));
  }
  return {{"ok", true}, {"ready", not_ready.empty()}, {"notReady", not_ready}};
}

json Cluster::pod_info(const std::string& ns, const std::string& name) {
  auto it = pods_.find(pod_key(ns, name));
  if (it == pods_.end()) {
    return {{"ok", false}, {"error", fmt::format("pod \"{}\" not found in namespace \"{}\"",
                                                 name, ns)}};
  }
  const Pod& pod = *it->second;
  json containers = json::array();
  for (const auto& c : pod.containers) {
    containers.push_back({{"name", c.spec.name}, {"log", c.log_file}, {"proxy", c.is_proxy}});
  }
  return {{"ok", true},
          {"netns", pod.net.netns},
          {"hostsFile", pod.net.hosts_file},
          {"hostname", pod.name.substr(0, 63)},
          {"ip", pod.net_ready ? pod.net.ip.to_string() : ""},
          {"containers", containers}};
}

// ---------------------------------------------------------------- reconciliation

void Cluster::tick() {
  control_->tick();
  reconcile_deployments();
  reconcile_bare_pods();
  // ClusterIPs first, so that a new pod's hosts file names every Service from the start.
  for (const auto& [key, obj] : objects_) {
    if (key.kind == "Service") allocate_cluster_ip(*obj);
  }
  on_child_exit();
  std::vector<std::string> gone;
  for (auto& [key, pod] : pods_) {
    run_pod(*pod);
    if (pod->terminating && pod->killed) gone.push_back(key);
  }
  for (const auto& key : gone) pods_.erase(key);
  publish();
}

void Cluster::reconcile_deployments() {
  for (const auto& [key, obj] : objects_) {
    if (key.kind != "Deployment") continue;
    const auto& d = *obj->m.res.as<resources::Deployment>();
    const json& tmpl = obj->m.raw["spec"]["template"];
    const std::string hash = template_hash(tmpl);
    std::vector<Pod*> fresh, old;
    bool old_terminating = false;
    for (auto& [pk, pod] : pods_) {
      if (pod->ns != key.ns || pod->owner != key.name) continue;
      if (pod->terminating) {
        if (pod->hash != hash) old_terminating = true;
        continue;
      }
      (pod->hash == hash ? fresh : old).push_back(pod.get());
    }
    const int replicas = d.replicas;
    auto create = [&] {
      const std::string name = fmt::format("{}-{}-{}", key.name, hash, random_suffix(5));
      create_pod(key.ns, name, key.name, hash, tmpl, d.pod_template.spec);
    };
    // Newest first: these are the ones given up when scaling down.
    auto newest_first = [](std::vector<Pod*>& v) {
      std::sort(v.begin(), v.end(), [](Pod* a, Pod* b) { return a->created_at > b->created_at; });
    };
    if (d.paused) continue;
    if (d.strategy == resources::DeploymentStrategy::kRecreate) {
      for (Pod* p : old) terminate(*p);
      if (!old.empty() || old_terminating) continue;  // new pods once the old ones are gone
      for (int i = static_cast<int>(fresh.size()); i < replicas; ++i) create();
    } else {
      int64_t surge = d.max_surge.resolve(replicas, true);
      const int64_t unavailable = d.max_unavailable.resolve(replicas, false);
      if (surge == 0 && unavailable == 0) surge = 1;
      const int64_t min_available = replicas - unavailable;
      int64_t total = static_cast<int64_t>(fresh.size() + old.size());
      for (int64_t n = static_cast<int64_t>(fresh.size());
           n < replicas && total < replicas + surge; ++n, ++total) {
        create();
      }
      int64_t ready = 0;
      for (Pod* p : fresh) ready += pod_ready(*p) ? 1 : 0;
      for (Pod* p : old) ready += pod_ready(*p) ? 1 : 0;
      // Old pods that are not ready cost no availability: they go first.
      newest_first(old);
      for (Pod* p : old) {
        if (!pod_ready(*p)) terminate(*p);
      }
      std::reverse(old.begin(), old.end());  // oldest first among the ready ones
      for (Pod* p : old) {
        if (p->terminating) continue;
        if (ready - 1 < min_available) break;
        terminate(*p);
        --ready;
      }
    }
    if (static_cast<int>(fresh.size()) > replicas) {
      // Scale down: not-ready ones first, then the newest.
      newest_first(fresh);
      std::stable_partition(fresh.begin(), fresh.end(),
                            [&](Pod* p) { return !pod_ready(*p); });
      for (size_t i = 0; i < fresh.size() - static_cast<size_t>(replicas); ++i) {
        terminate(*fresh[i]);
      }
    }
  }
  // Pods whose Deployment is gone.
  for (auto& [pk, pod] : pods_) {
    if (pod->owner.empty() || pod->terminating) continue;
    if (!objects_.contains(ObjectKey{"Deployment", pod->ns, pod->owner})) terminate(*pod);
  }
}

void Cluster::reconcile_bare_pods() {
  for (const auto& [key, obj] : objects_) {
    if (key.kind != "Pod") continue;
    const std::string hash = template_hash(obj->m.raw);
    auto it = pods_.find(pod_key(key.ns, key.name));
    if (it != pods_.end()) {
      // Pods are immutable: a changed manifest replaces the pod once the old one is gone.
      if (it->second->hash != hash && !it->second->terminating) terminate(*it->second);
      continue;
    }
    create_pod(key.ns, key.name, "", hash, obj->m.raw, obj->m.res.as<resources::Pod>()->spec);
  }
  for (auto& [pk, pod] : pods_) {
    if (!pod->owner.empty() || pod->terminating) continue;
    if (!objects_.contains(ObjectKey{"Pod", pod->ns, pod->name})) terminate(*pod);
  }
}

Cluster::Pod* Cluster::create_pod(const std::string& ns, const std::string& name,
                                  const std::string& owner, const std::string& hash,
                                  const json& pod_template, const resources::PodSpec& spec) {
  auto pod = std::make_unique<Pod>();
  pod->ns = ns;
  pod->name = name;
  pod->uid = random_uid();
  pod->owner = owner;
  pod->hash = hash;
  const json& md = pod_template.contains("metadata") ? pod_template["metadata"] : json::object();
  if (md.contains("labels") && md["labels"].is_object()) {
    for (auto& [k, v] : md["labels"].items()) pod->labels[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (md.contains("annotations") && md["annotations"].is_object()) {
    for (auto& [k, v] : md["annotations"].items()) pod->annotations[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (!owner.empty()) pod->labels["pod-template-hash"] = hash;
  pod->spec_raw = pod_template.contains("spec") ? pod_template["spec"] : json::object();
  pod->spec = spec;
  pod->created = now_rfc3339();
  pod->created_at = Clock::now();
  pod->dir = paths_.pod_dir(ns, name);
  fs::create_directories(pod->dir);
  std::string order;
  auto planned = plan_for(owner.empty() ? "Pod" : "Deployment", owner.empty() ? name : owner, ns,
                          pod_template, spec, name, pod->dir);
  if (!planned) {
    pod->plan_error = planned.error();
  } else if (planned->inject) {
    for (const auto& [k, v] : planned->labels) pod->labels[k] = v;
    for (const auto& [k, v] : planned->annotations) pod->annotations[k] = v;
    // The proxy is the first container, as injected on Kubernetes: it starts first.
    Container proxy;
    proxy.is_proxy = true;
    proxy.spec.name = inject::kProxyContainerName;
    proxy.spec.image = "trellis-proxy";
    resources::Probe ready;
    ready.handler = resources::ProbeHandler::kHttpGet;
    ready.port = resources::PortRef{static_cast<int32_t>(planned->admin_port)};
    ready.path = "/ready";
    ready.period = 2s;
    proxy.spec.readiness_probe = ready;
    proxy.log_file = pod->dir + "/" + proxy.spec.name + ".log";
    order += proxy.spec.name + "\n";
    pod->containers.push_back(std::move(proxy));
    pod->mesh = std::move(*planned);
  }
  for (const auto& c : spec.containers) {
    Container cs;
    cs.spec = c;
    cs.log_file = pod->dir + "/" + c.name + ".log";
    order += c.name + "\n";
    pod->containers.push_back(std::move(cs));
  }
  (void)write_file_atomic(pod->dir + "/containers", order);
  TRELLIS_LOG_INFO("pod {}/{} created", ns, name);
  Pod* raw = pod.get();
  pods_[pod_key(ns, name)] = std::move(pod);
  return raw;
}

void Cluster::terminate(Pod& pod) {
  if (pod.terminating) return;
  pod.terminating = true;
  pod.term_at = Clock::now() + (pod.mesh ? kMeshDrainDelay : kDrainDelay);
  TRELLIS_LOG_INFO("pod {}/{} terminating", pod.ns, pod.name);
}

bool Cluster::pod_ready(const Pod& pod) const {
  if (pod.terminating || !pod.net_ready || pod.containers.empty()) return false;
  return std::all_of(pod.containers.begin(), pod.containers.end(),
                     [](const Container& c) { return c.running && c.ready; });
}

std::optional<base::IpAddress> Cluster::allocate_pod_ip() {
  // 198.18.0.2 .. 198.18.255.253; 0.1 is the gateway, 255.254 the host.
  const uint32_t base = (198u << 24) | (18u << 16);
  for (uint32_t tries = 0; tries < 65532; ++tries) {
    const uint32_t offset = 2 + (next_pod_ip_++ % 65532);
    if (used_ips_.contains(offset)) continue;
    used_ips_[offset] = true;
    return base::IpAddress::v4(base | offset);
  }
  return std::nullopt;
}

void Cluster::run_pod(Pod& pod) {
  const auto now = Clock::now();
  if (pod.terminating) {
    bool any_running = false;
    for (auto& c : pod.containers) any_running |= c.running;
    if (now >= pod.term_at && !pod.term_sent) {
      pod.term_sent = true;
      pod.kill_at = now + std::min<Clock::duration>(kMaxGrace, pod.spec.termination_grace_period);
      for (auto& c : pod.containers) {
        if (c.running && !c.is_proxy) ::kill(-c.pid, SIGTERM);
      }
    }
    // The proxy goes last, so that the application can still call out while it drains.
    if (pod.term_sent) {
      bool apps_running = false;
      for (auto& c : pod.containers) apps_running |= c.running && !c.is_proxy;
      for (auto& c : pod.containers) {
        if (c.is_proxy && c.running && !apps_running && !c.gave_up) {
          ::kill(-c.pid, SIGTERM);
          c.gave_up = true;  // marks "TERM sent" for the proxy; it is not restarted anyway
        }
      }
    }
    if (pod.term_sent && any_running && now >= pod.kill_at) {
      for (auto& c : pod.containers) {
        if (c.running) ::kill(-c.pid, SIGKILL);
      }
    }
    if (!pod.term_sent || any_running) return;
    if (pod.net_ready) {
      network_.remove_pod(pod.net);
      const uint32_t ip = v4_host_order(pod.net.ip) & 0xffff;
      used_ips_.erase(ip);
    }
    std::error_code ec;
    fs::remove_all(pod.dir, ec);
    pod.killed = true;
    TRELLIS_LOG_INFO("pod {}/{} deleted", pod.ns, pod.name);
    return;
  }
  if (!pod.net_ready) {
    if (now < pod.retry_setup_at) return;
    auto ip = allocate_pod_ip();
    if (!ip) {
      pod.setup_error = "no free pod address";
      pod.retry_setup_at = now + 5s;
      return;
    }
    auto net = network_.add_pod(pod.ns, pod.name, *ip);
    if (!net) {
      used_ips_.erase(v4_host_order(*ip) & 0xffff);
      pod.setup_error = net.error();
      pod.retry_setup_at = now + 5s;
      TRELLIS_LOG_WARN("pod {}/{}: network set-up failed: {}", pod.ns, pod.name, net.error());
      return;
    }
    pod.net = *net;
    pod.net_ready = true;
    pod.setup_error.clear();
    write_hosts(pod);
  }
  if (!pod.plan_error.empty()) {
    pod.setup_error = pod.plan_error;
    return;
  }
  bool proxy_ready = true;
  if (pod.mesh) {
    if (!prepare_mesh(pod)) return;
    for (const auto& c : pod.containers) {
      if (c.is_proxy) proxy_ready = c.running && c.ready;
    }
  }
  for (size_t i = 0; i < pod.containers.size(); ++i) {
    Container& c = pod.containers[i];
    // Proxy first; the application only once the proxy is ready (config.linkerd.io/proxy-await).
    const bool may_start = c.is_proxy ? !pod.token_copied.empty()
                                      : (!pod.mesh || !pod.mesh->await || proxy_ready);
    if (!c.running && !c.gave_up && now >= c.restart_at && may_start) start_container(pod, c);
    if (!c.running) continue;
    if (!c.spec.readiness_probe) {
      c.ready = true;
      continue;
    }
    const auto& p = *c.spec.readiness_probe;
    if (!c.probing && now >= c.next_probe && now >= c.started_at + p.initial_delay) probe(pod, c);
  }
}

// ---------------------------------------------------------------- the mesh

base::Result<inject::InjectionPlan, std::string> Cluster::plan_for(
    const std::string& kind, const std::string& workload, const std::string& ns,
    const json& pod_template, const resources::PodSpec& spec, const std::string& pod_name,
    const std::string& pod_dir, const std::vector<ManifestObject>* pending) const {
  auto string_map = [](const json& md, const char* field) {
    std::map<std::string, std::string> out;
    if (!md.is_object() || !md.contains(field) || !md[field].is_object()) return out;
    for (auto& [k, v] : md[field].items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    return out;
  };
  inject::NamespaceInput nsi;
  const ManifestObject* ns_object = nullptr;
  const ObjectKey ns_key{"Namespace", "", ns};
  if (pending) {
    for (const auto& m : *pending) {
      if (m.key == ns_key) ns_object = &m;
    }
  }
  if (!ns_object) {
    if (auto it = objects_.find(ns_key); it != objects_.end()) ns_object = &it->second->m;
  }
  if (ns_object && ns_object->raw.contains("metadata")) {
    nsi.labels = string_map(ns_object->raw["metadata"], "labels");
    nsi.annotations = string_map(ns_object->raw["metadata"], "annotations");
  }
  inject::PodTemplateInput pti;
  const json md = pod_template.is_object() && pod_template.contains("metadata")
                      ? pod_template["metadata"]
                      : json::object();
  pti.labels = string_map(md, "labels");
  pti.annotations = string_map(md, "annotations");
  pti.spec = spec;
  inject::InjectOptions o;
  o.control_addr = control_grpc_address();
  o.pod_name = pod_name;
  o.identity_token_file = pod_dir + "/" + kTokenFile;
  o.trust_anchors_file = pod_dir + "/" + kAnchorsFile;
  o.created_by = "trellis/runtime 0.1.0";
  return inject::plan({kind, workload, ns}, pti, nsi, o);
}

bool Cluster::prepare_mesh(Pod& pod) {
  if (!pod.mesh_init_done) {
    if (Clock::now() < pod.retry_setup_at) return false;
    // `trellis-proxy init` in the pod's namespace (the init container's job), once per pod:
    // the rules stay with the namespace across container restarts.
    const std::string exe = mesh_executable("trellis-proxy", options_.bin_dir);
    if (exe.empty()) {
      pod.setup_error = fmt::format("trellis-proxy not found in {} or PATH", options_.bin_dir);
      return false;
    }
    SpawnSpec s;
    s.argv = {exe, "init"};
    s.argv.insert(s.argv.end(), pod.mesh->init_args.begin(), pod.mesh->init_args.end());
    s.env = {kPath};
    s.netns = pod.net.netns;
    s.log_file = pod.dir + "/" + inject::kInitContainerName + ".log";
    auto pid = spawn(s);
    int status = -1;
    if (pid) {
      const auto deadline = Clock::now() + kInitTimeout;
      while (::waitpid(*pid, &status, WNOHANG) != *pid) {
        if (Clock::now() >= deadline) {
          ::kill(-*pid, SIGKILL);
          ::waitpid(*pid, &status, 0);
          break;
        }
        ::usleep(10 * 1000);
      }
    }
    if (!pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      pod.setup_error = fmt::format("{} failed: {} (see {})", inject::kInitContainerName,
                                    pid ? "exit status " + std::to_string(status) : pid.error(),
                                    s.log_file);
      pod.retry_setup_at = Clock::now() + 5s;
      TRELLIS_LOG_WARN("pod {}/{}: {}", pod.ns, pod.name, pod.setup_error);
      return false;
    }
    pod.mesh_init_done = true;
    TRELLIS_LOG_INFO("pod {}/{}: iptables set up by trellis-proxy init", pod.ns, pod.name);
  }
  // Until the first copy (the control plane writes the token shortly after the pod's service
  // account appears in its store) every tick; then often enough to follow its renewals.
  if (Clock::now() >= pod.next_identity_sync) {
    sync_identity_files(pod);
    if (!pod.token_copied.empty()) pod.next_identity_sync = Clock::now() + kIdentitySyncPeriod;
  }
  return true;
}

bool Cluster::sync_identity_files(Pod& pod) {
  const uid_t uid = static_cast<uid_t>(pod.mesh->proxy_uid);
  const gid_t gid = static_cast<gid_t>(pod.mesh->proxy_gid.value_or(pod.mesh->proxy_uid));
  ::chmod(pod.dir.c_str(), 0711);
  const auto anchors = read_file(paths_.ca() + "/ca.crt");
  if (!anchors) {
    pod.setup_error = "no trust anchors in " + paths_.ca() + "/ca.crt";
    return false;
  }
  if (*anchors != pod.anchors_copied) {
    if (auto r = write_file_owned(pod.dir + "/" + kAnchorsFile, *anchors, 0444, uid, gid); !r) {
      pod.setup_error = r.error();
      return false;
    }
    pod.anchors_copied = *anchors;
  }
  // C-3: <token-dir>/<ns>/<sa>/token, renewed by the control plane; the copy follows it.
  const std::string source =
      fmt::format("{}/{}/{}/token", paths_.tokens(), pod.ns, pod.mesh->service_account);
  const auto token = read_file(source);
  if (!token || token->empty()) {
    if (pod.token_copied.empty()) {
      pod.setup_error = "waiting for the control plane to issue the token of service account " +
                        pod.mesh->service_account;
    }
    return false;
  }
  if (*token != pod.token_copied) {
    if (auto r = write_file_owned(pod.dir + "/" + kTokenFile, *token, 0400, uid, gid); !r) {
      pod.setup_error = r.error();
      return false;
    }
    if (pod.token_copied.empty()) {
      TRELLIS_LOG_INFO("pod {}/{}: token of {}/{} mounted", pod.ns, pod.name, pod.ns,
                       pod.mesh->service_account);
    }
    pod.token_copied = *token;
  }
  pod.setup_error.clear();
  return true;
}

void Cluster::start_container(Pod& pod, Container& c) {
  const auto now = Clock::now();
  std::vector<std::string> argv = c.spec.command;
  argv.insert(argv.end(), c.spec.args.begin(), c.spec.args.end());
  if (c.is_proxy) argv = {"trellis-proxy"};
  auto fail = [&](std::string why) {
    c.last_error = why;
    c.started_once = true;
    c.last_exit = 127;
    c.quick_failures = std::min(c.quick_failures + 1, 10);
    c.restart_at = now + kMaxBackoff;
    const std::string line = "trellis runtime: " + why + "\n";
    std::string log = read_file(c.log_file).value_or("");
    (void)write_file_in_place(c.log_file, log + line);
  };
  if (argv.empty()) {
    fail("no command: the local runtime runs a container's command/args, not its image");
    return;
  }
  const std::string exe = c.is_proxy ? mesh_executable(argv[0], options_.bin_dir)
                                     : resolve_executable(argv[0], options_.bin_dir);
  if (exe.empty()) {
    fail(fmt::format("executable \"{}\" not found in {} or PATH", argv[0], options_.bin_dir));
    return;
  }
  argv[0] = exe;
  SpawnSpec s;
  s.argv = argv;
  s.env = {kPath, "HOSTNAME=" + pod.name, c.is_proxy ? "HOME=/" : "HOME=/root"};
  if (c.is_proxy) {
    for (const auto& [name, value] : pod.mesh->proxy_env) s.env.push_back(name + "=" + value);
    s.uid = static_cast<uid_t>(pod.mesh->proxy_uid);
  }
  // valueFrom.fieldRef is kept opaque by the decoder: read the path from the raw spec.
  const json* raw_container = nullptr;
  if (pod.spec_raw.contains("containers")) {
    for (const auto& rc : pod.spec_raw["containers"]) {
      if (rc.value("name", "") == c.spec.name) raw_container = &rc;
    }
  }
  for (const auto& e : c.spec.env) {
    std::string value = e.value;
    if (e.value_from && raw_container && raw_container->contains("env")) {
      for (const auto& re : (*raw_container)["env"]) {
        if (re.value("name", "") != e.name) continue;
        const std::string path =
            re.contains("valueFrom") && re["valueFrom"].contains("fieldRef")
                ? re["valueFrom"]["fieldRef"].value("fieldPath", "")
                : "";
        if (path == "metadata.name") value = pod.name;
        if (path == "metadata.namespace") value = pod.ns;
        if (path == "metadata.uid") value = pod.uid;
        if (path == "status.podIP") value = pod.net.ip.to_string();
        if (path == "status.hostIP") value = kHostIp;
        if (path == "spec.serviceAccountName") value = pod.spec.service_account_name;
        if (path == "spec.nodeName") value = options_.cluster;
      }
    }
    s.env.push_back(e.name + "=" + value);
  }
  s.working_dir = c.spec.working_dir;
  s.netns = pod.net.netns;
  s.hosts_file = pod.net.hosts_file;
  s.hostname = pod.name.substr(0, 63);
  s.log_file = c.log_file;
  auto pid = spawn(s);
  if (!pid) {
    fail(pid.error());
    return;
  }
  c.pid = *pid;
  c.start_ticks = process_start_time(c.pid).value_or(0);
  ledger_.add_pid(c.pid, c.start_ticks);
  if (c.started_once) ++c.restarts;
  c.started_once = true;
  c.running = true;
  c.last_error.clear();
  c.started_at = now;
  c.started_rfc = now_rfc3339();
  c.ready = false;
  c.ok_streak = 0;
  c.fail_streak = 0;
  c.next_probe = now;
  TRELLIS_LOG_INFO("pod {}/{}: container {} started (pid {})", pod.ns, pod.name, c.spec.name,
                   c.pid);
}

void Cluster::on_child_exit() {
  control_->on_child_exit();
  for (auto& [key, pod] : pods_) {
    for (auto& c : pod->containers) {
      if (!c.running) continue;
      int status = 0;
      const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid) reap(*pod, c, status);
    }
  }
  std::vector<std::pair<pid_t, int>> done;
  for (const auto& [pid, cb] : exec_probes_) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) done.emplace_back(pid, status);
  }
  for (const auto& [pid, status] : done) {
    auto cb = std::move(exec_probes_[pid]);
    exec_probes_.erase(pid);
    cb(status);
  }
}

void Cluster::reap(Pod& pod, Container& c, int status) {
  const auto now = Clock::now();
  // The session may still hold children of the container: they go with it.
  ::kill(-c.pid, SIGKILL);
  ledger_.remove_pid(c.pid);
  c.running = false;
  c.ready = false;
  c.last_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  TRELLIS_LOG_INFO("pod {}/{}: container {} exited with code {}", pod.ns, pod.name, c.spec.name,
                   c.last_exit);
  if (pod.terminating) return;
  const auto policy = pod.spec.restart_policy;
  if (policy == resources::RestartPolicy::kNever ||
      (policy == resources::RestartPolicy::kOnFailure && c.last_exit == 0)) {
    c.gave_up = true;
    return;
  }
  // Exponential backoff from 1 s, capped; a container that ran a while starts over.
  if (now - c.started_at > kMaxBackoff) c.quick_failures = 0;
  const auto delay = std::min<Clock::duration>(kMaxBackoff, 1s * (1 << std::min(c.quick_failures, 4)));
  c.quick_failures = std::min(c.quick_failures + 1, 10);
  c.restart_at = now + delay;
}

// ---------------------------------------------------------------- probes

void Cluster::probe(Pod& pod, Container& c) {
  const auto& p = *c.spec.readiness_probe;
  c.probing = true;
  const std::string uid = pod.uid;
  const size_t index = static_cast<size_t>(&c - pod.containers.data());
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.timeout);
  if (p.handler == resources::ProbeHandler::kExec) {
    std::vector<std::string> argv = p.command;
    if (!argv.empty()) argv[0] = resolve_executable(argv[0], options_.bin_dir);
    if (argv.empty() || argv[0].empty()) {
      finish_probe(uid, index, false);
      return;
    }
    SpawnSpec s;
    s.argv = argv;
    s.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    s.netns = pod.net.netns;
    s.hosts_file = pod.net.hosts_file;
    auto pid = spawn(s);
    if (!pid) {
      finish_probe(uid, index, false);
      return;
    }
    const pid_t child = *pid;
    auto timer = std::make_shared<net::asio::steady_timer>(io_, p.timeout);
    timer->async_wait([child, timer](net::error_code ec) {
      if (!ec) ::kill(-child, SIGKILL);
    });
    exec_probes_[child] = [this, uid, index, timer](int status) {
      timer->cancel();
      finish_probe(uid, index, WIFEXITED(status) && WEXITSTATUS(status) == 0);
    };
    return;
  }
  int port = 0;
  if (p.port.is_number()) {
    port = p.port.number();
  } else {
    for (const auto& cp : c.spec.ports) {
      if (cp.name == p.port.name()) port = cp.container_port;
    }
  }
  if (port == 0) {
    finish_probe(uid, index, false);
    return;
  }
  const std::string host = p.host.empty() ? pod.net.ip.to_string() : p.host;
  const std::string path =
      p.handler == resources::ProbeHandler::kHttpGet && p.scheme == "HTTP" ? p.path : "";
  auto alive = alive_;
  net::asio::co_spawn(io_, tcp_probe(host, port, path, timeout),
                      [this, alive, uid, index](std::exception_ptr e, bool ok) {
                        if (*alive) finish_probe(uid, index, !e && ok);
                      });
}

void Cluster::finish_probe(const std::string& pod_uid, size_t index, bool ok) {
  Pod* pod = nullptr;
  for (auto& [key, p] : pods_) {
    if (p->uid == pod_uid) pod = p.get();
  }
  if (!pod || index >= pod->containers.size()) return;
  Container& c = pod->containers[index];
  c.probing = false;
  if (!c.running || !c.spec.readiness_probe) return;
  const auto& p = *c.spec.readiness_probe;
  const bool was_ready = c.ready;
  if (ok) {
    c.fail_streak = 0;
    if (++c.ok_streak >= p.success_threshold) c.ready = true;
  } else {
    c.ok_streak = 0;
    if (++c.fail_streak >= p.failure_threshold) c.ready = false;
  }
  c.ever_ready |= c.ready;
  // Until first ready, probe often, so that `up` and rollouts do not wait a whole period.
  const auto period = c.ever_ready ? p.period : std::min<Clock::duration>(p.period, kStartupProbePeriod);
  c.next_probe = Clock::now() + period;
  // Publish now rather than on the next tick: a status request in between would report the pod
  // ready while its Service's ClusterIP rules do not list it yet.
  if (c.ready != was_ready) publish();
}

// ---------------------------------------------------------------- publishing

std::optional<base::IpAddress> Cluster::allocate_cluster_ip(const Object& svc) {
  const auto* s = svc.m.res.as<resources::Service>();
  const std::string key = pod_key(svc.m.key.ns, svc.m.key.name);
  if (auto it = cluster_ips_.find(key); it != cluster_ips_.end()) return it->second;
  if (s->headless || s->type == resources::ServiceType::kExternalName) return std::nullopt;
  const uint32_t base = (198u << 24) | (19u << 16);
  if (s->cluster_ip && s->cluster_ip->is_v4() &&
      (v4_host_order(*s->cluster_ip) & 0xffff0000u) == base) {
    cluster_ips_[key] = *s->cluster_ip;
    return s->cluster_ip;
  }
  for (uint32_t tries = 0; tries < 65000; ++tries) {
    const uint32_t offset = 10 + (next_service_ip_++ % 65000);
    const auto ip = base::IpAddress::v4(base | offset);
    bool used = false;
    for (const auto& [k, v] : cluster_ips_) used |= v == ip;
    if (used) continue;
    cluster_ips_[key] = ip;
    return ip;
  }
  return std::nullopt;
}

std::string Cluster::store_file(const std::string& kind, const std::string& ns,
                                const std::string& name) const {
  return fmt::format("{}/{}-{}-{}.yaml", paths_.store(), base::to_lower(kind), ns.empty() ? "_" : ns,
                     name);
}

void Cluster::publish() {
  // ClusterIPs, the rules, and the hosts files that name them.
  std::vector<ServiceRule> rules;
  std::string fingerprint;
  for (const auto& [key, obj] : objects_) {
    if (key.kind != "Service") continue;
    auto ip = allocate_cluster_ip(*obj);
    if (!ip) continue;
    fingerprint += key.ns + "/" + key.name + "=" + ip->to_string() + ";";
    const auto& svc = *obj->m.res.as<resources::Service>();
    if (svc.selector.empty()) continue;
    for (const auto& port : svc.ports) {
      if (port.protocol == resources::PortProtocol::kSctp) continue;
      ServiceRule rule;
      rule.id = fmt::format("{}/{}:{}/{}", key.ns, key.name, port.port,
                            resources::port_protocol_name(port.protocol));
      rule.cluster_ip = *ip;
      rule.port = port.port;
      rule.protocol = port.protocol == resources::PortProtocol::kUdp ? "udp" : "tcp";
      for (const auto& [pk, pod] : pods_) {
        if (pod->ns != key.ns || !pod_ready(*pod)) continue;
        bool selected = true;
        for (const auto& [k, v] : svc.selector) {
          auto it = pod->labels.find(k);
          selected &= it != pod->labels.end() && it->second == v;
        }
        if (!selected) continue;
        int target = port.port;
        if (port.target_port.is_number()) {
          target = port.target_port.number();
        } else {
          target = 0;
          for (const auto& c : pod->spec.containers) {
            for (const auto& cp : c.ports) {
              if (cp.name == port.target_port.name()) target = cp.container_port;
            }
          }
        }
        if (target > 0) rule.endpoints.emplace_back(pod->net.ip, target);
      }
      rules.push_back(std::move(rule));
    }
  }
  if (auto r = network_.sync_services(rules); !r) {
    TRELLIS_LOG_WARN("ClusterIP rules not applied: {}", r.error());
  }
  if (fingerprint != hosts_fingerprint_) {
    hosts_fingerprint_ = fingerprint;
    for (const auto& [pk, pod] : pods_) {
      if (pod->net_ready && !pod->terminating) write_hosts(*pod);
    }
  }

  // The store directory: the user's objects (Services with their ClusterIP) and running pods.
  std::map<std::string, std::string> files;
  for (const auto& [key, obj] : objects_) {
    if (key.kind == "Pod") continue;  // written below as the runtime runs it
    json j = key.kind == "Service" ? service_json(*obj) : obj->m.raw;
    files[store_file(key.kind, key.ns, key.name)] = j.dump(2) + "\n";
  }
  for (const auto& [pk, pod] : pods_) {
    if (pod->terminating || !pod->net_ready) continue;
    files[store_file("pod", pod->ns, pod->name)] = pod_json(*pod).dump(2) + "\n";
  }
  for (const auto& [path, content] : files) {
    auto it = written_.find(path);
    if (it != written_.end() && it->second == content) continue;
    if (write_file_atomic(path, content)) written_[path] = content;
  }
  for (auto it = written_.begin(); it != written_.end();) {
    if (files.contains(it->first)) {
      ++it;
      continue;
    }
    std::error_code ec;
    fs::remove(it->first, ec);
    it = written_.erase(it);
  }
}

void Cluster::write_hosts(const Pod& pod) {
  std::string text = "# written by the trellis runtime\n127.0.0.1\tlocalhost\n";
  text += "::1\tlocalhost ip6-localhost ip6-loopback\n";
  text += fmt::format("{}\t{}\n", pod.net.ip.to_string(), pod.name);
  for (const auto& [key, ip] : cluster_ips_) {
    const size_t slash = key.find('/');
    const std::string ns = key.substr(0, slash);
    const std::string name = key.substr(slash + 1);
    text += fmt::format("{}\t{}.{}.svc.cluster.local {}.{}.svc {}.{}{}\n", ip.to_string(), name,
                        ns, name, ns, name, ns, ns == pod.ns ? " " + name : "");
  }
  (void)write_file_in_place(pod.net.hosts_file, text);
}

json Cluster::pod_json(const Pod& pod) const {
  json md = {{"name", pod.name},
             {"namespace", pod.ns},
             {"uid", pod.uid},
             {"creationTimestamp", pod.created},
             {"labels", pod.labels},
             {"annotations", pod.annotations}};
  if (!pod.owner.empty()) {
    md["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                          {"kind", "ReplicaSet"},
                                          {"name", pod.owner + "-" + pod.hash},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}});
  }
  json spec = pod.spec_raw;
  spec["serviceAccountName"] = pod.spec.service_account_name;
  if (pod.mesh) {
    json env = json::array();
    for (const auto& [name, value] : pod.mesh->proxy_env) {
      env.push_back({{"name", name}, {"value", value}});
    }
    json proxy = {{"name", inject::kProxyContainerName},
                  {"image", "trellis-proxy"},
                  {"command", json::array({"trellis-proxy"})},
                  {"env", env},
                  {"ports", json::array({{{"name", "linkerd-proxy"},
                                          {"containerPort", pod.mesh->inbound_port}},
                                         {{"name", "linkerd-admin"},
                                          {"containerPort", pod.mesh->admin_port}}})},
                  {"securityContext", {{"runAsUser", pod.mesh->proxy_uid}}}};
    json containers = json::array({proxy});
    for (const auto& c : spec.value("containers", json::array())) containers.push_back(c);
    spec["containers"] = containers;
  }
  spec["nodeName"] = options_.cluster;
  const bool ready = pod_ready(pod);
  json statuses = json::array();
  bool all_running = !pod.containers.empty();
  for (const auto& c : pod.containers) {
    json state;
    if (c.running) {
      state = {{"running", {{"startedAt", c.started_rfc}}}};
    } else if (c.started_once) {
      state = {{"waiting", {{"reason", c.last_error.empty() ? "CrashLoopBackOff" : "RunContainerError"},
                            {"message", c.last_error}}}};
    } else {
      state = {{"waiting", {{"reason", "ContainerCreating"}}}};
    }
    all_running &= c.running;
    statuses.push_back({{"name", c.spec.name},
                        {"image", c.spec.image},
                        {"ready", c.running && c.ready},
                        {"started", c.running},
                        {"restartCount", c.restarts},
                        {"state", state}});
  }
  std::string phase = all_running ? "Running" : "Pending";
  json status = {{"phase", phase},
                 {"hostIP", kHostIp},
                 {"startTime", pod.created},
                 {"containerStatuses", statuses},
                 {"conditions", json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}},
                                             {{"type", "ContainersReady"},
                                              {"status", ready ? "True" : "False"}}})}};
  if (pod.net_ready) {
    status["podIP"] = pod.net.ip.to_string();
    status["podIPs"] = json::array({{{"ip", pod.net.ip.to_string()}}});
  }
  if (pod.terminating) md["deletionTimestamp"] = now_rfc3339();
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", md}, {"spec", spec},
          {"status", status}};
}

json Cluster::deployment_json(const Object& d) const {
  json j = d.m.raw;
  const auto& dep = *d.m.res.as<resources::Deployment>();
  const std::string hash = template_hash(d.m.raw["spec"]["template"]);
  int total = 0, ready = 0, updated = 0;
  for (const auto& [pk, pod] : pods_) {
    if (pod->ns != d.m.key.ns || pod->owner != d.m.key.name || pod->terminating) continue;
    ++total;
    ready += pod_ready(*pod) ? 1 : 0;
    updated += pod->hash == hash ? 1 : 0;
  }
  j["metadata"]["uid"] = d.uid;
  j["metadata"]["creationTimestamp"] = d.created;
  j["metadata"]["generation"] = d.generation;
  j["status"] = {{"observedGeneration", d.generation},
                 {"replicas", total},
                 {"readyReplicas", ready},
                 {"availableReplicas", ready},
                 {"updatedReplicas", updated},
                 {"unavailableReplicas", std::max(0, dep.replicas - ready)}};
  return j;
}

json Cluster::service_json(const Object& s) const {
  json j = s.m.raw;
  j["metadata"]["uid"] = s.uid;
  j["metadata"]["creationTimestamp"] = s.created;
  auto it = cluster_ips_.find(pod_key(s.m.key.ns, s.m.key.name));
  if (it != cluster_ips_.end()) {
    j["spec"]["clusterIP"] = it->second.to_string();
    j["spec"]["clusterIPs"] = json::array({it->second.to_string()});
  }
  if (!j["spec"].contains("type")) j["spec"]["type"] = "ClusterIP";
  return j;
}

void Cluster::shutdown() {
  objects_.clear();
  for (auto& [key, pod] : pods_) {
    terminate(*pod);
    pod->term_at = Clock::now();
    pod->spec.termination_grace_period = std::chrono::seconds(3);
  }
  // Run the termination steps synchronously; the io_context is about to stop.
  for (int i = 0; i < 100 && !pods_.empty(); ++i) {
    tick();
    if (!pods_.empty()) ::usleep(100 * 1000);
  }
  for (auto& [pid, cb] : exec_probes_) ::kill(-pid, SIGKILL);
  // Last: the proxies of the pods above drained with their control plane still there.
  control_->stop();
}

}  // namespace trellis::runtime
