#include "http/body.h"

namespace trellis::http {
namespace {

class EmptyBody final : public Body {
 public:
  net::awaitable<base::Result<BodyChunk, BodyError>> next() override {
    co_return BodyChunk{"", true, {}};
  }
  std::optional<uint64_t> size_hint() const override { return 0; }
  bool is_empty() const override { return true; }
};

class BufferedBody final : public Body {
 public:
  BufferedBody(std::string data, Headers trailers)
      : data_(std::move(data)), trailers_(std::move(trailers)), size_(data_.size()) {}
  net::awaitable<base::Result<BodyChunk, BodyError>> next() override {
    co_return BodyChunk{std::move(data_), true, std::move(trailers_)};
  }
  std::optional<uint64_t> size_hint() const override {
    // With trailers the length can't go in Content-Length framing on HTTP/1.
    if (!trailers_.empty()) return std::nullopt;
    return size_;
  }
  bool is_empty() const override { return size_ == 0 && trailers_.empty(); }

 private:
  std::string data_;
  Headers trailers_;
  size_t size_;
};

}  // namespace

const char* to_string(BodyError e) {
  switch (e) {
    case BodyError::kPeerReset: return "peer_reset";
    case BodyError::kMalformed: return "malformed";
    case BodyError::kTimeout: return "timeout";
    case BodyError::kTooLarge: return "too_large";
    case BodyError::kCancelled: return "cancelled";
  }
  return "unknown";
}

BodyPtr make_empty_body() { return std::make_unique<EmptyBody>(); }

BodyPtr make_buffered_body(std::string data, Headers trailers) {
  return std::make_unique<BufferedBody>(std::move(data), std::move(trailers));
}

net::awaitable<base::Result<BodyChunk, BodyError>> read_all(Body& body, size_t limit) {
  BodyChunk all;
  while (true) {
    auto chunk = co_await body.next();
    if (!chunk) co_return base::unexpected(chunk.error());
    if (all.data.size() + chunk->data.size() > limit) co_return base::unexpected(BodyError::kTooLarge);
    all.data += chunk->data;
    if (chunk->end_of_stream) {
      all.end_of_stream = true;
      all.trailers = std::move(chunk->trailers);
      co_return all;
    }
  }
}

}  // namespace trellis::http
