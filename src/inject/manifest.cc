#include "inject/manifest.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "inject/pod_template.h"
#include "inject/sidecar.h"
#include "resources/document.h"
#include "resources/reader.h"

namespace trellis::inject {

namespace {

using resources::ScalarType;

// A scalar that must stay a string: quoted in the source ("!" tag), or tagged !!str.
bool is_string_tagged(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  return tag == "!" || tag == "!!str" || tag == "tag:yaml.org,2002:str";
}

void emit_node(YAML::Emitter& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out << YAML::Null;
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      const bool keep_string =
          is_string_tagged(n) && resources::resolve_scalar(s, true) != ScalarType::kString;
      if (keep_string || s.find('\n') != std::string::npos) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      return;
    }
    case YAML::NodeType::Sequence:
      if (n.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : n) emit_node(out, item);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      if (n.Style() == YAML::EmitterStyle::Flow || n.size() == 0) out << YAML::Flow;
      out << YAML::BeginMap;
      for (auto it = n.begin(); it != n.end(); ++it) {
        out << YAML::Key;
        emit_node(out, it->first);
        out << YAML::Value;
        emit_node(out, it->second);
      }
      out << YAML::EndMap;
      return;
  }
}

nlohmann::ordered_json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (is_string_tagged(n)) return s;
      switch (resources::resolve_scalar(s, true)) {
        case ScalarType::kNull:
          return nullptr;
        case ScalarType::kBool:
          return s == "true" || s == "True" || s == "TRUE" || s == "y" || s == "Y" || s == "yes" ||
                 s == "Yes" || s == "YES" || s == "on" || s == "On" || s == "ON";
        case ScalarType::kInt:
          try {
            return std::stoll(s, nullptr, 0);
          } catch (const std::exception&) {
            return s;
          }
        case ScalarType::kFloat:
          try {
            return std::stod(s);
          } catch (const std::exception&) {
            return s;
          }
        case ScalarType::kString:
          return s;
      }
      return s;
    }
    case YAML::NodeType::Sequence: {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& item : n) arr.push_back(to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      auto obj = nlohmann::ordered_json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        obj[it->first.IsScalar() ? it->first.Scalar() : emit_yaml(it->first)] = to_json(it->second);
      }
      return obj;
    }
  }
  return nullptr;
}

class Transformer {
 public:
  Transformer(const TransformOptions& options, TransformResult& result)
      : options_(options), result_(result) {}

  // Returns whether `object` was changed.
  bool object(YAML::Node object) {
    if (!object.IsMap()) return false;
    const std::string kind = scalar(object["kind"]).value_or("");
    if (kind == "List" && object["items"].IsSequence()) {
      bool changed = false;
      YAML::Node items = object["items"];
      for (size_t i = 0; i < items.size(); ++i) changed |= this->object(items[i]);
      return changed;
    }
    const WorkloadRef ref = workload_ref(object);
    const std::string what =
        base::to_lower(kind.empty() ? std::string("object") : kind) + " " + base::quote(ref.name);
    auto tmpl = find_pod_template(object);
    if (!tmpl) {
      result_.report.push_back(what + " skipped");
      return false;
    }
    if (options_.action == Action::kUninject) {
      if (remove_injection(*tmpl)) {
        result_.report.push_back(what + " uninjected");
        return true;
      }
      result_.report.push_back(what + " skipped: not injected");
      return false;
    }
    PodTemplateInput pod = read_pod_template(*tmpl);
    auto existing = pod.annotations.find(kInjectAnnotation);
    if (existing != pod.annotations.end() && existing->second == "disabled") {
      result_.report.push_back(what + " skipped: " + kInjectAnnotation +
                               ": disabled on the pod template");
      return false;
    }
    const std::string wanted = options_.ingress ? "ingress" : "enabled";
    pod.annotations[kInjectAnnotation] = wanted;
    NamespaceInput ns;
    if (auto it = options_.namespaces.find(ref.ns); it != options_.namespaces.end())
      ns = it->second;
    auto planned = plan(ref, pod, ns, options_.inject);
    if (!planned) {
      result_.errors.push_back(planned.error());
      return false;
    }
    if (!planned->inject) {
      result_.report.push_back(what + " skipped: " + planned->reason);
      return false;
    }
    result_.report.push_back(what + " injected");
    if (options_.action == Action::kManual) {
      if (!(*tmpl)["spec"].IsMap()) {
        result_.report.back() = what + " skipped: the pod template has no spec";
        return false;
      }
      add_sidecar(*tmpl, *planned, options_.inject);
      return true;
    }
    if (existing != pod.annotations.end() && existing->second == wanted) return false;
    set_inject_annotation(*tmpl, wanted);
    return true;
  }

