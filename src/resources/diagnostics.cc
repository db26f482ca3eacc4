#include "resources/diagnostics.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace trellis::resources {

std::string ObjectRef::display() const {
  std::string out = kind.empty() ? std::string("<unknown kind>") : kind;
  if (!ns.empty()) out += "/" + ns;
  out += "/" + (name.empty() ? std::string("<unnamed>") : name);
  return out;
}

std::string Diagnostic::format() const {
  std::string out = location.file.empty() ? std::string("<input>") : location.file;
  if (location.line > 0) {
    out += ":" + std::to_string(location.line);
    if (location.column > 0) out += ":" + std::to_string(location.column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  if (!object.kind.empty() || !object.name.empty()) out += object.display() + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

void Diagnostics::error(Location loc, ObjectRef obj, std::string field, std::string message) {
  items_.push_back({Severity::kError, std::move(loc), std::move(obj), std::move(field),
                    std::move(message)});
}

void Diagnostics::warning(Location loc, ObjectRef obj, std::string field, std::string message) {
  items_.push_back({Severity::kWarning, std::move(loc), std::move(obj), std::move(field),
                    std::move(message)});
}

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const auto& d) {
    return d.severity == Severity::kError;
  }));
}

size_t Diagnostics::warning_count() const { return items_.size() - error_count(); }

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.location.file != b.location.file) return a.location.file < b.location.file;
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
}

nlohmann::json to_json(const Diagnostic& d) {
  nlohmann::json j;
  j["severity"] = d.severity == Severity::kError ? "error" : "warning";
  j["file"] = d.location.file;
  j["line"] = d.location.line;
  j["column"] = d.location.column;
  j["object"] = {{"apiVersion", d.object.api_version},
                 {"kind", d.object.kind},
                 {"namespace", d.object.ns},
                 {"name", d.object.name}};
  j["field"] = d.field;
  j["message"] = d.message;
  return j;
}

}  // namespace trellis::resources
