#include "resources/traffic_split.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

// Integer weights are capped at uint32 (milli-units at 1000x that), which keeps the sum of
// every backend of a document (bounded by the node budget) far from int64 overflow.
constexpr int64_t kMaxWeight = std::numeric_limits<uint32_t>::max();
constexpr int64_t kMaxWeightMilli = kMaxWeight * 1000;


bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A Service name: the apex or a backend, in the split's own namespace.
std::optional<std::string> decode_service_name(Node& n) {
  auto s = n.as_string();
  if (!s) return std::nullopt;
  if (std::string err = check_dns1123_label(*s); !err.empty()) {
    const size_t dot = s->find('.');
    const std::string first = s->substr(0, dot);
    if (dot != std::string::npos && check_dns1123_label(first).empty()) {
      n.error("must be the name of a Service in this namespace, not a DNS name (write " +
              quote(first) + ")");
    } else {
      n.error("invalid service name " + quote(*s) + ": " + err);
    }
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> check_weight_range(Node& w, int64_t milli) {
  if (milli < 0) {
    w.error("must not be negative, got " + w.scalar());
    return std::nullopt;
  }
  if (milli > kMaxWeightMilli) {
    w.error("must be at most " + std::to_string(kMaxWeight) + ", got " + w.scalar());
    return std::nullopt;
  }
  return milli;
}

// The weight in milli-units, per the version's weight type.
std::optional<int64_t> decode_weight(Node& w, const TypeMeta& type) {
  if (type.version == "v1alpha1") {
    auto q = w.as_quantity();
    if (!q) return std::nullopt;
    return check_weight_range(w, q->milli);
  }
  const ScalarType t = w.is_scalar() ? w.scalar_type() : ScalarType::kNull;
  if (t == ScalarType::kInt) {
    auto v = w.as_integer(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    if (!v) return std::nullopt;
    // Range-check before scaling, so that huge values cannot overflow.
    if (*v < 0) return check_weight_range(w, -1);
    if (*v > kMaxWeight) return check_weight_range(w, kMaxWeightMilli + 1);
    return *v * 1000;
  }
  if (t != ScalarType::kString && t != ScalarType::kFloat) {
    w.error("expected an integer weight, got " + w.describe());
    return std::nullopt;
  }
  // v1alpha1-style quantities ("900m") are what the seeds write under v1alpha2: read them as
  // v1alpha1 would, and name the integer to write instead.
  auto q = w.as_quantity();
  if (!q) return std::nullopt;
  auto milli = check_weight_range(w, q->milli);
  if (!milli) return std::nullopt;
  const std::string& text = w.scalar();
  if (all_digits(text)) {
    w.warning("expected an integer, got the string " + quote(text) + "; read as " + text +
              " (write it without quotes)");
  } else {
    w.warning(type.api_version() + " weights are integers; the quantity " + quote(text) +
              " is read as " + std::to_string(*milli) + " thousandths (write " +
              std::to_string(*milli) +
              ", with the other weights in thousandths too, or use "
              "split.smi-spec.io/v1alpha1, where quantities are canonical)");
  }
  return milli;
}

bool is_empty_list(const Node& n, std::string_view key) {
  const YAML::Node& raw = n.raw();
  if (!raw.IsMap()) return false;
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      return it->second.IsSequence() && it->second.size() == 0;
    }
  }
  return false;
}

// Collects backends from either form, checking names, duplicates and weights.
class BackendCollector {
 public:
  BackendCollector(const TypeMeta& type, const std::string& apex, TrafficSplit& out)
      : type_(type), apex_(apex), out_(out) {}

  void add(const std::string& item_path, std::optional<Node> service, std::optional<Node> weight) {
    TrafficSplitBackend backend;
    if (service) {
      if (auto name = decode_service_name(*service)) {
        backend.service = *name;
        if (auto [it, inserted] = seen_.emplace(*name, item_path); !inserted) {
          service->error("duplicate backend service " + quote(*name) + " (also at " + it->second +
                         ")");
        } else if (*name == apex_) {
          service->warning("backend " + quote(*name) +
                           " is the apex service itself, whose traffic this split redirects "
                           "(a loop); give each version its own Service, e.g. " +
                           quote(*name + "-stable"));
        }
      }
    }
    bool weight_ok = false;
    if (weight) {
      if (auto milli = decode_weight(*weight, type_)) {
        backend.weight_milli = *milli;
        weight_ok = true;
      }
    }
    weights_ok_ = weights_ok_ && weight_ok;
    out_.backends.push_back(std::move(backend));
  }

  // All weights decoded and every one is zero.
  bool all_zero() const {
    return weights_ok_ && !out_.backends.empty() &&
           std::all_of(out_.backends.begin(), out_.backends.end(),
                       [](const TrafficSplitBackend& b) { return b.weight_milli == 0; });
  }

 private:
  const TypeMeta& type_;
  const std::string& apex_;
  TrafficSplit& out_;
  std::map<std::string, std::string> seen_;  // service -> path of its first backend
  bool weights_ok_ = true;
};

// Seed variant: trafficRouting: [{backend: {serviceName}, weight}]. The seed's flattened
// indentation leaves it open whether weight sits beside or inside `backend`; both are read.
void decode_traffic_routing(Node& spec, BackendCollector& backends) {
  spec.each_object("trafficRouting", kOptional, [&](Node& item) {
    std::optional<Node> service;
    std::optional<Node> inner_weight;
    item.object("backend", kRequired, [&](Node& backend) {
      service = backend.get("serviceName", kRequired);
      inner_weight = backend.get("weight");
    });
    std::optional<Node> weight = item.get("weight");
    if (weight && inner_weight) {
      item.error_at("weight", "weight is set both here and in backend.weight; keep one");
      weight.reset();
    } else if (!weight) {
      weight = inner_weight;
      if (!weight && item.has("backend")) item.error_at("weight", "missing required field");
    }
    backends.add(item.path(), service, weight);
  });
}

void decode_matches(Node& spec, const TypeMeta& type, TrafficSplit& out) {
  if (type.version == "v1alpha1" || type.version == "v1alpha2") {
    spec.ignore({"matches"});
    if (spec.has("matches")) {
      spec.error_at("matches", "matches is not available in " + type.api_version() +
                                   "; use split.smi-spec.io/v1alpha4 to split only the "
                                   "requests that match an HTTPRouteGroup");
    }
    return;
  }
  spec.each_object("matches", kOptional, [&](Node& m) {
    TrafficSplitMatch match;
    if (auto kind = m.one_of("kind", {"HTTPRouteGroup"}, kRequired)) match.kind = *kind;
    if (auto name = m.get("name", kRequired)) {
      if (auto s = name->as_string()) {
        match.name = *s;
        if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
          name->error("invalid name " + quote(*s) + ": " + err);
        }
      }
    }
    if (auto group = m.get("apiGroup")) {
      if (auto s = group->as_string(); s && *s != "specs.smi-spec.io") {
        group->error("must be \"specs.smi-spec.io\" (the SMI traffic specs group), got " +
                     quote(*s));
      }
    }
    out.matches.push_back(std::move(match));
  });
}

}  // namespace

