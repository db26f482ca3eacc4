#pragma once
// Finding and reading the pod template of a raw manifest object (yaml-cpp), for the commands
// that rewrite manifests (`trellis inject/uninject`) rather than decode them.
//
// yaml-cpp handles are references into the document: functions here never assign one
// YAML::Node to another existing handle (that overwrites the target node, see resources/reader.h).

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "inject/plan.h"

namespace trellis::inject {

// Kinds with a pod template and where it is: Pod (the object itself), Deployment, ReplicaSet,
// StatefulSet, DaemonSet, Job, ReplicationController (spec.template), CronJob
// (spec.jobTemplate.spec.template).
bool has_pod_template(const std::string& kind);

// The pod template node (a map with metadata and spec), or nullopt when the kind has none or the
// object does not have one where it should.
std::optional<YAML::Node> find_pod_template(YAML::Node object);

// The object's kind/name/namespace (namespace "default" when unset).
WorkloadRef workload_ref(const YAML::Node& object);

// Reads what plan() needs from the template: labels, annotations, service account, hostNetwork,
// container port names. Values of the wrong type are skipped (`trellis validate` reports them).
PodTemplateInput read_pod_template(const YAML::Node& pod_template);

// metadata.labels / metadata.annotations of any object as strings.
NamespaceInput read_metadata(const YAML::Node& object);

// A scalar's text when it is a string-like scalar; nullopt otherwise.
std::optional<std::string> scalar(const YAML::Node& node);

}  // namespace trellis::inject
