#include "inject/pod_template.h"

#include <set>

#include "resources/reader.h"

namespace trellis::inject {

namespace {

std::map<std::string, std::string> string_map(const YAML::Node& map) {
  std::map<std::string, std::string> out;
  if (!map || !map.IsMap()) return out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    auto key = scalar(it->first);
    if (!key) continue;
    if (it->second.IsNull()) {
      out[*key] = "";
    } else if (auto value = scalar(it->second)) {
      out[*key] = *value;
    }
  }
  return out;
}

YAML::Node child(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return node[key];
}

}  // namespace

std::optional<std::string> scalar(const YAML::Node& node) {
  if (!node || !node.IsScalar()) return std::nullopt;
  return node.Scalar();
}

bool has_pod_template(const std::string& kind) {
  static const std::set<std::string> kKinds = {"Pod",
                                               "Deployment",
                                               "ReplicaSet",
                                               "StatefulSet",
                                               "DaemonSet",
                                               "Job",
                                               "ReplicationController",
                                               "CronJob"};
  return kKinds.count(kind) > 0;
}

std::optional<YAML::Node> find_pod_template(YAML::Node object) {
  if (!object.IsMap()) return std::nullopt;
  const std::string kind = scalar(object["kind"]).value_or("");
  if (!has_pod_template(kind)) return std::nullopt;
  if (kind == "Pod") return object;
  YAML::Node spec = object["spec"];
  if (!spec.IsMap()) return std::nullopt;
  if (kind == "CronJob") {
    YAML::Node job = spec["jobTemplate"];
    if (!job.IsMap()) return std::nullopt;
    YAML::Node job_spec = job["spec"];
    if (!job_spec.IsMap()) return std::nullopt;
    YAML::Node tmpl = job_spec["template"];
    if (!tmpl.IsMap()) return std::nullopt;
    return tmpl;
  }
  YAML::Node tmpl = spec["template"];
  if (!tmpl.IsMap()) return std::nullopt;
  return tmpl;
}

WorkloadRef workload_ref(const YAML::Node& object) {
  WorkloadRef ref;
  if (!object.IsMap()) return ref;
  ref.kind = scalar(object["kind"]).value_or("");
  YAML::Node md = child(object, "metadata");
  ref.name = scalar(child(md, "name")).value_or("");
  ref.ns = scalar(child(md, "namespace")).value_or("");
  if (ref.ns.empty()) ref.ns = "default";
  return ref;
}

NamespaceInput read_metadata(const YAML::Node& object) {
  NamespaceInput out;
  YAML::Node md = child(object, "metadata");
  out.labels = string_map(child(md, "labels"));
  out.annotations = string_map(child(md, "annotations"));
  return out;
}

PodTemplateInput read_pod_template(const YAML::Node& pod_template) {
  PodTemplateInput out;
  const NamespaceInput md = read_metadata(pod_template);
  out.labels = md.labels;
  out.annotations = md.annotations;
  YAML::Node spec = child(pod_template, "spec");
  if (auto sa = scalar(child(spec, "serviceAccountName"))) {
    out.spec.service_account_name = *sa;
  } else if (auto old = scalar(child(spec, "serviceAccount"))) {
    out.spec.service_account_name = *old;
  }
  if (auto host = scalar(child(spec, "hostNetwork"))) {
    out.spec.host_network =
        resources::resolve_scalar(*host, true) == resources::ScalarType::kBool &&
        (*host == "true" || *host == "True" || *host == "TRUE" || *host == "yes" ||
         *host == "Yes" || *host == "YES" || *host == "on" || *host == "On" || *host == "ON" ||
         *host == "y" || *host == "Y");
  }
  YAML::Node containers = child(spec, "containers");
  if (containers && containers.IsSequence()) {
    for (const auto& c : containers) {
      resources::Container container;
      container.name = scalar(child(c, "name")).value_or("");
      YAML::Node ports = child(c, "ports");
      if (ports && ports.IsSequence()) {
        for (const auto& p : ports) {
          resources::ContainerPort port;
          port.name = scalar(child(p, "name")).value_or("");
          auto number = scalar(child(p, "containerPort"));
          if (!number) continue;
          try {
            port.container_port = std::stoi(*number);
          } catch (const std::exception&) {
            continue;
          }
          container.ports.push_back(std::move(port));
        }
      }
      out.spec.containers.push_back(std::move(container));
    }
  }
  return out;
}

}  // namespace trellis::inject