int64_t TrafficSplit::total_weight_milli() const {
  int64_t total = 0;
  for (const auto& b : backends) total += b.weight_milli;
  return total;
}

void decode(Node& root, const TypeMeta& type, const ObjectMeta&, TrafficSplit& out) {
  root.object("spec", kRequired, [&](Node& spec) {
    if (auto service = spec.get("service", kRequired)) {
      if (auto name = decode_service_name(*service)) out.service = *name;
    }
    BackendCollector backends(type, out.service, out);
    const bool variant_present = spec.has("trafficRouting");
    const bool canonical_present = spec.has("backends");
    if (spec.accept_variant("trafficRouting", "backends",
                            "non-standard form: write spec.backends[].service and "
                            "spec.backends[].weight instead of "
                            "spec.trafficRouting[].backend.serviceName")) {
      decode_traffic_routing(spec, backends);
    }
    spec.each_object("backends", variant_present ? kOptional : kRequired, [&](Node& item) {
      auto service = item.get("service", kRequired);
      auto weight = item.get("weight", kRequired);
      backends.add(item.path(), service, weight);
    });
    const std::string_view list_key =
        canonical_present || !variant_present ? "backends" : "trafficRouting";
    if (is_empty_list(spec, list_key)) {
      spec.error_at(list_key, "must list at least one backend");
    } else if (backends.all_zero()) {
      spec.error_at(list_key, "all backend weights are zero; no backend would receive traffic");
    }
    decode_matches(spec, type, out);
  });
}

}  // namespace trellis::resources
