#include "inject/plan.h"

#include <algorithm>
#include <set>

#include "base/address.h"
#include "base/duration.h"
#include "base/quantity.h"
#include "base/strings.h"
#include "tls/identity.h"

namespace trellis::inject {

namespace {

using resources::InjectMode;

// Reads config.linkerd.io/* overrides: the pod template's value wins over the namespace's
// (Linkerd's injector applies namespace annotations as defaults for its pods), and collects
// every problem so that one run reports them all.
class Config {
 public:
  Config(const WorkloadRef& w, const PodTemplateInput& pod, const NamespaceInput& ns)
      : workload_(w), pod_(pod), ns_(ns) {}

  // The effective value of config.linkerd.io/<name>, or nullopt.
  std::optional<std::string> get(const std::string& name) {
    const std::string key = std::string(kConfigPrefix) + name;
    if (auto it = pod_.annotations.find(key); it != pod_.annotations.end()) {
      where_[name] = "the pod template";
      return it->second;
    }
    if (auto it = ns_.annotations.find(key); it != ns_.annotations.end()) {
      where_[name] = "namespace " + workload_.ns;
      return it->second;
    }
    return std::nullopt;
  }

  void problem(const std::string& name, const std::string& message) {
    errors_.push_back(workload_.describe() + ": annotation " + kConfigPrefix + name + " (on " +
                      where_[name] + "): " + message);
  }

  std::optional<uint16_t> port(const std::string& name, uint16_t fallback) {
    auto v = get(name);
    if (!v) return fallback;
    auto list = resources::parse_port_list(*v, false);
    if (!list || list->size() != 1 || list->front().first != list->front().last) {
      problem(name, "invalid value " + base::quote(*v) + ": expected a port number (1-65535)");
      return fallback;
    }
    return static_cast<uint16_t>(list->front().first);
  }

  // A port list, normalised ("8080, 9000-9010" -> "8080,9000-9010"); `fallback` when unset.
  std::string port_list(const std::string& name, const std::string& fallback) {
    auto v = get(name);
    if (!v) return fallback;
    auto list = resources::parse_port_list(*v, false);
    if (!list) {
      problem(name, list.error());
      return fallback;
    }
    std::vector<std::string> parts;
    for (const auto& e : *list) {
      parts.push_back(e.first == e.last ? std::to_string(e.first)
                                        : std::to_string(e.first) + "-" + std::to_string(e.last));
    }
    return base::join(parts, ",");
  }

