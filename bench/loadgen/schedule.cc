#include "loadgen/schedule.h"

#include <cassert>
#include <cmath>

namespace trellis::bench::loadgen {
namespace {

constexpr long double kNanosPerSecond = 1e9L;

// How many i in [lo, hi) have i % modulus == residue.
uint64_t count_congruent(uint64_t lo, uint64_t hi, uint64_t residue, uint64_t modulus) {
  // Number of such i in [0, n).
  auto below = [&](uint64_t n) -> uint64_t {
    return n > residue ? (n - residue - 1) / modulus + 1 : 0;
  };
  return hi > lo ? below(hi) - below(lo) : 0;
}

}  // namespace

Duration Pacer::planned_offset(uint64_t index, double rate) {
  // long double: index * 1e9 reaches 1e18 in long runs, beyond double's exact integers.
  const long double ns = std::floor(static_cast<long double>(index) * kNanosPerSecond / rate);
  return Duration(static_cast<Duration::rep>(ns));
}

uint64_t Pacer::first_index(Duration offset, double rate) {
  if (offset.count() <= 0) return 0;
  // An estimate from the inverse, then exact steps, so the answer agrees with planned_offset()
  // whatever the rounding.
  auto i = static_cast<uint64_t>(
      std::ceil(static_cast<long double>(offset.count()) * rate / kNanosPerSecond));
  while (i > 0 && planned_offset(i - 1, rate) >= offset) --i;
  while (planned_offset(i, rate) < offset) ++i;
  return i;
}

Pacer::Pacer(const Plan& plan, uint32_t connection, TimePoint start, Recorder& recorder)
    : plan_(plan),
      connection_(connection),
      start_(start),
      window_end_(start + plan.warmup + plan.duration),
      give_up_(window_end_ + plan.grace),
      recorder_(recorder),
      random_(plan.seed + 0x9E3779B97F4A7C15ull * (uint64_t{connection} + 1)) {
  assert(plan_.connections > 0 && connection_ < plan_.connections);
  assert(plan_.max_in_flight > 0);
  if (!open_loop()) return;
  first_measured_ = first_index(plan_.warmup, plan_.rate);
  end_index_ = first_index(plan_.warmup + plan_.duration, plan_.rate);
  interval_ = Duration(static_cast<Duration::rep>(
      static_cast<long double>(plan_.connections) * kNanosPerSecond / plan_.rate));
  recorder_.add_planned(count_congruent(first_measured_, end_index_, connection_,
                                        plan_.connections));
  draw_jitter();
}

void Pacer::advance() {
  ++k_;
  draw_jitter();
}

void Pacer::draw_jitter() {
  if (plan_.jitter > 0) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    jitter_delay_ = Duration(static_cast<Duration::rep>(
        unit(random_) * plan_.jitter * static_cast<double>(interval_.count())));
  }
}

Slot Pacer::planned_slot() const {
  const uint64_t index = connection_ + k_ * plan_.connections;
  return Slot{index, start_ + planned_offset(index, plan_.rate) + jitter_delay_,
              index >= first_measured_ && index < end_index_};
}

uint64_t Pacer::remaining_measured() const {
  const uint64_t next = connection_ + k_ * plan_.connections;
  return count_congruent(std::max(next, first_measured_), end_index_, connection_,
                         plan_.connections);
}

Decision Pacer::next(TimePoint now) {
  if (done_) return {Decision::Kind::kDone, {}};
  if (!open_loop()) {
    // The gate opens a little before the start, so every thread is ready when it comes.
    if (now < start_) return {Decision::Kind::kWaitUntil, start_};
    if (now >= window_end_) {
      done_ = true;
      return {Decision::Kind::kDone, {}};
    }
    if (in_flight_ >= plan_.max_in_flight) return {Decision::Kind::kWaitForCompletion, {}};
    return {Decision::Kind::kSend, {}};
  }
  if (connection_ + k_ * plan_.connections >= end_index_) {
    done_ = true;
    return {Decision::Kind::kDone, {}};
  }
  if (now >= give_up_) {
    recorder_.add_unsent(remaining_measured());
    done_ = true;
    return {Decision::Kind::kDone, {}};
  }
  if (in_flight_ >= plan_.max_in_flight) return {Decision::Kind::kWaitForCompletion, {}};
  const Slot slot = planned_slot();
  if (slot.scheduled > now) return {Decision::Kind::kWaitUntil, slot.scheduled};
  return {Decision::Kind::kSend, {}};
}

Slot Pacer::take(TimePoint now) {
  Slot slot;
  if (open_loop()) {
    slot = planned_slot();
    advance();
  } else {
    slot = Slot{connection_ + k_ * plan_.connections, now, now >= start_ + plan_.warmup};
    ++k_;
  }
  ++in_flight_;
  recorder_.on_sent(slot, now);
  return slot;
}

void Pacer::finish(const Slot& slot, TimePoint now, Outcome outcome, int status) {
  assert(in_flight_ > 0);
  --in_flight_;
  recorder_.on_done(slot, now, outcome, status);
}

}  // namespace trellis::bench::loadgen
