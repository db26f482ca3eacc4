#pragma once
// Diagnostics: every problem found in a manifest, with where it is (file, line, column), which
// object it belongs to (Kind/namespace/name) and which field (a path like
// `spec.routes[0].timeout`). Validation reports all problems at once (DESIGN.md §7.7).

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace trellis::resources {

enum class Severity { kWarning, kError };

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

// Identifies the object a diagnostic is about, as far as it could be decoded.
struct ObjectRef {
  std::string api_version;
  std::string kind;
  std::string ns;    // empty for cluster-scoped kinds or when not set
  std::string name;
  // "ServiceProfile/my-namespace/web.my-namespace.svc.cluster.local"
  std::string display() const;
};

struct Diagnostic {
  Severity severity = Severity::kError;
  Location location;
  ObjectRef object;
  std::string field;  // dotted path; empty for whole-document problems
  std::string message;

  // `file:line:col: error: Kind/ns/name: field.path: message`
  std::string format() const;
};

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void error(Location loc, ObjectRef obj, std::string field, std::string message);
  void warning(Location loc, ObjectRef obj, std::string field, std::string message);

  const std::vector<Diagnostic>& items() const { return items_; }
  size_t error_count() const;
  size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  void append(const Diagnostics& other);
  // Stable order: file, line, column, then insertion order.
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

nlohmann::json to_json(const Diagnostic& d);

}  // namespace trellis::resources
