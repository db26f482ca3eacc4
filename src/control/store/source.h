#pragma once
// Source: where the store's objects come from. This version has DirectorySource (a directory
// of manifests, the embedded default); the Kubernetes API source comes later behind the same
// interface.
//
// A source groups objects by origin (a file, later an API watch) and always delivers the whole
// current content of each origin it reports, so the store can tell what disappeared.

#include <functional>
#include <string>
#include <vector>

#include "control/store/object.h"
#include "resources/diagnostics.h"

namespace trellis::control::store {

struct OriginUpdate {
  std::string origin;
  bool removed = false;  // the origin is gone: every object it supplied goes with it
  // Every object decoded from the origin, including those with errors (the store keeps the last
  // good version of an object whose new version has errors).
  std::vector<Object> objects;
  std::vector<resources::Diagnostic> diagnostics;
};

class Source {
 public:
  // `initial` is true exactly once: the first call, which carries every origin.
  using Sink = std::function<void(std::vector<OriginUpdate> updates, bool initial)>;

  virtual ~Source() = default;
  // Delivers the initial content, then changes, on a thread of the source's own. The sink is
  // never called concurrently with itself.
  virtual void start(Sink sink) = 0;
  // Stops delivering; after it returns the sink is not called again.
  virtual void stop() = 0;
  // For logs and /api/v1/status: the directory, the API server, ...
  virtual std::string description() const = 0;
};

}  // namespace trellis::control::store
