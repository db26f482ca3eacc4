#pragma once
// `trellis inject` / `uninject` over a whole manifest stream: every document keeps its place;
// documents without a pod template (and workloads left alone) are printed exactly as written,
// comments included; rewritten documents are re-emitted by yaml-cpp (their comments are lost).
// JSON input gives JSON output. `List` objects are handled item by item.

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "inject/plan.h"

namespace trellis::inject {

enum class Action {
  kInject,    // add linkerd.io/inject: enabled (or ingress) to pod templates
  kManual,    // render the full sidecar (init container, proxy, volumes)
  kUninject,  // remove the annotation and any sidecar
};

struct TransformOptions {
  Action action = Action::kInject;
  bool ingress = false;  // inject as linkerd.io/inject: ingress
  InjectOptions inject;
  // Namespaces known from elsewhere (other files); Namespace documents of the stream itself are
  // added to these before workloads are planned.
  std::map<std::string, NamespaceInput> namespaces;
};

struct TransformResult {
  std::string output;
  // One line per object, like Linkerd's: `deployment "web" injected`, `service "web" skipped`.
  std::vector<std::string> report;
  // Problems (YAML syntax, bad annotation values); the object is left unchanged.
  std::vector<std::string> errors;
  int changed = 0;
};

// Namespace documents' metadata in `text` (for planning workloads of other files).
void collect_namespaces(std::string_view text, std::map<std::string, NamespaceInput>& out);

TransformResult transform(std::string_view text, const std::string& file,
                          const TransformOptions& options);

// YAML emission that keeps scalar types: a scalar quoted in the source (or created as a string)
// is quoted again when its plain form would read as a number, boolean or null.
std::string emit_yaml(const YAML::Node& node);
std::string emit_json(const YAML::Node& node);

}  // namespace trellis::inject
