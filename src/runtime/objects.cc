#include "runtime/objects.h"

#include <random>
#include <sstream>

#include <fmt/format.h>

#include "resources/document.h"
#include "resources/load.h"
#include "runtime/network.h"

namespace trellis::runtime {

namespace {

constexpr const char* kSafeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

std::mt19937_64& rng() {
  static std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

bool all_digits(const std::string& s, size_t from) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

nlohmann::json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  static const char* kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char* kFalse[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  for (const char* t : kTrue) {
    if (s == t) return true;
  }
  for (const char* f : kFalse) {
    if (s == f) return false;
  }
  const size_t digits_from = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (all_digits(s, digits_from) && s.size() < 19) return std::stoll(s);
  // Floats: digits with one '.' and/or an exponent, nothing else.
  if (s.find_first_not_of("0123456789.eE+-") == std::string::npos &&
      s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_of(".eE") != std::string::npos) {
    try {
      size_t used = 0;
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (...) {
    }
  }
  return s;
}

}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      // "!" is the tag of quoted (non-plain) scalars.
      if (node.Tag() == "!") return node.Scalar();
      return plain_scalar(node.Scalar());
    default:
      return nullptr;
  }
}

namespace {

void emit(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : j) emit(out, item);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    // Quote strings that would read back as another type.
    if (!plain_scalar(s).is_string()) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}

}  // namespace

std::string json_to_yaml(const nlohmann::json& j) {
  YAML::Emitter out;
  emit(out, j);
  return std::string(out.c_str()) + "\n";
}

std::string ObjectKey::display() const {
  return ns.empty() ? kind + "/" + name : kind + "/" + ns + "/" + name;
}

ObjectKey key_of(const resources::Resource& r) {
  std::string kind = r.type.kind;
  if (!r.type.group.empty() && r.type.group != "apps") kind += "." + r.type.group;
  return {kind, r.effective_namespace(), r.meta.name};
}

base::Result<std::vector<ManifestObject>, std::string> decode_manifests(
    const std::vector<ManifestDocument>& docs, std::vector<std::string>& warnings) {
  // 1. Validate the text as written, so messages carry the user's file:line.
  resources::Diagnostics diags;
  std::vector<resources::Resource> decoded;
  for (const auto& doc : docs) resources::load_text(doc.text, doc.file, decoded, diags);
  diags.sort();
  std::string errors;
  for (const auto& d : diags.items()) {
    if (d.severity == resources::Severity::kError) {
      errors += d.format() + "\n";
    } else {
      warnings.push_back(d.format());
    }
  }
  if (!errors.empty()) return base::unexpected(errors);

  // 2. Each object on its own, in JSON form, decoded again from that form.
  std::vector<ManifestObject> out;
  for (const auto& doc : docs) {
    std::vector<nlohmann::json> objects;
    auto add = [&](const nlohmann::json& j) {
      if (!j.is_object()) return;
      const std::string kind = j.value("kind", "");
      if (kind.size() > 4 && kind.ends_with("List") && j.contains("items")) {
        for (const auto& item : j["items"]) objects.push_back(item);
      } else {
        objects.push_back(j);
      }
    };
    try {
      if (resources::looks_like_json(doc.text)) {
        nlohmann::json j = nlohmann::json::parse(doc.text);
        if (j.is_array()) {
          for (const auto& item : j) add(item);
        } else {
          add(j);
        }
      } else {
        for (const auto& part : resources::split_yaml_stream(doc.text)) {
          add(yaml_to_json(YAML::Load(part.text)));
        }
      }
    } catch (const std::exception& e) {
      return base::unexpected(fmt::format("{}: {}\n", doc.file, e.what()));
    }
    for (auto& j : objects) {
      std::vector<resources::Resource> one;
      resources::Diagnostics d;
      resources::load_text(j.dump(), doc.file, one, d);
      if (d.has_errors()) {
        std::string text;
        for (const auto& item : d.items()) text += item.format() + "\n";
        return base::unexpected(text);
      }
      if (one.size() != 1) continue;  // not a Trellis kind: skipped, as validate does
      ManifestObject obj;
      obj.key = key_of(one[0]);
      obj.raw = std::move(j);
      if (one[0].namespaced) obj.raw["metadata"]["namespace"] = obj.key.ns;
      obj.res = std::move(one[0]);
      out.push_back(std::move(obj));
    }
  }
  return out;
}

std::string template_hash(const nlohmann::json& pod_template) {
  const std::string hex = short_hash(pod_template.dump(), 16);
  uint64_t h = std::stoull(hex, nullptr, 16);
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out += kSafeAlphabet[h % 27];
    h /= 27;
  }
  return out;
}

std::string random_suffix(size_t n) {
  std::string out;
  std::uniform_int_distribution<int> pick(0, 26);
  for (size_t i = 0; i < n; ++i) out += kSafeAlphabet[pick(rng())];
  return out;
}

std::string random_uid() {
  std::uniform_int_distribution<uint64_t> pick;
  const std::string a = fmt::format("{:016x}", pick(rng()));
  const std::string b = fmt::format("{:016x}", pick(rng()));
  return fmt::format("{}-{}-{}-{}-{}", a.substr(0, 8), a.substr(8, 4), a.substr(12, 4),
                     b.substr(0, 4), b.substr(4, 12));
}

}  // namespace trellis::runtime
