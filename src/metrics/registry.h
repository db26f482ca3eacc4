#pragma once
// The Registry owns every metric family of a process and renders them in the Prometheus text
// exposition format 0.0.4. Components declare their metrics once, in one function that
// returns a struct of family references (DESIGN.md §7.9; see README.md).

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration.h"
#include "metrics/clock.h"
#include "metrics/family.h"
#include "metrics/metric.h"

namespace trellis::metrics {

// Linkerd's LINKERD2_PROXY_METRICS_RETAIN_IDLE default (reference/linkerd.md §5.4).
inline constexpr base::Duration kDefaultRetainIdle = std::chrono::minutes(10);

struct RegistryOptions {
  // Unheld series idle this long are dropped at the next scrape or sweep.
  base::Duration retain_idle = kDefaultRetainIdle;
  // Time source for idle expiry; nullptr means steady_clock(). Must outlive the registry.
  const Clock* clock = nullptr;
};

struct FamilyOptions {
  // Overrides RegistryOptions::retain_idle for this family; kRetainForever keeps every series.
  std::optional<base::Duration> retain_idle;
};

// Metrics computed at scrape time rather than updated as they happen (process metrics).
struct CollectedSample {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value
  double value = 0;
};
struct CollectedFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::Gauge;  // Counter or Gauge
  std::vector<CollectedSample> samples;
};

class Collector {
 public:
  virtual ~Collector() = default;
  // Appends the current values. Called on the scraping thread, once per render.
  virtual void collect(std::vector<CollectedFamily>& out) const = 0;
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // Registration happens at start-up, so mistakes throw std::invalid_argument: an invalid
  // metric or label name, a duplicate family name or label name, a histogram label named
  // "le", or histogram bounds that are not finite and strictly increasing. The returned
  // reference stays valid for the registry's lifetime. Counter names are rendered exactly as
  // given: no "_total" is appended (Linkerd's legacy request_total, tcp_open_total, ...).
  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names, FamilyOptions options = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> label_names,
                       FamilyOptions options = {});
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names,
                               std::span<const double> bounds, FamilyOptions options = {});

  // Collector families are rendered among the registered ones, sorted by name; a collected
  // family whose name is already registered (or collected earlier) is skipped.
  void add_collector(std::unique_ptr<Collector> collector);

  // Drops expired series in every family; returns how many. render() sweeps first, too.
  size_t sweep();
  // The full exposition: families sorted by name, series sorted by label set.
  std::string render();
  void render(std::string& out);

 private:
  template <typename M>
  Family<M>& add(std::string name, std::string help, std::vector<std::string> label_names,
                 FamilyOptions options, std::vector<double> bounds);
  bool registered(std::string_view name) const;  // needs mu_

  const base::Duration retain_idle_;
  const Clock& clock_;
  // Families are only added, never removed, so references handed out stay valid.
  std::mutex mu_;  // guards families_ and collectors_; held for a whole render
  std::vector<std::unique_ptr<FamilyBase>> families_;  // sorted by name
  std::vector<std::unique_ptr<Collector>> collectors_;
};

}  // namespace trellis::metrics
