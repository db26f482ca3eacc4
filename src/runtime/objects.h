#pragma once
// Manifests as the runtime keeps them: each object's JSON form (what the user wrote, converted
// from YAML the way Kubernetes' YAML reader types scalars) next to its decoded Resource.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "resources/diagnostics.h"
#include "resources/resource.h"

namespace trellis::runtime {

// YAML → JSON: quoted scalars stay strings; plain ones become null, booleans (YAML 1.1 forms
// included), integers or floats when they read as such.
nlohmann::json yaml_to_json(const YAML::Node& node);
// JSON → YAML text (for `-o yaml`).
std::string json_to_yaml(const nlohmann::json& j);

struct ObjectKey {
  std::string kind;  // "Deployment", "ServiceProfile", ... (with group: "TrafficSplit.split.smi-spec.io")
  std::string ns;    // effective namespace; empty for cluster-scoped kinds
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
  std::string display() const;  // deployment.apps/web style is the CLI's job; this is Kind/ns/name
};

struct ManifestObject {
  ObjectKey key;
  nlohmann::json raw;
  resources::Resource res;
};

struct ManifestDocument {
  std::string file;  // for messages
  std::string text;
};

// Decodes documents the way `trellis validate` does. On errors, returns them formatted (one
// diagnostic per line) and no objects. Warnings are returned in `warnings`.
base::Result<std::vector<ManifestObject>, std::string> decode_manifests(
    const std::vector<ManifestDocument>& docs, std::vector<std::string>& warnings);

ObjectKey key_of(const resources::Resource& r);

// Kubernetes-style pod-template-hash of a Deployment's spec.template (10 safe characters).
std::string template_hash(const nlohmann::json& pod_template);
// `n` characters from Kubernetes' "safe" alphabet (no vowels, no confusable digits).
std::string random_suffix(size_t n);
std::string random_uid();

}  // namespace trellis::runtime
