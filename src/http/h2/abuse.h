#pragma once
// Protocol policing for one HTTP/2 connection: counts what the peer makes us do and reports the
// first limit it passes. Pure bookkeeping with the time passed in, so it is tested without a
// network or a real clock; the session turns a report into GOAWAY + close.

#include <chrono>
#include <cstdint>
#include <optional>

#include "http/h2/settings.h"

namespace trellis::http::h2 {

enum class Abuse : uint8_t {
  kRapidReset,         // too many streams reset early, or resets faster than the bucket allows
  kControlFlood,       // PING / SETTINGS faster than the bucket allows
  kPriorityFlood,      // PRIORITY frames beyond the per-stream budget
  kWindowUpdateFlood,  // WINDOW_UPDATE frames beyond what the data we sent justifies
  kEmptyFrameFlood,    // consecutive DATA frames with neither payload nor END_STREAM
};
const char* to_string(Abuse a);

using Clock = std::chrono::steady_clock;

// A token bucket: `burst` tokens at most, refilled at `rate` per second.
class TokenBucket {
 public:
  TokenBucket(uint32_t burst, uint32_t rate, Clock::time_point now)
      : burst_(burst), rate_(rate), tokens_(burst), last_(now) {}
  // Takes one token; false when none is left.
  bool take(Clock::time_point now);

 private:
  double burst_;
  double rate_;
  double tokens_;
  Clock::time_point last_;
};

class AbuseGuard {
 public:
  AbuseGuard(const H2Settings& settings, Clock::time_point now);

  std::optional<Abuse> on_stream_opened();
  // A reset the peer caused: its RST_STREAM, or ours for its malformed stream.
  std::optional<Abuse> on_reset(Clock::time_point now);
  // A stream the peer reset before we finished it and within premature_reset_age of opening.
  std::optional<Abuse> on_premature_reset();
  std::optional<Abuse> on_control_frame(Clock::time_point now);  // PING or SETTINGS, not ACKs
  std::optional<Abuse> on_priority();
  std::optional<Abuse> on_window_update();
  // Every inbound DATA frame: `empty` = no payload and no END_STREAM. Non-empty frames and
  // HEADERS (on_headers) end a run of empty ones.
  std::optional<Abuse> on_data_frame(bool empty);
  void on_headers() { consecutive_empty_ = 0; }
  void on_data_frame_sent() { ++data_frames_sent_; }

  uint64_t streams_opened() const { return streams_opened_; }
  uint64_t premature_resets() const { return premature_resets_; }

 private:
  const H2Settings& settings_;
  TokenBucket resets_;
  TokenBucket control_;
  uint64_t streams_opened_ = 0;
  uint64_t premature_resets_ = 0;
  uint64_t priority_frames_ = 0;
  uint64_t window_updates_ = 0;
  uint64_t data_frames_sent_ = 0;
  uint32_t consecutive_empty_ = 0;
};

}  // namespace trellis::http::h2
