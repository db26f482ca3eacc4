#pragma once
// Request bodies for retries: the original body is read once; what was read is kept (up to a
// limit, 64 KiB by default, as in Linkerd) so that a retry can send it again. Each attempt gets
// its own Body that first replays the bytes kept so far and then continues reading the
// original, so a retry works even when the first attempt failed before the whole body was sent.
// Past the limit the bytes are no longer kept: the current attempt goes on streaming, and
// replayable() turns false (the request is not retried).
//
//   auto buffer = ReplayBuffer::make(std::move(request.body));
//   request_for_attempt.body = buffer->attempt();    // first attempt
//   ... failed, decide(..., {.body_replayable = buffer->replayable()}) ...
//   request_for_attempt.body = buffer->attempt();    // retry (supersedes the previous body)

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http/body.h"

namespace trellis::proxy::retry {

inline constexpr size_t kDefaultMaxReplayBytes = 64 * 1024;

class ReplayBuffer : public std::enable_shared_from_this<ReplayBuffer> {
 public:
  static std::shared_ptr<ReplayBuffer> make(http::BodyPtr original,
                                            size_t limit = kDefaultMaxReplayBytes);

  // The body for the next attempt. Bodies of earlier attempts stop working (they answer
  // kCancelled). Only call while replayable() (the first call always works).
  http::BodyPtr attempt();
  // Whether another attempt can be given the whole body.
  bool replayable() const { return !overflowed_ && !error_; }
  size_t buffered_bytes() const { return data_.size(); }

  ReplayBuffer(http::BodyPtr original, size_t limit);

 private:
  class AttemptBody;

  http::BodyPtr original_;
  size_t limit_;
  std::string data_;            // the bytes read so far, while within the limit
  bool complete_ = false;       // the original's end of stream was read
  http::Headers trailers_;
  bool overflowed_ = false;
  std::optional<http::BodyError> error_;
  uint64_t generation_ = 0;     // of the current attempt
};

}  // namespace trellis::proxy::retry