 private:
  const TransformOptions& options_;
  TransformResult& result_;
};

void collect_from(const YAML::Node& object, std::map<std::string, NamespaceInput>& out) {
  if (!object.IsMap()) return;
  const std::string kind = scalar(object["kind"]).value_or("");
  if (kind == "List" && object["items"] && object["items"].IsSequence()) {
    for (const auto& item : object["items"]) collect_from(item, out);
    return;
  }
  if (kind != "Namespace") return;
  const WorkloadRef ref = workload_ref(object);
  out[ref.name] = read_metadata(object);
}

std::string with_newline(std::string s) {
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

// One document of a YAML stream, byte for byte: its `---` line (if any) and everything up to
// the next one, so that untouched documents are printed exactly as written.
struct RawDocument {
  std::string marker;  // the `---` line including its newline, or empty (first document)
  std::string body;
  int line_offset = 0;  // lines of the file before `body`
};

bool is_marker_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.substr(0, 3) != "---") return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t';
}

std::vector<RawDocument> split_raw(std::string_view text) {
  std::vector<RawDocument> docs(1);
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    const std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    if (is_marker_line(line)) {
      if (!docs.back().marker.empty() || !docs.back().body.empty()) docs.emplace_back();
      std::string_view rest = line.substr(3);
      const std::string_view trimmed = base::trim(rest);
      if (trimmed.empty() || trimmed[0] == '#') {
        docs.back().marker = std::string(line);
        docs.back().line_offset = line_no;
      } else {
        // `--- {inline: document}`: the content belongs to the body.
        docs.back().marker = "---\n";
        docs.back().body = "   " + std::string(rest);
        docs.back().line_offset = line_no - 1;
      }
    } else {
      docs.back().body += line;
    }
    pos = end;
  }
  return docs;
}

}  // namespace

std::string emit_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit_node(out, node);
  return with_newline(out.c_str());
}

std::string emit_json(const YAML::Node& node) { return to_json(node).dump(2) + "\n"; }

void collect_namespaces(std::string_view text, std::map<std::string, NamespaceInput>& out) {
  std::vector<RawDocument> docs;
  if (resources::looks_like_json(text))
    docs.push_back({"", std::string(text), 0});
  else
    docs = split_raw(text);
  for (const auto& doc : docs) {
    try {
      YAML::Node root = YAML::Load(doc.body);
      if (root.IsSequence()) {
        for (const auto& item : root) collect_from(item, out);
      } else {
        collect_from(root, out);
      }
    } catch (const YAML::Exception&) {
      // transform() reports syntax errors.
    }
  }
}

TransformResult transform(std::string_view text, const std::string& file,
                          const TransformOptions& options) {
  TransformResult result;
  TransformOptions effective = options;
  collect_namespaces(text, effective.namespaces);
  Transformer transformer(effective, result);

  const bool json = resources::looks_like_json(text);
  std::vector<RawDocument> docs;
  if (json)
    docs.push_back({"", std::string(text), 0});
  else
    docs = split_raw(text);

  std::string output;
  for (const auto& doc : docs) {
    YAML::Node root;
    try {
      root = YAML::Load(doc.body);
    } catch (const YAML::Exception& e) {
      result.errors.push_back(file + ":" + std::to_string(doc.line_offset + e.mark.line + 1) +
                              ": invalid YAML: " + e.msg);
      output += doc.marker + doc.body;
      continue;
    }
    bool changed = false;
    if (root.IsSequence()) {  // a JSON array of objects
      for (size_t i = 0; i < root.size(); ++i) changed |= transformer.object(root[i]);
    } else {
      changed = transformer.object(root);
    }
    if (!changed) {
      output += doc.marker + doc.body;
      continue;
    }
    ++result.changed;
    // A document that did not end its line would run into the next `---`.
    if (!output.empty() && output.back() != '\n') output += '\n';
    output += doc.marker + (json ? emit_json(root) : emit_yaml(root));
  }
  result.output = std::move(output);
  return result;
}

}  // namespace trellis::inject
