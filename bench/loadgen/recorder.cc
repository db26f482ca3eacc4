#include "loadgen/recorder.h"

#include <algorithm>

namespace trellis::bench::loadgen {
namespace {

uint64_t nanos_between(TimePoint from, TimePoint to) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
  return ns < 0 ? 0 : static_cast<uint64_t>(ns);
}

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kStatus: return "status";
    case Outcome::kGrpcStatus: return "grpc_status";
    case Outcome::kProtocol: return "protocol";
    case Outcome::kReset: return "reset";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kIo: return "io";
  }
  return "unknown";
}

void Recorder::on_sent(const Slot& slot, TimePoint now) {
  if (!slot.measured) {
    ++warmup_requests_;
    return;
  }
  ++sent_;
  send_delay_.record(nanos_between(slot.scheduled, now));
}

void Recorder::on_done(const Slot& slot, TimePoint now, Outcome outcome, int status) {
  if (!slot.measured) return;
  last_done_ = std::max(last_done_, now);
  ++outcomes_[static_cast<size_t>(outcome)];
  if (outcome == Outcome::kStatus) ++statuses_[status];
  if (outcome == Outcome::kOk || include_errors_) {
    latency_.record(nanos_between(slot.scheduled, now));
  }
}

uint64_t Recorder::completed() const {
  uint64_t total = 0;
  for (uint64_t n : outcomes_) total += n;
  return total;
}

uint64_t Recorder::errors() const { return completed() - count(Outcome::kOk); }

void Recorder::merge(const Recorder& other) {
  planned_ += other.planned_;
  sent_ += other.sent_;
  unsent_ += other.unsent_;
  warmup_requests_ += other.warmup_requests_;
  connect_errors_ += other.connect_errors_;
  connections_opened_ += other.connections_opened_;
  for (size_t i = 0; i < kOutcomeCount; ++i) outcomes_[i] += other.outcomes_[i];
  for (const auto& [status, n] : other.statuses_) statuses_[status] += n;
  last_done_ = std::max(last_done_, other.last_done_);
  latency_.merge(other.latency_);
  send_delay_.merge(other.send_delay_);
}

}  // namespace trellis::bench::loadgen
