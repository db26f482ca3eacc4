#include "inject/sidecar.h"

#include <set>

#include "base/strings.h"
#include "inject/pod_template.h"

namespace trellis::inject {

namespace {

// A string scalar. The "!" tag marks it non-plain so that the emitter (manifest.cc) quotes it
// when its plain form would read as another type ("2102", "true").
YAML::Node str(const std::string& value) {
  YAML::Node n(value);
  n.SetTag("!");
  return n;
}

YAML::Node flow_strings(const std::vector<std::string>& values) {
  YAML::Node seq(YAML::NodeType::Sequence);
  for (const auto& v : values) seq.push_back(str(v));
  seq.SetStyle(YAML::EmitterStyle::Flow);
  return seq;
}

// metadata.<field> as a map, created when missing.
YAML::Node metadata_map(YAML::Node pod_template, const char* field) {
  if (!pod_template["metadata"].IsMap()) pod_template["metadata"] = YAML::Node(YAML::NodeType::Map);
  YAML::Node md = pod_template["metadata"];
  if (!md[field].IsMap()) md[field] = YAML::Node(YAML::NodeType::Map);
  return md[field];
}

std::string dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

YAML::Node http_probe(const std::string& path, uint16_t port) {
  YAML::Node probe;
  probe["httpGet"]["path"] = str(path);
  probe["httpGet"]["port"] = static_cast<int>(port);
  return probe;
}

YAML::Node init_container(const InjectionPlan& plan, const InjectOptions& options) {
  YAML::Node c;
  c["name"] = str(kInitContainerName);
  c["image"] = str(options.proxy_image + ":" + options.proxy_version);
  c["command"] = flow_strings({"trellis-proxy", "init"});
  std::vector<std::string> args = plan.init_args;
  YAML::Node arg_list(YAML::NodeType::Sequence);
  for (const auto& a : args) arg_list.push_back(str(a));
  c["args"] = arg_list;
  // As Linkerd's proxy-init: not root, only the capabilities iptables needs.
  YAML::Node sc;
  sc["allowPrivilegeEscalation"] = false;
  sc["capabilities"]["add"] = flow_strings({"NET_ADMIN", "NET_RAW"});
  sc["capabilities"]["drop"] = flow_strings({"ALL"});
  sc["readOnlyRootFilesystem"] = true;
  sc["runAsNonRoot"] = true;
  sc["runAsUser"] = 65534;
  sc["seccompProfile"]["type"] = str("RuntimeDefault");
  c["securityContext"] = sc;
  YAML::Node mount;
  mount["name"] = str("trellis-proxy-init-xtables-lock");
  mount["mountPath"] = str("/run");
  c["volumeMounts"].push_back(mount);
  return c;
}

YAML::Node proxy_container(const InjectionPlan& plan, const InjectOptions& options) {
  YAML::Node c;
  c["name"] = str(kProxyContainerName);
  c["image"] = str(options.proxy_image + ":" + options.proxy_version);
  c["command"] = flow_strings({"trellis-proxy"});
  // A native sidecar: started before the app containers and kept running alongside them.
  c["restartPolicy"] = str("Always");
  bool has_pod_name = false;
  for (const auto& [name, value] : plan.proxy_env) {
    YAML::Node e;
    e["name"] = str(name);
    e["value"] = str(value);
    c["env"].push_back(e);
    has_pod_name = has_pod_name || name == "TRELLIS_PROXY_POD_NAME";
  }
  if (!has_pod_name) {
    YAML::Node e;
    e["name"] = str("TRELLIS_PROXY_POD_NAME");
    e["valueFrom"]["fieldRef"]["fieldPath"] = str("metadata.name");
    c["env"].push_back(e);
  }
  YAML::Node inbound;
  inbound["name"] = str("linkerd-proxy");
  inbound["containerPort"] = static_cast<int>(plan.inbound_port);
  c["ports"].push_back(inbound);
  YAML::Node admin;
  admin["name"] = str("linkerd-admin");
  admin["containerPort"] = static_cast<int>(plan.admin_port);
  c["ports"].push_back(admin);
  YAML::Node readiness = http_probe("/ready", plan.admin_port);
  readiness["initialDelaySeconds"] = 2;
  c["readinessProbe"] = readiness;
  YAML::Node liveness = http_probe("/live", plan.admin_port);
  liveness["initialDelaySeconds"] = 10;
  c["livenessProbe"] = liveness;
  if (plan.await) {
    // Holds back the app containers until the proxy is ready (linkerd-await's job otherwise).
    YAML::Node startup = http_probe("/ready", plan.admin_port);
    startup["periodSeconds"] = 1;
    startup["failureThreshold"] = 120;
    c["startupProbe"] = startup;
  }
  if (!plan.resources.requests.empty() || !plan.resources.limits.empty()) {
    YAML::Node res;
    for (const auto& [k, v] : plan.resources.requests) res["requests"][k] = str(v);
    for (const auto& [k, v] : plan.resources.limits) res["limits"][k] = str(v);
    c["resources"] = res;
  }
  YAML::Node sc;
  sc["allowPrivilegeEscalation"] = false;
  sc["capabilities"]["drop"] = flow_strings({"ALL"});
  sc["readOnlyRootFilesystem"] = true;
  sc["runAsNonRoot"] = true;
  sc["runAsUser"] = plan.proxy_uid;
  if (plan.proxy_gid) sc["runAsGroup"] = *plan.proxy_gid;
  sc["seccompProfile"]["type"] = str("RuntimeDefault");
  c["securityContext"] = sc;
  YAML::Node token_mount;
  token_mount["name"] = str("trellis-identity-token");
  token_mount["mountPath"] = str(dirname(options.identity_token_file));
  token_mount["readOnly"] = true;
  c["volumeMounts"].push_back(token_mount);
  YAML::Node anchors_mount;
  anchors_mount["name"] = str("trellis-trust-anchors");
  anchors_mount["mountPath"] = str(dirname(options.trust_anchors_file));
  anchors_mount["readOnly"] = true;
  c["volumeMounts"].push_back(anchors_mount);
  return c;
}

std::vector<YAML::Node> volumes(const InjectOptions& options) {
  YAML::Node token;
  token["name"] = str("trellis-identity-token");
  YAML::Node source;
  source["serviceAccountToken"]["audience"] = str("identity.l5d.io");
  source["serviceAccountToken"]["expirationSeconds"] = 86400;
  source["serviceAccountToken"]["path"] = str(basename(options.identity_token_file));
  token["projected"]["sources"].push_back(source);
  YAML::Node anchors;
  anchors["name"] = str("trellis-trust-anchors");
  anchors["configMap"]["name"] = str("linkerd-identity-trust-roots");
  YAML::Node item;
  item["key"] = str("ca-bundle.crt");
  item["path"] = str(basename(options.trust_anchors_file));
  anchors["configMap"]["items"].push_back(item);
  YAML::Node lock;
  lock["name"] = str("trellis-proxy-init-xtables-lock");
  lock["emptyDir"] = YAML::Node(YAML::NodeType::Map);
  return {token, anchors, lock};
}

const std::set<std::string> kInjectedContainers = {
    kInitContainerName, kProxyContainerName,         "linkerd-init",
    "linkerd-proxy",    "linkerd-network-validator", "linkerd-debug"};
const std::set<std::string> kInjectedVolumes = {"trellis-identity-token",
                                                "trellis-trust-anchors",
                                                "trellis-proxy-init-xtables-lock",
                                                "linkerd-identity-end-entity",
                                                "linkerd-identity-token",
                                                "linkerd-proxy-init-xtables-lock",
                                                "linkerd-podinfo"};
const std::set<std::string> kInjectedAnnotations = {
    "linkerd.io/inject",        "linkerd.io/created-by",        "linkerd.io/proxy-version",
    "linkerd.io/identity-mode", "linkerd.io/trust-root-sha256", "linkerd.io/inject-timestamp"};

bool is_injected_label(const std::string& key) {
  return key == "linkerd.io/control-plane-ns" || key == "linkerd.io/workload-ns" ||
         base::starts_with(key, "linkerd.io/proxy-");
}

// Rebuilds spec.<field> without the items whose name is in `names`; removes it when empty.
bool remove_named(YAML::Node spec, const char* field, const std::set<std::string>& names) {
  YAML::Node list = spec[field];
  if (!list.IsSequence()) return false;
  YAML::Node kept(YAML::NodeType::Sequence);
  bool removed = false;
  for (const auto& item : list) {
    const std::string name = item.IsMap() ? scalar(item["name"]).value_or("") : "";
    if (names.count(name)) {
      removed = true;
    } else {
      kept.push_back(item);
    }
  }
  if (!removed) return false;
  if (kept.size() == 0) {
    spec.remove(field);
  } else {
    kept.SetStyle(list.Style());
    spec[field] = kept;
  }
  return true;
}

// Removes keys of metadata.<field> for which `pred` holds; removes the map when left empty.
template <typename Pred>
bool remove_keys(YAML::Node pod_template, const char* field, Pred pred) {
  if (!pod_template["metadata"].IsMap()) return false;
  YAML::Node md = pod_template["metadata"];
  YAML::Node map = md[field];
  if (!map.IsMap()) return false;
  std::vector<std::string> doomed;
  for (auto it = map.begin(); it != map.end(); ++it) {
    auto key = scalar(it->first);
    if (key && pred(*key)) doomed.push_back(*key);
  }
  for (const auto& key : doomed) map.remove(key);
  if (!doomed.empty() && map.size() == 0) md.remove(field);
  if (!doomed.empty() && md.size() == 0) pod_template.remove("metadata");
  return !doomed.empty();
}

}  // namespace

void set_inject_annotation(YAML::Node pod_template, const std::string& value) {
  YAML::Node annotations = metadata_map(pod_template, "annotations");
  annotations[kInjectAnnotation] = str(value);
}

void add_sidecar(YAML::Node pod_template, const InjectionPlan& plan, const InjectOptions& options) {
  remove_injection(pod_template);
  YAML::Node labels = metadata_map(pod_template, "labels");
  for (const auto& [k, v] : plan.labels) labels[k] = str(v);
  YAML::Node annotations = metadata_map(pod_template, "annotations");
  for (const auto& [k, v] : plan.annotations) annotations[k] = str(v);

  if (!pod_template["spec"].IsMap()) pod_template["spec"] = YAML::Node(YAML::NodeType::Map);
  YAML::Node spec = pod_template["spec"];
  // The init container and the proxy go first, in this order: iptables, then the proxy, then
  // the workload's own init containers (whose traffic is then proxied too).
  YAML::Node inits(YAML::NodeType::Sequence);
  inits.push_back(init_container(plan, options));
  inits.push_back(proxy_container(plan, options));
  if (spec["initContainers"].IsSequence()) {
    for (const auto& c : spec["initContainers"]) inits.push_back(c);
  }
  spec["initContainers"] = inits;
  YAML::Node vols(YAML::NodeType::Sequence);
  if (spec["volumes"].IsSequence()) {
    for (const auto& v : spec["volumes"]) vols.push_back(v);
  }
  for (const auto& v : volumes(options)) vols.push_back(v);
  spec["volumes"] = vols;
}

bool remove_injection(YAML::Node pod_template) {
  bool removed = false;
  removed |= remove_keys(pod_template, "annotations",
                         [](const std::string& k) { return kInjectedAnnotations.count(k) > 0; });
  removed |= remove_keys(pod_template, "labels", is_injected_label);
  if (pod_template["spec"].IsMap()) {
    YAML::Node spec = pod_template["spec"];
    removed |= remove_named(spec, "initContainers", kInjectedContainers);
    removed |= remove_named(spec, "containers", kInjectedContainers);
    removed |= remove_named(spec, "volumes", kInjectedVolumes);
  }
  return removed;
}

}  // namespace trellis::inject
