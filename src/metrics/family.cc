#include "metrics/family.h"

#include <cassert>
#include <type_traits>

#include "metrics/text_format.h"

namespace trellis::metrics {
namespace {

std::vector<std::string> format_bounds(const std::vector<double>& bounds) {
  std::vector<std::string> text;
  text.reserve(bounds.size() + 1);
  for (const double b : bounds) {
    std::string s;
    append_double(s, b);
    text.push_back(std::move(s));
  }
  text.push_back("+Inf");
  return text;
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

template <typename M>
constexpr MetricType type_of() {
  if constexpr (std::is_same_v<M, Counter>) return MetricType::Counter;
  else if constexpr (std::is_same_v<M, Gauge>) return MetricType::Gauge;
  else return MetricType::Histogram;
}

// `name{labels} ` or `name ` (the trailing space separates the value).
void append_series_name(std::string& out, std::string_view name, std::string_view suffix,
                        std::string_view labels) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

void render_series(std::string& out, std::string_view name, std::string_view labels,
                   const Counter& c, const std::vector<std::string>&) {
  append_series_name(out, name, "", labels);
  append_uint(out, c.value());
  out += '\n';
}

void render_series(std::string& out, std::string_view name, std::string_view labels,
                   const Gauge& g, const std::vector<std::string>&) {
  append_series_name(out, name, "", labels);
  append_int(out, g.value());
  out += '\n';
}

void render_series(std::string& out, std::string_view name, std::string_view labels,
                   const Histogram& h, const std::vector<std::string>& bound_text) {
  // Buckets are read once each and accumulated, so the +Inf bucket and _count agree even
  // while workers keep observing.
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bound_text.size(); ++i) {
    cumulative += h.bucket(i);
    out += name;
    out += "_bucket{";
    if (!labels.empty()) {
      out += labels;
      out += ',';
    }
    out += "le=\"";
    out += bound_text[i];
    out += "\"} ";
    append_uint(out, cumulative);
    out += '\n';
  }
  append_series_name(out, name, "_sum", labels);
  append_double(out, h.sum());
  out += '\n';
  append_series_name(out, name, "_count", labels);
  append_uint(out, cumulative);
  out += '\n';
}

}  // namespace

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names, base::Duration retain_idle,
                       const Clock& clock)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      retain_idle_(retain_idle),
      clock_(clock) {}

std::string FamilyBase::label_key(std::span<const std::string_view> values) const {
  assert(values.size() == label_names_.size() && "label value count != label name count");
  // A label with an empty value is the same as no label to Prometheus, so it is left out: a
  // family can then carry optional labels (Linkerd's dst_*, client_id, ...) without noise.
  std::string key;
  for (size_t i = 0; i < label_names_.size(); ++i) {
    if (i >= values.size() || values[i].empty()) continue;
    if (!key.empty()) key += ',';
    key += label_names_[i];
    key += "=\"";
    if (i < values.size()) append_escaped_label_value(key, values[i]);
    key += '"';
  }
  return key;
}

void FamilyBase::render_header(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
}

bool FamilyBase::expired(int64_t refs, int64_t released_at_ns, int64_t now_ns) const {
  if (refs != 0 || retain_idle_ == kRetainForever) return false;
  const auto idle = TimePoint::duration(now_ns - released_at_ns);
  return idle >= retain_idle_;
}

template <typename M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  base::Duration retain_idle, const Clock& clock, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type_of<M>(), std::move(label_names),
                 retain_idle, clock),
      bounds_(std::move(bounds)),
      bound_text_(format_bounds(bounds_)) {}

template <typename M>
Family<M>::~Family() {
  // A surviving handle would point into freed memory: destroy component metric structs
  // (which hold handles) before the registry.
  for ([[maybe_unused]] const auto& [key, series] : series_) {
    assert(series->refs.load(std::memory_order_relaxed) == 0 && "handle outlives its family");
  }
}

template <typename M>
Handle<M> Family<M>::get(std::span<const std::string_view> label_values) {
  std::string key = label_key(label_values);  // built outside the lock
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    std::unique_ptr<detail::Series<M>> series;
    if constexpr (std::is_same_v<M, Histogram>) {
      series = std::make_unique<detail::Series<M>>(clock_, std::span<const double>(bounds_));
    } else {
      series = std::make_unique<detail::Series<M>>(clock_);
    }
    it = series_.emplace(std::move(key), std::move(series)).first;
  }
  // Under the lock, so a concurrent sweep cannot drop the series between lookup and acquire.
  it->second->acquire();
  return Handle<M>(it->second.get());
}

template <typename M>
size_t Family<M>::size() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

template <typename M>
size_t Family<M>::sweep() {
  const int64_t now = clock_.now().time_since_epoch().count();
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  for (auto it = series_.begin(); it != series_.end();) {
    const auto& s = *it->second;
    // refs can only rise from zero through get(), which needs mu_, so zero stays zero here.
    const int64_t refs = s.refs.load(std::memory_order_acquire);
    if (expired(refs, s.released_at_ns.load(std::memory_order_relaxed), now)) {
      it = series_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

template <typename M>
void Family<M>::render(std::string& out) const {
  std::lock_guard lock(mu_);
  if (series_.empty()) return;
  render_header(out);
  for (const auto& [labels, series] : series_) {
    render_series(out, name_, labels, series->metric, bound_text_);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace trellis::metrics
