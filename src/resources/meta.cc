#include "resources/meta.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace trellis::resources {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

}  // namespace

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& req : match_expressions) {
    auto it = labels.find(req.key);
    const bool present = it != labels.end();
    const bool in_values =
        present && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.op == "In" && !in_values) return false;
    if (req.op == "NotIn" && in_values) return false;
    if (req.op == "Exists" && !present) return false;
    if (req.op == "DoesNotExist" && present) return false;
  }
  return true;
}

std::string PortRef::to_string() const {
  return is_number() ? std::to_string(number()) : name();
}

std::string check_dns1123_label(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 63) return "must be no more than 63 characters";
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') {
      return "must consist of lower case alphanumeric characters or '-' (e.g. 'my-name')";
    }
  }
  if (s.front() == '-' || s.back() == '-') {
    return "must start and end with an alphanumeric character (e.g. 'my-name')";
  }
  return {};
}

std::string check_dns1123_subdomain(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 253) return "must be no more than 253 characters";
  for (auto part : base::split(s, '.')) {
    if (part.empty()) return "must not contain empty labels (e.g. 'a..b')";
    for (char c : part) {
      if (!is_lower_alnum(c) && c != '-') {
        return "must consist of lower case alphanumeric characters, '-' or '.' (e.g. "
               "'example.com')";
      }
    }
    if (part.front() == '-' || part.back() == '-') {
      return "each part must start and end with an alphanumeric character";
    }
  }
  return {};
}

std::string check_label_value(std::string_view s) {
  if (s.empty()) return {};
  if (s.size() > 63) return "must be no more than 63 characters";
  if (!is_alnum(s.front()) || !is_alnum(s.back())) {
    return "must start and end with an alphanumeric character";
  }
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') {
      return "must consist of alphanumeric characters, '-', '_' or '.'";
    }
  }
  return {};
}

std::string check_label_key(std::string_view s) {
  if (s.empty()) return "must not be empty";
  std::string_view name = s;
  const size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (std::string err = check_dns1123_subdomain(prefix); !err.empty()) {
      return "prefix " + err;
    }
  }
  if (name.empty()) return "name part must not be empty";
  if (name.size() > 63) return "name part must be no more than 63 characters";
  if (!is_alnum(name.front()) || !is_alnum(name.back())) {
    return "name part must start and end with an alphanumeric character";
  }
  for (char c : name) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') {
      return "name part must consist of alphanumeric characters, '-', '_' or '.'";
    }
  }
  return {};
}

std::string check_port_name(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 15) return "must be no more than 15 characters";
  bool letter = false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') {
      return "must contain only lower case alphanumeric characters and '-'";
    }
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (!letter) return "must contain at least one letter";
  if (s.front() == '-' || s.back() == '-') return "must not begin or end with '-'";
  if (s.find("--") != std::string_view::npos) return "must not contain consecutive '-'";
  return {};
}

std::string check_http_header_name(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 256) return "must be no more than 256 characters";
  static const std::string_view kTchar = "!#$%&'*+-.^_`|~";
  for (char c : s) {
    if (!is_alnum(c) && kTchar.find(c) == std::string_view::npos) {
      return "must be a valid HTTP header name (RFC 9110 token characters only)";
    }
  }
  return {};
}

std::map<std::string, std::string> decode_labels(Node& parent, std::string_view key) {
  auto labels = parent.string_map(key);
  auto node = parent.get(key);
  if (!node || !node->is_map()) return labels;
  const YAML::Node& raw = node->raw();
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& k = it->first.Scalar();
    auto found = labels.find(k);
    if (found == labels.end()) continue;  // value had the wrong type; already reported
    const std::string path = join_path(node->path(), k);
    DecodeContext& ctx = parent.context();
    if (std::string err = check_label_key(k); !err.empty()) {
      ctx.diags.error(ctx.location(it->first.Mark()), ctx.object, path, "invalid label key: " + err);
    }
    if (std::string err = check_label_value(found->second); !err.empty()) {
      ctx.diags.error(ctx.location(it->second.Mark()), ctx.object, path,
                      "invalid label value \"" + found->second + "\": " + err);
    }
  }
  return labels;
}

