#include "http/h2/abuse.h"

#include <algorithm>

namespace trellis::http::h2 {

const char* to_string(Abuse a) {
  switch (a) {
    case Abuse::kRapidReset: return "rapid_reset";
    case Abuse::kControlFlood: return "control_flood";
    case Abuse::kPriorityFlood: return "priority_flood";
    case Abuse::kWindowUpdateFlood: return "window_update_flood";
    case Abuse::kEmptyFrameFlood: return "empty_frame_flood";
  }
  return "unknown";
}

bool TokenBucket::take(Clock::time_point now) {
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

AbuseGuard::AbuseGuard(const H2Settings& settings, Clock::time_point now)
    : settings_(settings),
      resets_(settings.reset_burst, settings.resets_per_second, now),
      control_(settings.control_frame_burst, settings.control_frames_per_second, now) {}

std::optional<Abuse> AbuseGuard::on_stream_opened() {
  ++streams_opened_;
  consecutive_empty_ = 0;
  return std::nullopt;
}

std::optional<Abuse> AbuseGuard::on_reset(Clock::time_point now) {
  if (!resets_.take(now)) return Abuse::kRapidReset;
  return std::nullopt;
}

std::optional<Abuse> AbuseGuard::on_premature_reset() {
  ++premature_resets_;
  // Judged over the connection's life, once enough streams were seen that a ratio means
  // something (Envoy's overload.premature_reset_* does the same with 500 streams).
  if (streams_opened_ >= settings_.rapid_reset_min_streams &&
      premature_resets_ * 100 > streams_opened_ * settings_.rapid_reset_percent) {
    return Abuse::kRapidReset;
  }
  return std::nullopt;
}

std::optional<Abuse> AbuseGuard::on_control_frame(Clock::time_point now) {
  if (!control_.take(now)) return Abuse::kControlFlood;
  return std::nullopt;
}

std::optional<Abuse> AbuseGuard::on_priority() {
  ++priority_frames_;
  if (priority_frames_ >
      uint64_t{settings_.max_priority_frames_per_stream} * (streams_opened_ + 1)) {
    return Abuse::kPriorityFlood;
  }
  return std::nullopt;
}

std::optional<Abuse> AbuseGuard::on_window_update() {
  ++window_updates_;
  // A well-behaved peer sends at most a couple of WINDOW_UPDATEs per DATA frame it receives
  // plus a few per stream; anything well beyond that is the CVE-2019-9517 pattern.
  const uint64_t budget = 100 + 2 * streams_opened_ +
                          uint64_t{settings_.max_window_updates_per_data_frame_sent} *
                              data_frames_sent_;
  if (window_updates_ > budget) return Abuse::kWindowUpdateFlood;
  return std::nullopt;
}

std::optional<Abuse> AbuseGuard::on_data_frame(bool empty) {
  if (!empty) {
    consecutive_empty_ = 0;
    return std::nullopt;
  }
  if (++consecutive_empty_ > settings_.max_consecutive_empty_frames) {
    return Abuse::kEmptyFrameFlood;
  }
  return std::nullopt;
}

}  // namespace trellis::http::h2
