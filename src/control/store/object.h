#pragma once
// One object held by the store: the decoded resource plus what discovery needs that the
// resource model does not keep (a Pod's status and any object's owners and deletion mark).

#include <compare>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resources/resource.h"

namespace trellis::control::store {

// Identifies an object across reloads: the canonical group and kind (HTTPRoute exists in two
// groups), the effective namespace ("" for cluster-scoped kinds) and the name.
struct ObjectKey {
  std::string group;
  std::string kind;
  std::string ns;
  std::string name;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
  // "Service/emojivoto/web" ("Namespace/emojivoto" for cluster-scoped kinds).
  std::string display() const;
};

ObjectKey key_of(const resources::Resource& r);

// status of a Pod as the local runtime (or the Kubernetes API) writes it.
struct PodStatus {
  std::string phase;                 // "Running", "Pending", ...; empty when not written
  std::vector<std::string> pod_ips;  // status.podIP first, then other status.podIPs
  std::optional<bool> ready;         // the Ready condition; unset when not written
};

struct OwnerReference {
  std::string kind;
  std::string name;
  bool controller = false;
};

// metadata and status fields the resource decoders accept but do not model.
struct ObjectExtras {
  PodStatus status;
  std::vector<OwnerReference> owners;
  bool deleting = false;  // metadata.deletionTimestamp is set
};

struct Object {
  ObjectKey key;
  resources::Resource resource;
  std::string origin;  // where it came from (a file relative to the store directory)
  ObjectExtras extras;
};

using ObjectPtr = std::shared_ptr<const Object>;

}  // namespace trellis::control::store