ObjectMeta decode_metadata(Node& md, bool namespaced) {
  ObjectMeta meta;
  if (auto name = md.get("name")) {
    if (auto s = name->as_string()) {
      meta.name = *s;
      if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
        name->error("invalid name \"" + *s + "\": " + err);
      }
    }
  } else if (!md.has("generateName")) {
    md.error_at("name", "missing required field");
  }
  if (auto ns = md.get("namespace")) {
    if (auto s = ns->as_string()) {
      meta.ns = *s;
      if (!namespaced) {
        ns->warning("this kind is cluster-scoped; metadata.namespace is ignored");
      } else if (std::string err = check_dns1123_label(*s); !err.empty()) {
        ns->error("invalid namespace \"" + *s + "\": " + err);
      }
    }
  }
  meta.labels = decode_labels(md, "labels");
  meta.annotations = md.string_map("annotations");
  if (auto uid = md.str("uid")) meta.uid = *uid;
  if (auto ts = md.str("creationTimestamp")) meta.creation_timestamp = *ts;
  if (auto g = md.integer("generation", kOptional, 0, INT64_MAX)) meta.generation = *g;
  md.ignore({"generateName", "resourceVersion", "selfLink", "deletionTimestamp",
             "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "managedFields"});
  return meta;
}

LabelSelector decode_label_selector(Node& sel) {
  LabelSelector out;
  out.match_labels = decode_labels(sel, "matchLabels");
  sel.each_object("matchExpressions", kOptional, [&](Node& expr) {
    LabelSelectorRequirement req;
    if (auto key = expr.get("key", kRequired)) {
      if (auto s = key->as_string()) {
        req.key = *s;
        if (std::string err = check_label_key(*s); !err.empty()) {
          key->error("invalid label key: " + err);
        }
      }
    }
    if (auto op = expr.one_of("operator", {"In", "NotIn", "Exists", "DoesNotExist"}, kRequired)) {
      req.op = *op;
    }
    req.values = expr.strings("values");
    if ((req.op == "In" || req.op == "NotIn") && req.values.empty()) {
      expr.error_at("values", "must be non-empty when operator is " + req.op);
    }
    if ((req.op == "Exists" || req.op == "DoesNotExist") && !req.values.empty()) {
      expr.error_at("values", "must be empty when operator is " + req.op);
    }
    out.match_expressions.push_back(std::move(req));
  });
  return out;
}

std::optional<PortRef> decode_port(Node& value, bool allow_name) {
  const ScalarType t = value.scalar_type();
  if (value.is_scalar() && t == ScalarType::kInt) {
    auto n = value.as_integer(1, 65535);
    if (!n) return std::nullopt;
    return PortRef{static_cast<int32_t>(*n)};
  }
  if (!allow_name) {
    value.error("expected a port number (1-65535), got " + value.describe());
    return std::nullopt;
  }
  if (!value.is_scalar() || t != ScalarType::kString) {
    value.error("expected a port number (1-65535) or a port name, got " + value.describe());
    return std::nullopt;
  }
  const std::string& s = value.scalar();
  if (!s.empty() && s.size() <= 5 &&
      std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    value.error("expected a port number, got the string \"" + s + "\" (write " + s +
                " without quotes)");
    return std::nullopt;
  }
  if (std::string err = check_port_name(s); !err.empty()) {
    value.error("invalid port name \"" + s + "\": " + err);
    return std::nullopt;
  }
  return PortRef{s};
}

bool check_regex(Node& value, const std::string& pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(8 << 20);
  RE2 re(pattern, opts);
  if (!re.ok()) {
    value.error("invalid regular expression \"" + pattern + "\": " + re.error() +
                " (RE2 syntax; backreferences and lookaround are not supported)");
    return false;
  }
  return true;
}

}  // namespace trellis::resources
