#include "proxy/retry/replay.h"

namespace trellis::proxy::retry {

class ReplayBuffer::AttemptBody : public http::Body {
 public:
  AttemptBody(std::shared_ptr<ReplayBuffer> buffer, uint64_t generation)
      : buffer_(std::move(buffer)), generation_(generation) {}

  net::awaitable<base::Result<http::BodyChunk, http::BodyError>> next() override {
    ReplayBuffer& b = *buffer_;
    if (b.generation_ != generation_) co_return base::unexpected(http::BodyError::kCancelled);
    // 1. What an earlier attempt already read.
    if (!b.overflowed_ && position_ < b.data_.size()) {
      http::BodyChunk chunk;
      chunk.data = b.data_.substr(position_);
      position_ = b.data_.size();
      if (b.complete_) {
        chunk.end_of_stream = true;
        chunk.trailers = b.trailers_;
      }
      co_return chunk;
    }
    if (b.complete_) {
      http::BodyChunk chunk;
      chunk.end_of_stream = true;
      chunk.trailers = b.trailers_;
      co_return chunk;
    }
    if (b.error_) co_return base::unexpected(*b.error_);
    // 2. The rest of the original.
    auto next = co_await b.original_->next();
    if (b.generation_ != generation_) co_return base::unexpected(http::BodyError::kCancelled);
    if (!next.ok()) {
      b.error_ = next.error();
      co_return base::unexpected(next.error());
    }
    http::BodyChunk chunk = std::move(next).value();
    if (!b.overflowed_) {
      if (b.data_.size() + chunk.data.size() > b.limit_) {
        b.overflowed_ = true;
        std::string().swap(b.data_);
      } else {
        b.data_ += chunk.data;
        position_ = b.data_.size();
      }
    }
    if (chunk.end_of_stream) {
      b.complete_ = true;
      b.trailers_ = chunk.trailers;
    }
    co_return chunk;
  }

  std::optional<uint64_t> size_hint() const override { return buffer_->original_->size_hint(); }
  bool is_empty() const override { return buffer_->original_->is_empty(); }

 private:
  std::shared_ptr<ReplayBuffer> buffer_;
  uint64_t generation_;
  size_t position_ = 0;
};

ReplayBuffer::ReplayBuffer(http::BodyPtr original, size_t limit)
    : original_(std::move(original)), limit_(limit) {
  // Known in advance to be too large: stream it, never keep it.
  if (auto hint = original_->size_hint(); hint && *hint > limit_) overflowed_ = true;
}

std::shared_ptr<ReplayBuffer> ReplayBuffer::make(http::BodyPtr original, size_t limit) {
  return std::make_shared<ReplayBuffer>(std::move(original), limit);
}

http::BodyPtr ReplayBuffer::attempt() {
  ++generation_;
  return std::make_unique<AttemptBody>(shared_from_this(), generation_);
}

}  // namespace trellis::proxy::retry
