#pragma once
// Node: a cursor over one YAML/JSON node that decodes typed values and reports every problem
// it meets into Diagnostics, with file:line:col and the field path.
//
// Decoders for each kind read fields through a Node; reading a key declares it as known, so
// `finish()` can report every key that was never read as an unknown field, with a
// did-you-mean suggestion taken from the keys that were. `object()` and `each_object()` call
// `finish()` for you after the callback; the registry calls it on the document root.
//
//   void decode_thing(Node& root, ...) {
//     root.object("spec", kRequired, [&](Node& spec) {
//       out.port = spec.integer("port", kRequired, 1, 65535);
//       spec.each_object("routes", kOptional, [&](Node& route) { ... });
//     });
//   }

// Beware of yaml-cpp's assignment: `node_a = node_b` on two existing YAML::Node handles
// overwrites the *document* node_a points to instead of re-pointing node_a. Walk with fresh
// copies (or Node children), never by assigning to a YAML::Node variable that already refers to
// part of a document.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "base/quantity.h"
#include "resources/diagnostics.h"

namespace trellis::resources {

enum class Req { kOptional, kRequired };
inline constexpr Req kOptional = Req::kOptional;
inline constexpr Req kRequired = Req::kRequired;

// How YAML 1.1 (as Kubernetes' sigs.k8s.io/yaml reads it) resolves a scalar.
enum class ScalarType { kNull, kBool, kInt, kFloat, kString };
const char* scalar_type_name(ScalarType t);

// Shared state for decoding one document.
struct DecodeContext {
  DecodeContext(Diagnostics& d, std::string f, int offset) : diags(d), file(std::move(f)), line_offset(offset) {}
  Diagnostics& diags;
  std::string file;
  int line_offset = 0;       // lines before this document in the file
  ObjectRef object;          // filled in as soon as apiVersion/kind/metadata are known
  size_t node_budget = 200000;
  bool budget_reported = false;

  Location location(const YAML::Mark& mark) const;
};

class Node {
 public:
  Node(DecodeContext& ctx, YAML::Node node, std::string path);

  const std::string& path() const { return path_; }
  Location location() const;
  DecodeContext& context() const { return *ctx_; }
  const YAML::Node& raw() const { return node_; }

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_null() const;
  ScalarType scalar_type() const;
  // The scalar text (empty for non-scalars).
  const std::string& scalar() const;
  // "a map", "a list", "the string \"x\"", "the integer 5" ...
  std::string describe() const;

  void error(std::string message) const;
  void warning(std::string message) const;
  void error_at(std::string_view key, std::string message) const;    // at the key, path.key
  void warning_at(std::string_view key, std::string message) const;

  // ---- this node as a typed scalar (reports a type error and returns nullopt otherwise) ----
  std::optional<std::string> as_string() const;
  std::optional<int64_t> as_integer(int64_t min, int64_t max) const;
  std::optional<double> as_number() const;
  std::optional<bool> as_bool() const;
  std::optional<base::Duration> as_duration() const;
  // Kubernetes int-or-string quantity, e.g. 1, "900m".
  std::optional<base::Quantity> as_quantity() const;
  std::optional<std::string> as_enum(const std::vector<std::string>& allowed) const;

  // ---- map fields ----
  // Declares `key` as known; returns the child, or nullopt when absent or null. When `req` is
  // kRequired and the key is missing, reports "missing required field".
  std::optional<Node> get(std::string_view key, Req req = kOptional);
  bool has(std::string_view key) const;
  // Known keys whose content is not interpreted here.
  void ignore(std::initializer_list<std::string_view> keys);
  // A specific suggestion for a key that does not exist (used by finish()).
  void suggest(std::string_view wrong_key, std::string hint);
  // A non-canonical spelling accepted with a warning: returns the `variant` child if present
  // and `canonical` is absent.
  std::optional<Node> accept_variant(std::string_view variant, std::string_view canonical,
                                     std::string warning);
  // Reports every key that was not declared known. Called automatically by object() and
  // each_object() and on the document root.
  void finish();

  std::optional<std::string> str(std::string_view key, Req req = kOptional);
  std::optional<int64_t> integer(std::string_view key, Req req, int64_t min, int64_t max);
  std::optional<double> number(std::string_view key, Req req = kOptional);
  std::optional<bool> boolean(std::string_view key, Req req = kOptional);
  std::optional<base::Duration> duration(std::string_view key, Req req = kOptional);
  std::optional<base::Quantity> quantity(std::string_view key, Req req = kOptional);
  std::optional<std::string> one_of(std::string_view key, const std::vector<std::string>& allowed,
                                    Req req = kOptional);
  // A list of strings; reports items that are not strings.
  std::vector<std::string> strings(std::string_view key, Req req = kOptional);
  // A map of string to string (labels, annotations, matchLabels).
  std::map<std::string, std::string> string_map(std::string_view key, Req req = kOptional);

  // The child must be a map; fn(child) is called and then child.finish(). Returns whether the
  // child was present and a map.
  bool object(std::string_view key, Req req, const std::function<void(Node&)>& fn);
  // The child must be a list; fn(item) for each item. Returns the number of items.
  size_t each(std::string_view key, Req req, const std::function<void(Node&)>& fn);
  // The child must be a list of maps; fn(item) then item.finish() for each map item.
  size_t each_object(std::string_view key, Req req, const std::function<void(Node&)>& fn);

  // Line of this node, 1-based, for callers that store locations.
  int line() const { return location().line; }

 private:
  Node child(const YAML::Node& node, std::string path) const;
  std::string child_path(std::string_view key) const;
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  std::optional<Entry> find(std::string_view key) const;
  void check_keys();
  bool spend_budget() const;

  DecodeContext* ctx_;
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> known_;
  std::map<std::string, std::string, std::less<>> hints_;
  bool finished_ = false;
};

// Path helpers: "spec" + "routes" -> "spec.routes"; keys that are not identifiers are quoted:
// metadata.annotations["linkerd.io/inject"].
std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, size_t index);

// YAML 1.1 scalar resolution as Kubernetes does it (plain scalars only; quoted are strings).
ScalarType resolve_scalar(const std::string& text, bool plain);

}  // namespace trellis::resources
