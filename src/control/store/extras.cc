#include "control/store/extras.h"

#include <yaml-cpp/yaml.h>

#include "resources/document.h"

namespace trellis::control::store {
namespace {

std::string scalar(const YAML::Node& parent, const char* key) {
  const YAML::Node n = parent[key];
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

void visit(const YAML::Node& node, std::map<RawKey, ObjectExtras>& out, int depth) {
  if (depth > 4 || !node) return;
  if (node.IsSequence()) {
    for (const auto& item : node) visit(item, out, depth + 1);
    return;
  }
  if (!node.IsMap()) return;
  const std::string kind = scalar(node, "kind");
  if (kind.size() > 4 && kind.ends_with("List")) {
    visit(node["items"], out, depth + 1);
    return;
  }
  if (kind != "Pod") return;
  const YAML::Node md = node["metadata"];
  if (!md || !md.IsMap()) return;
  ObjectExtras extras;
  extras.deleting = !scalar(md, "deletionTimestamp").empty();
  if (const YAML::Node owners = md["ownerReferences"]; owners && owners.IsSequence()) {
    for (const auto& o : owners) {
      if (!o.IsMap()) continue;
      extras.owners.push_back({scalar(o, "kind"), scalar(o, "name"),
                               scalar(o, "controller") == "true"});
    }
  }
  if (const YAML::Node status = node["status"]; status && status.IsMap()) {
    extras.status.phase = scalar(status, "phase");
    if (std::string ip = scalar(status, "podIP"); !ip.empty()) {
      extras.status.pod_ips.push_back(ip);
    }
    if (const YAML::Node ips = status["podIPs"]; ips && ips.IsSequence()) {
      for (const auto& entry : ips) {
        if (!entry.IsMap()) continue;
        std::string ip = scalar(entry, "ip");
        if (ip.empty()) continue;
        bool seen = false;
        for (const auto& have : extras.status.pod_ips) seen = seen || have == ip;
        if (!seen) extras.status.pod_ips.push_back(std::move(ip));
      }
    }
    if (const YAML::Node conds = status["conditions"]; conds && conds.IsSequence()) {
      for (const auto& c : conds) {
        if (!c.IsMap() || scalar(c, "type") != "Ready") continue;
        extras.status.ready = scalar(c, "status") == "True";
      }
    }
  }
  out[RawKey{kind, scalar(md, "namespace"), scalar(md, "name")}] = std::move(extras);
}

}  // namespace

std::map<RawKey, ObjectExtras> extract_extras(std::string_view text) {
  std::map<RawKey, ObjectExtras> out;
  // Cheap pre-check: most files hold no Pod at all.
  if (text.find("Pod") == std::string_view::npos) return out;
  std::vector<resources::SourceDocument> docs;
  if (resources::looks_like_json(text)) {
    docs.push_back({std::string(text), 0});
  } else {
    docs = resources::split_yaml_stream(text);
  }
  for (const auto& doc : docs) {
    try {
      visit(YAML::Load(doc.text), out, 0);
    } catch (const std::exception&) {
      // Reported by the resource loader.
    }
  }
  return out;
}

}  // namespace trellis::control::store
