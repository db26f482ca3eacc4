#pragma once
// Types and validators shared by every kind: object metadata, label selectors, int-or-string
// ports, and the Kubernetes name grammars (DNS-1123 labels and subdomains, label keys and
// values, IANA service names for ports).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "resources/diagnostics.h"
#include "resources/reader.h"

namespace trellis::resources {

struct ObjectMeta {
  std::string name;
  std::string ns;  // as written; empty when not set
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string uid;
  std::string creation_timestamp;
  int64_t generation = 0;
};

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  bool empty() const { return match_labels.empty() && match_expressions.empty(); }
  bool matches(const std::map<std::string, std::string>& labels) const;
};

// A port given by number or by name (Kubernetes IntOrString for ports).
struct PortRef {
  std::variant<int32_t, std::string> value;
  bool is_number() const { return std::holds_alternative<int32_t>(value); }
  int32_t number() const { return std::get<int32_t>(value); }
  const std::string& name() const { return std::get<std::string>(value); }
  std::string to_string() const;
};

// ---- grammar checks: return an empty string when valid, else what is wrong ----
std::string check_dns1123_label(std::string_view s);      // Service, Namespace names
std::string check_dns1123_subdomain(std::string_view s);  // most object names
std::string check_label_key(std::string_view s);          // [prefix/]name
std::string check_label_value(std::string_view s);
std::string check_port_name(std::string_view s);          // IANA_SVC_NAME
std::string check_http_header_name(std::string_view s);   // RFC 9110 token

// ---- decoders used by several kinds (report problems on the node) ----
ObjectMeta decode_metadata(Node& metadata, bool namespaced);
// labels / matchLabels map with key and value grammar checks
std::map<std::string, std::string> decode_labels(Node& parent, std::string_view key);
LabelSelector decode_label_selector(Node& selector);
// A port number (1..65535) or a port name; `allow_name` false forces a number.
std::optional<PortRef> decode_port(Node& value, bool allow_name = true);
// Compiles with RE2; reports the RE2 error on the node. Returns whether it compiled.
bool check_regex(Node& value, const std::string& pattern);

}  // namespace trellis::resources
