#pragma once
// A family is one metric name with a fixed list of label names; each distinct list of label
// values is a series. Family::get() finds or creates a series and returns a Handle to it.
//
// Lifetime and idle expiry
//   A Handle is a counted reference to its series: while any Handle to a series exists the
//   series is never dropped, so a cached handle can be updated without a lock or a lookup.
//   When the last Handle goes, the series records the release time. A sweep (every scrape runs
//   one) drops series that are unheld and were released at least `retain_idle` ago. An update
//   needs a Handle, so an unheld series cannot have been updated since its last release: the
//   rule "not updated for retain_idle and not held" holds, and no clock is read on the update
//   path. A later get() for the same labels creates a fresh series that starts from zero.
//
//   Handles must not outlive the Registry that owns their family.
//
// Threading
//   get() and sweep/render take the family's mutex (series creation is rare: callers cache
//   handles per connection, endpoint or route). Updates through a Handle take no lock.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration.h"
#include "metrics/clock.h"
#include "metrics/metric.h"

namespace trellis::metrics {

// A retain_idle that never expires series (for families whose label sets are bounded).
inline constexpr base::Duration kRetainForever = base::Duration::max();

template <typename M>
class Family;

namespace detail {

// Series of different connections are updated from different worker threads; keeping each
// on its own cache line stops them from invalidating each other (false sharing).
inline constexpr size_t kCacheLineBytes = 64;

template <typename M>
struct alignas(kCacheLineBytes) Series {
  template <typename... Args>
  explicit Series(const Clock& c, Args&&... args)
      : metric(std::forward<Args>(args)...),
        released_at_ns(c.now().time_since_epoch().count()),
        clock(&c) {}

  void acquire() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }

  // Stamps the release time, then drops the reference. The release order pairs with the
  // sweep's acquire load of refs: a sweep that sees zero also sees every stamp, and nothing
  // touches the series after the decrement, so the sweep may free it.
  void release() noexcept {
    const int64_t now = clock->now().time_since_epoch().count();
    int64_t prev = released_at_ns.load(std::memory_order_relaxed);
    // Keep the latest stamp if two holders release at once.
    while (prev < now &&
           !released_at_ns.compare_exchange_weak(prev, now, std::memory_order_relaxed)) {
    }
    refs.fetch_sub(1, std::memory_order_release);
  }

  M metric;  // first: the only field the update path touches
  std::atomic<int64_t> refs{0};
  std::atomic<int64_t> released_at_ns;  // TimePoint ticks; creation time until first release
  const Clock* clock;
};

}  // namespace detail

// A counted reference to one series. Copying adds a reference; moving transfers it. Updating
// through it is lock-free: `handle->inc()`.
template <typename M>
class Handle {
 public:
  Handle() noexcept = default;
  Handle(const Handle& other) noexcept : series_(other.series_) {
    if (series_ != nullptr) series_->acquire();
  }
  Handle(Handle&& other) noexcept : series_(std::exchange(other.series_, nullptr)) {}
  Handle& operator=(Handle other) noexcept {
    std::swap(series_, other.series_);
    return *this;
  }
  ~Handle() { reset(); }

  void reset() noexcept {
    if (series_ != nullptr) std::exchange(series_, nullptr)->release();
  }
  explicit operator bool() const noexcept { return series_ != nullptr; }
  M* get() const noexcept { return series_ != nullptr ? &series_->metric : nullptr; }
  M& operator*() const noexcept { return series_->metric; }
  M* operator->() const noexcept { return &series_->metric; }

 private:
  friend class Family<M>;
  explicit Handle(detail::Series<M>* acquired) noexcept : series_(acquired) {}

  detail::Series<M>* series_ = nullptr;
};

// The type-independent part, which the Registry renders and sweeps.
class FamilyBase {
 public:
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  base::Duration retain_idle() const { return retain_idle_; }

  // Number of live series.
  virtual size_t size() const = 0;
  // Drops unheld series released at least retain_idle ago; returns how many were dropped.
  virtual size_t sweep() = 0;
  // Appends HELP, TYPE and every series sorted by its label set; nothing if there are none.
  virtual void render(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, base::Duration retain_idle,
             const Clock& clock);

  // The series key: the rendered label set `a="x",b="y"` (escaped, without braces). It is
  // both the map key (so series sort by it) and the exact text a scrape writes.
  std::string label_key(std::span<const std::string_view> values) const;
  void render_header(std::string& out) const;
  bool expired(int64_t refs, int64_t released_at_ns, int64_t now_ns) const;

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const base::Duration retain_idle_;
  const Clock& clock_;
};

template <typename M>
class Family final : public FamilyBase {
 public:
  // Use Registry::counter(), gauge() or histogram(). `bounds` is used by histograms only.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         base::Duration retain_idle, const Clock& clock, std::vector<double> bounds = {});
  ~Family() override;

  // Returns a handle to the series with these label values (one per label name, in the
  // declared order), creating it on first use. A wrong number of values is a programming
  // error: it asserts in debug builds; release builds pad with "" or ignore the extras.
  Handle<M> get(std::span<const std::string_view> label_values);
  Handle<M> get(std::initializer_list<std::string_view> label_values) {
    return get(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }

  size_t size() const override;
  size_t sweep() override;
  void render(std::string& out) const override;

 private:
  using SeriesMap = std::map<std::string, std::unique_ptr<detail::Series<M>>, std::less<>>;

  const std::vector<double> bounds_;           // histograms: the finite upper bounds
  const std::vector<std::string> bound_text_;  // histograms: bounds_ as `le` label values
  mutable std::mutex mu_;
  SeriesMap series_;  // guarded by mu_
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace trellis::metrics
