#include "control/store/object.h"

namespace trellis::control::store {

std::string ObjectKey::display() const {
  return ns.empty() ? kind + "/" + name : kind + "/" + ns + "/" + name;
}

ObjectKey key_of(const resources::Resource& r) {
  return ObjectKey{r.type.group, r.type.kind, r.effective_namespace(), r.meta.name};
}

}  // namespace trellis::control::store
