#pragma once
// The cluster's state and its reconciliation loop (single-threaded, on the daemon's
// io_context): applied objects → desired pods (Deployments with rolling updates and scaling,
// bare Pods) → pod namespaces and supervised container processes → readiness probes → the
// ClusterIP rules, hosts files and the store directory the control plane reads.
//
//   apply/remove (from the CLI)  →  objects_
//   tick() every 200 ms:  reconcile_deployments → run_pods (start, restart with backoff, probe,
//                         terminate) → publish (nat rules, hosts files, store/)
//   on_child_exit (SIGCHLD) → container exit → backoff restart
//
// Meshed pods (inject::plan says so): `trellis-proxy init` in the pod namespace once, the
// service-account token and trust anchors copied into the pod directory for UID 2102, the proxy
// container first (its readiness = admin /ready), the app containers only once it is ready.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/asio.h"
#include "inject/plan.h"
#include "runtime/control_plane.h"
#include "runtime/ledger.h"
#include "runtime/network.h"
#include "runtime/objects.h"

namespace trellis::runtime {

using Clock = std::chrono::steady_clock;

struct RuntimeOptions {
  std::string state_dir;
  std::string cluster = "local";
  std::string bin_dir;  // where trellis-demo-app & co are found first
  std::string log_level = "info";
};

// Paths inside the state directory.
struct StatePaths {
  std::string root;
  std::string socket() const { return root + "/daemon.sock"; }
  std::string ledger() const { return root + "/ledger"; }
  std::string log() const { return root + "/daemon.log"; }
  std::string pid_file() const { return root + "/daemon.pid"; }
  std::string store() const { return root + "/store"; }
  std::string pods() const { return root + "/pods"; }
  std::string pod_dir(const std::string& ns, const std::string& name) const {
    return pods() + "/" + ns + "_" + name;
  }
  // The mesh (contract C-10): CA (C-2 layout, made by `trellis up`), service-account tokens
  // written by trellis-control (C-3) and its log.
  std::string ca() const { return root + "/ca"; }
  std::string tokens() const { return root + "/tokens"; }
  std::string token_key() const { return root + "/token.key"; }
  std::string control_log() const { return root + "/control.log"; }
};

class Cluster {
 public:
  Cluster(net::asio::io_context& io, RuntimeOptions options, Ledger& ledger,
          ClusterNetwork& network);
  ~Cluster();

  // Requests from the CLI; each returns the JSON answer.
  nlohmann::json apply(const std::vector<ManifestDocument>& docs);
  nlohmann::json remove(const std::vector<ManifestDocument>& docs);
  // what: pods, deployments, services, namespaces, all. ns empty + all_namespaces false = default.
  nlohmann::json get(const std::string& what, const std::string& ns, bool all_namespaces);
  // Whether everything applied is running and ready, and if not, what is not.
  nlohmann::json status();
  // Where a pod runs (namespace, hosts file, containers, log files) for exec and logs.
  nlohmann::json pod_info(const std::string& ns, const std::string& name);

  void tick();
  void on_child_exit();
  // Stops every pod (TERM, then KILL after a grace period) and removes their namespaces.
  void shutdown();

 private:
  struct Object;
  struct Container;
  struct Pod;

  void reconcile_deployments();
  void reconcile_bare_pods();
  Pod* create_pod(const std::string& ns, const std::string& name, const std::string& owner,
                  const std::string& hash, const nlohmann::json& pod_template,
                  const resources::PodSpec& spec);
  void terminate(Pod& pod);
  void run_pod(Pod& pod);
  void start_container(Pod& pod, Container& c);
  void probe(Pod& pod, Container& c);
  // Meshed pods: iptables via `trellis-proxy init`, then the identity files for the proxy.
  bool prepare_mesh(Pod& pod);
  bool sync_identity_files(Pod& pod);
  // The injection plan of a pod template (the error names the workload and annotation).
  // `pending`: objects about to be applied, whose Namespaces count before objects_'.
  base::Result<inject::InjectionPlan, std::string> plan_for(
      const std::string& kind, const std::string& workload, const std::string& ns,
      const nlohmann::json& pod_template, const resources::PodSpec& spec,
      const std::string& pod_name, const std::string& pod_dir,
      const std::vector<ManifestObject>* pending = nullptr) const;
  void finish_probe(const std::string& pod_uid, size_t index, bool ok);
  void reap(Pod& pod, Container& c, int status);
  void publish();
  void write_hosts(const Pod& pod);
  nlohmann::json pod_json(const Pod& pod) const;
  nlohmann::json deployment_json(const Object& d) const;
  nlohmann::json service_json(const Object& s) const;
  bool pod_ready(const Pod& pod) const;
  std::optional<base::IpAddress> allocate_pod_ip();
  std::optional<base::IpAddress> allocate_cluster_ip(const Object& svc);
  std::string store_file(const std::string& kind, const std::string& ns,
                         const std::string& name) const;

  net::asio::io_context& io_;
  RuntimeOptions options_;
  StatePaths paths_;
  Ledger& ledger_;
  ClusterNetwork& network_;
  std::map<ObjectKey, std::unique_ptr<Object>> objects_;
  std::map<std::string, std::unique_ptr<Pod>> pods_;  // "ns/name"
  std::map<std::string, base::IpAddress> cluster_ips_;  // "ns/name" of the Service
  std::map<uint32_t, bool> used_ips_;
  uint32_t next_pod_ip_ = 0;
  uint32_t next_service_ip_ = 0;
  std::map<pid_t, std::function<void(int)>> exec_probes_;  // pid → on exit(status)
  std::string hosts_fingerprint_;
  std::map<std::string, std::string> written_;  // store file → content last written
  std::unique_ptr<ControlPlane> control_;
  std::shared_ptr<bool> alive_;
};

}  // namespace trellis::runtime
