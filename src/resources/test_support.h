#pragma once
// Test helpers for resource decoders (used only by *_test.cc).
//
//   auto r = decode_yaml(R"(
//   apiVersion: linkerd.io/v1alpha2
//   kind: ServiceProfile
//   ...)");
//   EXPECT_THAT(r.errors(), ElementsAre("spec.routes[0].timeout: invalid duration \"5x\""));
//   const ServiceProfile* sp = r.first<ServiceProfile>();

#include <string>
#include <string_view>
#include <vector>

#include "resources/load.h"

namespace trellis::resources::testing {

struct Decoded {
  std::vector<Resource> resources;
  Diagnostics diags;

  // "field.path: message" for each error / warning, in source order.
  std::vector<std::string> errors() const { return lines(Severity::kError); }
  std::vector<std::string> warnings() const { return lines(Severity::kWarning); }
  // The full compiler-style lines.
  std::vector<std::string> formatted() const {
    std::vector<std::string> out;
    for (const auto& d : diags.items()) out.push_back(d.format());
    return out;
  }
  template <typename T>
  const T* first() const {
    for (const auto& r : resources) {
      if (const T* t = r.as<T>()) return t;
    }
    return nullptr;
  }

 private:
  std::vector<std::string> lines(Severity s) const {
    std::vector<std::string> out;
    for (const auto& d : diags.items()) {
      if (d.severity != s) continue;
      out.push_back(d.field.empty() ? d.message : d.field + ": " + d.message);
    }
    return out;
  }
};

inline Decoded decode_yaml(std::string_view yaml, const std::string& file = "test.yaml") {
  Decoded d;
  load_text(yaml, file, d.resources, d.diags);
  d.diags.sort();
  return d;
}

}  // namespace trellis::resources::testing
