#pragma once
// Editing a pod template (raw yaml-cpp map with metadata and spec): the annotation-only
// injection of `trellis inject`, the full sidecar of `--manual`, and their removal.
//
// The manual sidecar is a native sidecar (linkerd.md §7, the default since Linkerd 2.20):
//   initContainers: [trellis-init (trellis-proxy init ...), trellis-proxy (restartPolicy: Always,
//                    startupProbe on /ready so the app containers start after the proxy is ready)]
//   volumes: identity token (projected service-account token), trust anchors (ConfigMap
//            linkerd-identity-trust-roots), xtables lock

#include <yaml-cpp/yaml.h>

#include "inject/plan.h"

namespace trellis::inject {

// Sets metadata.annotations["linkerd.io/inject"] = value, creating metadata/annotations.
void set_inject_annotation(YAML::Node pod_template, const std::string& value);

// Adds the sidecar described by `plan` (replacing any earlier manual injection, so it is
// idempotent) plus the plan's labels and annotations.
void add_sidecar(YAML::Node pod_template, const InjectionPlan& plan, const InjectOptions& options);

// Removes what inject added: linkerd.io/inject, the injector's labels and annotations, the
// proxy and init containers and their volumes — Trellis' and Linkerd's (linkerd-proxy,
// linkerd-init, linkerd-network-validator, linkerd-* volumes). config.linkerd.io/* annotations
// are the user's and stay. Maps and lists left empty are removed. Returns whether anything was
// removed.
bool remove_injection(YAML::Node pod_template);

}  // namespace trellis::inject