  std::optional<std::string> one_of(const std::string& name,
                                    const std::vector<std::string>& allowed) {
    auto v = get(name);
    if (!v) return std::nullopt;
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
      std::string msg =
          "invalid value " + base::quote(*v) + "; expected one of: " + base::join(allowed, ", ");
      const std::string near = base::closest_match(*v, allowed);
      if (!near.empty()) msg += " (did you mean " + base::quote(near) + "?)";
      problem(name, msg);
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> duration(const std::string& name) {
    auto v = get(name);
    if (!v) return std::nullopt;
    auto d = base::parse_go_duration(base::trim(*v));
    if (!d) {
      problem(name, d.error());
      return std::nullopt;
    }
    return std::string(base::trim(*v));
  }

  std::optional<int64_t> id(const std::string& name) {
    auto v = get(name);
    if (!v) return std::nullopt;
    const std::string_view t = base::trim(*v);
    const bool digits = !t.empty() && t.size() <= 10 && std::all_of(t.begin(), t.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (!digits || std::stoll(std::string(t)) > 4294967294LL) {
      problem(name, "invalid value " + base::quote(*v) +
                        ": expected a user or group id "
                        "(0-4294967294)");
      return std::nullopt;
    }
    return std::stoll(std::string(t));
  }

  std::optional<std::string> quantity(const std::string& name) {
    auto v = get(name);
    if (!v) return std::nullopt;
    auto q = base::parse_quantity(base::trim(*v));
    if (!q) {
      problem(name, q.error());
      return std::nullopt;
    }
    if (q->milli < 0) {
      problem(name, "invalid value " + base::quote(*v) + ": must not be negative");
      return std::nullopt;
    }
    return std::string(base::trim(*v));
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  const WorkloadRef& workload_;
  const PodTemplateInput& pod_;
  const NamespaceInput& ns_;
  std::map<std::string, std::string> where_;
  std::vector<std::string> errors_;
};

const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};

// Linkerd's proxy-log-level is a tracing filter ("warn,linkerd=info,hickory=error"); the Trellis
// proxy has one level. A bare level is used as is; in a directive list the level given to the
// proxy's own code (targets linkerd*, trellis*) wins over the bare default, since that is what
// the operator meant to see. Other targets (hickory, h2, ...) do not exist here and are ignored.
base::Result<std::string, std::string> proxy_log_level(const std::string& value) {
  std::optional<std::string> bare;
  std::optional<std::string> own;
  for (auto part : base::split(value, ',')) {
    const std::string item = base::to_lower(base::trim(part));
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string level = eq == std::string::npos ? item : item.substr(eq + 1);
    if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end()) {
      std::string msg = "invalid log level " + base::quote(level) + " in " + base::quote(value) +
                        "; levels are trace, debug, info, warn, error, off";
      const std::string near = base::closest_match(level, kLevels);
      if (!near.empty()) msg += " (did you mean " + base::quote(near) + "?)";
      return base::unexpected(msg);
    }
    if (eq == std::string::npos) {
      bare = level;
    } else {
      const std::string target = item.substr(0, eq);
      if (base::starts_with(target, "linkerd") || base::starts_with(target, "trellis")) {
        own = level;
      }
    }
  }
  if (own) return *own;
  if (bare) return *bare;
  return base::unexpected("no log level in " + base::quote(value));
}

// Opaque ports may name container ports; the proxy only takes numbers, so names are resolved
// against the pod's containers here (as Linkerd's injector does).
base::Result<std::string, std::string> resolve_opaque_ports(const std::string& value,
                                                            const resources::PodSpec& spec) {
  auto list = resources::parse_port_list(value, true);
  if (!list) return base::unexpected(list.error());
  std::vector<std::string> parts;
  for (const auto& e : *list) {
    if (e.name.empty()) {
      parts.push_back(e.first == e.last ? std::to_string(e.first)
                                        : std::to_string(e.first) + "-" + std::to_string(e.last));
      continue;
    }
    std::optional<int32_t> found;
    for (const auto& c : spec.containers) {
      for (const auto& p : c.ports) {
        if (p.name == e.name) found = p.container_port;
      }
    }
    if (!found) {
      return base::unexpected("port name " + base::quote(e.name) +
                              " is not the name of any container port of the pod");
    }
    parts.push_back(std::to_string(*found));
  }
  return base::join(parts, ",");
}

std::string proxy_kind_label(const std::string& kind) {
  static const std::map<std::string, std::string> kLabels = {
      {"Deployment", "linkerd.io/proxy-deployment"},
      {"ReplicaSet", "linkerd.io/proxy-replicaset"},
      {"StatefulSet", "linkerd.io/proxy-statefulset"},
      {"DaemonSet", "linkerd.io/proxy-daemonset"},
      {"Job", "linkerd.io/proxy-job"},
      {"CronJob", "linkerd.io/proxy-cronjob"},
      {"ReplicationController", "linkerd.io/proxy-replicationcontroller"},
  };
  auto it = kLabels.find(kind);
  return it == kLabels.end() ? std::string() : it->second;
}

}  // namespace

std::string WorkloadRef::describe() const {
  return kind + "/" + (ns.empty() ? std::string("default") : ns) + "/" + name;
}

base::Result<InjectionPlan, std::string> plan(const WorkloadRef& workload,
                                              const PodTemplateInput& pod, const NamespaceInput& ns,
                                              const InjectOptions& options) {
  InjectionPlan out;
  const std::string ns_name = workload.ns.empty() ? std::string("default") : workload.ns;

  // ---- the decision ----
  // A present but invalid linkerd.io/inject value is an error rather than "not injected": the
  // user asked for something and should learn that it did not happen.
  auto mode_of =
      [&](const std::map<std::string, std::string>& annotations,
          const std::string& where) -> base::Result<std::optional<InjectMode>, std::string> {
    auto it = annotations.find(kInjectAnnotation);
    if (it == annotations.end()) return std::optional<InjectMode>();
    auto mode = resources::inject_mode(annotations);
    if (!mode) {
      return base::unexpected(workload.describe() + ": annotation " + kInjectAnnotation + " (on " +
                              where + "): invalid value " + base::quote(it->second) +
                              "; expected one of: enabled, disabled, ingress");
    }
    return mode;
  };
  auto pod_mode = mode_of(pod.annotations, "the pod template");
  if (!pod_mode) return base::unexpected(pod_mode.error());
  auto ns_mode = mode_of(ns.annotations, "namespace " + ns_name);
  if (!ns_mode) return base::unexpected(ns_mode.error());

  const auto mode_name = [](InjectMode m) {
    return m == InjectMode::kEnabled   ? "enabled"
           : m == InjectMode::kIngress ? "ingress"
                                       : "disabled";
  };
  if (*pod_mode) {
    out.mode = **pod_mode;
    out.reason =
        std::string(kInjectAnnotation) + ": " + mode_name(out.mode) + " on the pod template";
  } else if (*ns_mode) {
    out.mode = **ns_mode;
    out.reason =
        std::string(kInjectAnnotation) + ": " + mode_name(out.mode) + " on namespace " + ns_name;
  } else {
    out.mode = InjectMode::kDisabled;
    out.reason = std::string("no ") + kInjectAnnotation +
                 " annotation on the pod template or "
                 "namespace " +
                 ns_name;
  }
  out.inject = out.mode != InjectMode::kDisabled;
  if (out.inject && pod.spec.host_network) {
    out.inject = false;
    out.reason =
        "hostNetwork: true (the pod shares the node's network namespace, so its "
        "traffic cannot be redirected to a proxy)";
  }
  if (out.inject && pod.labels.count("linkerd.io/control-plane-component")) {
    out.inject = false;
    out.reason = "it is a control-plane component (label linkerd.io/control-plane-component)";
  }
  if (!out.inject) return out;

  // ---- identity ----
  out.service_account = pod.spec.service_account_name.empty() ? std::string("default")
                                                              : pod.spec.service_account_name;
  const tls::IdentityDomain domain{options.control_namespace, options.trust_domain};
  auto identity = tls::service_account_identity(out.service_account, ns_name, domain);
  if (!identity) {
    return base::unexpected(workload.describe() + ": service account " +
                            base::quote(out.service_account) +
                            " cannot form a mesh identity: " + identity.error().detail);
  }
  out.identity = identity->str();
  std::string control_identity = options.control_identity;
  if (control_identity.empty()) {
    auto ci = tls::service_account_identity("trellis-control", options.control_namespace, domain);
    if (!ci)
      return base::unexpected("invalid control namespace or trust domain: " + ci.error().detail);
    control_identity = ci->str();
  }

  // ---- config.linkerd.io overrides ----
  Config config(workload, pod, ns);
  out.inbound_port = config.port("inbound-port", kInboundPort).value_or(kInboundPort);
  out.outbound_port = config.port("outbound-port", kOutboundPort).value_or(kOutboundPort);
  out.admin_port = config.port("admin-port", kAdminPort).value_or(kAdminPort);
  out.control_port = config.port("control-port", kControlPort).value_or(kControlPort);
  if (auto uid = config.id("proxy-uid")) out.proxy_uid = *uid;
  out.proxy_gid = config.id("proxy-gid");

  // The proxy's own admin and tap ports are never redirected (the chart always passes them).
  out.skip_inbound_ports = std::to_string(out.control_port) + "," + std::to_string(out.admin_port);
  const std::string inbound_ignored = config.port_list("skip-inbound-ports", kDefaultIgnoredPorts);
  if (!inbound_ignored.empty()) out.skip_inbound_ports += "," + inbound_ignored;
  out.skip_outbound_ports = config.port_list("skip-outbound-ports", kDefaultIgnoredPorts);
  if (auto v = config.get("skip-subnets")) {
    std::vector<std::string> subnets;
    for (auto part : base::split(*v, ',')) {
      const std::string_view item = base::trim(part);
      if (item.empty()) continue;
      auto cidr = base::Cidr::parse(item);
      if (!cidr) {
        config.problem("skip-subnets", cidr.error());
        continue;
      }
      subnets.push_back(cidr->to_string());
    }
    out.skip_subnets = base::join(subnets, ",");
  }
  out.opaque_ports = kDefaultOpaquePorts;
  if (auto v = config.get("opaque-ports")) {
    auto resolved = resolve_opaque_ports(*v, pod.spec);
    if (resolved)
      out.opaque_ports = *resolved;
    else
      config.problem("opaque-ports", resolved.error());
  }
  if (auto v = config.get("proxy-log-level")) {
    auto level = proxy_log_level(*v);
    if (level)
      out.log_level = *level;
    else
      config.problem("proxy-log-level", level.error());
  }
  if (auto v = config.one_of("default-inbound-policy",
                             {"all-unauthenticated", "all-authenticated", "cluster-unauthenticated",
                              "cluster-authenticated", "deny", "audit"})) {
    out.default_inbound_policy = *v;
  }
  if (auto v = config.one_of("proxy-await", {"enabled", "disabled"})) out.await = *v == "enabled";
  const bool admin_shutdown =
      config.one_of("proxy-admin-shutdown", {"enabled", "disabled"}).value_or("") == "enabled";
  const auto outbound_connect = config.duration("proxy-outbound-connect-timeout");
  const auto inbound_connect = config.duration("proxy-inbound-connect-timeout");
  const auto grace = config.duration("shutdown-grace-period");
  const std::pair<const char*, std::pair<bool, const char*>> kResources[] = {
      {"proxy-cpu-request", {true, "cpu"}},
      {"proxy-cpu-limit", {false, "cpu"}},
      {"proxy-memory-request", {true, "memory"}},
      {"proxy-memory-limit", {false, "memory"}},
      {"proxy-ephemeral-storage-request", {true, "ephemeral-storage"}},
      {"proxy-ephemeral-storage-limit", {false, "ephemeral-storage"}},
  };
  for (const auto& [name, target] : kResources) {
    if (auto q = config.quantity(name)) {
      (target.first ? out.resources.requests : out.resources.limits)[target.second] = *q;
    }
  }
  if (!config.errors().empty()) return base::unexpected(base::join(config.errors(), "\n"));

  // ---- proxy environment (C-6 names; every one must be a trellis-proxy setting) ----
  auto& env = out.proxy_env;
  env.emplace_back("TRELLIS_PROXY_INBOUND_LISTEN_ADDR",
                   "0.0.0.0:" + std::to_string(out.inbound_port));
  env.emplace_back("TRELLIS_PROXY_OUTBOUND_LISTEN_ADDR",
                   "127.0.0.1:" + std::to_string(out.outbound_port));
  // Probes reach the admin port from outside the pod, as with Linkerd's chart.
  env.emplace_back("TRELLIS_PROXY_ADMIN_LISTEN_ADDR", "0.0.0.0:" + std::to_string(out.admin_port));
  env.emplace_back("TRELLIS_PROXY_LOG_LEVEL", out.log_level);
  if (out.mode == InjectMode::kIngress) env.emplace_back("TRELLIS_PROXY_MODE", "ingress");
  env.emplace_back("TRELLIS_PROXY_OPAQUE_PORTS", out.opaque_ports);
  if (outbound_connect)
    env.emplace_back("TRELLIS_PROXY_OUTBOUND_CONNECT_TIMEOUT", *outbound_connect);
  if (inbound_connect) env.emplace_back("TRELLIS_PROXY_INBOUND_CONNECT_TIMEOUT", *inbound_connect);
  if (grace) env.emplace_back("TRELLIS_PROXY_SHUTDOWN_GRACE_PERIOD", *grace);
  if (admin_shutdown) env.emplace_back("TRELLIS_PROXY_ADMIN_SHUTDOWN", "true");
  env.emplace_back("TRELLIS_PROXY_NAMESPACE", ns_name);
  if (!options.pod_name.empty()) env.emplace_back("TRELLIS_PROXY_POD_NAME", options.pod_name);
  if (!options.control_addr.empty()) {
    env.emplace_back("TRELLIS_PROXY_CONTROL_ADDR", options.control_addr);
  }
  env.emplace_back("TRELLIS_PROXY_CONTROL_IDENTITY", control_identity);
  env.emplace_back("TRELLIS_PROXY_IDENTITY_NAME", out.identity);
  env.emplace_back("TRELLIS_PROXY_IDENTITY_TOKEN_FILE", options.identity_token_file);
  env.emplace_back("TRELLIS_PROXY_TRUST_ANCHORS_FILE", options.trust_anchors_file);

  // ---- trellis-proxy init ----
  auto& args = out.init_args;
  args = {"--incoming-proxy-port",
          std::to_string(out.inbound_port),
          "--outgoing-proxy-port",
          std::to_string(out.outbound_port),
          "--proxy-uid",
          std::to_string(out.proxy_uid),
          "--inbound-ports-to-ignore",
          out.skip_inbound_ports};
  if (out.proxy_gid) {
    args.insert(args.end(), {"--proxy-gid", std::to_string(*out.proxy_gid)});
  }
  if (!out.skip_outbound_ports.empty()) {
    args.insert(args.end(), {"--outbound-ports-to-ignore", out.skip_outbound_ports});
  }
  if (!out.skip_subnets.empty()) args.insert(args.end(), {"--subnets-to-ignore", out.skip_subnets});

  // ---- metadata, as Linkerd's injector adds it ----
  out.labels["linkerd.io/control-plane-ns"] = options.control_namespace;
  out.labels["linkerd.io/workload-ns"] = ns_name;
  if (const std::string label = proxy_kind_label(workload.kind); !label.empty()) {
    out.labels[label] = workload.name;
  }
  out.annotations["linkerd.io/created-by"] = options.created_by;
  out.annotations["linkerd.io/proxy-version"] = options.proxy_version;
  out.annotations["linkerd.io/identity-mode"] = "default";
  return out;
}

}  // namespace trellis::inject
