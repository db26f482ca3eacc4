#include "metrics/registry.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "metrics/text_format.h"

namespace trellis::metrics {
namespace {

void validate(std::string_view name, const std::vector<std::string>& label_names,
              bool histogram) {
  if (!valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name \"" + std::string(name) + "\"");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    const std::string where = "metric " + std::string(name) + ": ";
    if (!valid_label_name(label)) {
      throw std::invalid_argument(where + "invalid label name \"" + label + "\"");
    }
    if (histogram && label == "le") {
      throw std::invalid_argument(where + "label \"le\" is reserved for histogram buckets");
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) !=
        label_names.begin() + i) {
      throw std::invalid_argument(where + "duplicate label name \"" + label + "\"");
    }
  }
}

bool name_less(const std::unique_ptr<FamilyBase>& f, std::string_view name) {
  return f->name() < name;
}

void render_collected(std::string& out, const CollectedFamily& family) {
  if (family.samples.empty()) return;
  out += "# HELP ";
  out += family.name;
  out += ' ';
  append_escaped_help(out, family.help);
  out += "\n# TYPE ";
  out += family.name;
  out += family.type == MetricType::Counter ? " counter\n" : " gauge\n";
  for (const CollectedSample& sample : family.samples) {
    out += family.name;
    if (!sample.labels.empty()) {
      out += '{';
      for (size_t i = 0; i < sample.labels.size(); ++i) {
        if (i > 0) out += ',';
        out += sample.labels[i].first;
        out += "=\"";
        append_escaped_label_value(out, sample.labels[i].second);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    append_double(out, sample.value);
    out += '\n';
  }
}

// A collector is code too, but it runs at scrape time: rather than throw then, its
// malformed families are left out.
bool renderable(const CollectedFamily& family) {
  if (!valid_metric_name(family.name) || family.type == MetricType::Histogram) return false;
  for (const CollectedSample& sample : family.samples) {
    for (const auto& label : sample.labels) {
      if (!valid_label_name(label.first)) return false;
    }
  }
  return true;
}

}  // namespace

Registry::Registry(RegistryOptions options)
    : retain_idle_(options.retain_idle),
      clock_(options.clock != nullptr ? *options.clock : steady_clock()) {}

Registry::~Registry() = default;

template <typename M>
Family<M>& Registry::add(std::string name, std::string help,
                         std::vector<std::string> label_names, FamilyOptions options,
                         std::vector<double> bounds) {
  validate(name, label_names, std::is_same_v<M, Histogram>);
  std::lock_guard lock(mu_);
  if (registered(name)) throw std::invalid_argument("duplicate metric name \"" + name + "\"");
  const auto pos = std::lower_bound(families_.begin(), families_.end(), name, name_less);
  auto family = std::make_unique<Family<M>>(std::move(name), std::move(help),
                                            std::move(label_names),
                                            options.retain_idle.value_or(retain_idle_), clock_,
                                            std::move(bounds));
  Family<M>& ref = *family;
  families_.insert(pos, std::move(family));
  return ref;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names, FamilyOptions options) {
  return add<Counter>(std::move(name), std::move(help), std::move(label_names), options, {});
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names, FamilyOptions options) {
  return add<Gauge>(std::move(name), std::move(help), std::move(label_names), options, {});
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::span<const double> bounds, FamilyOptions options) {
  if (!Histogram::valid_bounds(bounds)) {
    throw std::invalid_argument("metric " + name +
                                ": histogram bounds must be finite and strictly increasing");
  }
  return add<Histogram>(std::move(name), std::move(help), std::move(label_names), options,
                        std::vector<double>(bounds.begin(), bounds.end()));
}

void Registry::add_collector(std::unique_ptr<Collector> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

size_t Registry::sweep() {
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  for (const auto& family : families_) dropped += family->sweep();
  return dropped;
}

std::string Registry::render() {
  std::string out;
  render(out);
  return out;
}

void Registry::render(std::string& out) {
  std::lock_guard lock(mu_);
  std::vector<CollectedFamily> collected;
  for (const auto& collector : collectors_) collector->collect(collected);
  std::stable_sort(collected.begin(), collected.end(),
                   [](const CollectedFamily& a, const CollectedFamily& b) {
                     return a.name < b.name;
                   });
  // Merge the two name-sorted lists.
  auto next = collected.begin();
  std::string_view previous;  // the last collected name rendered
  auto render_collected_until = [&](const FamilyBase* family) {
    for (; next != collected.end() && (family == nullptr || next->name < family->name());
         ++next) {
      if (next->name == previous || registered(next->name) || !renderable(*next)) continue;
      previous = next->name;
      render_collected(out, *next);
    }
  };
  for (const auto& family : families_) {
    family->sweep();
    render_collected_until(family.get());
    family->render(out);
  }
  render_collected_until(nullptr);
}

bool Registry::registered(std::string_view name) const {
  const auto pos = std::lower_bound(families_.begin(), families_.end(), name, name_less);
  return pos != families_.end() && (*pos)->name() == name;
}

}  // namespace trellis::metrics
