#pragma once
// Message bodies as asynchronous streams: a Body hands out chunks until the end of the stream,
// which may carry trailers. HTTP/1 connections, HTTP/2 streams, buffered bodies (generated
// responses, retries) all implement it, so any server side can be joined to any client side.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/message.h"
#include "net/asio.h"

namespace trellis::http {

enum class BodyError : uint8_t {
  kPeerReset,   // the peer closed or reset the stream before the end
  kMalformed,   // framing error (bad chunk, content-length mismatch, protocol error)
  kTimeout,     // no data within the idle/request deadline
  kTooLarge,    // exceeded a configured limit
  kCancelled,   // the other side of the exchange went away
};
const char* to_string(BodyError e);

struct BodyChunk {
  std::string data;
  bool end_of_stream = false;
  Headers trailers;  // only with end_of_stream
};

class Body {
 public:
  virtual ~Body() = default;
  // The next chunk. After a chunk with end_of_stream, or an error, next() is not called again.
  virtual net::awaitable<base::Result<BodyChunk, BodyError>> next() = 0;
  // The total length when known in advance (Content-Length); drives h1 framing.
  virtual std::optional<uint64_t> size_hint() const { return std::nullopt; }
  // True when there is no body at all (lets HTTP/2 send END_STREAM on HEADERS).
  virtual bool is_empty() const { return false; }
};

using BodyPtr = std::unique_ptr<Body>;

BodyPtr make_empty_body();
// A body whose bytes are all in memory (generated responses, replayed retries).
BodyPtr make_buffered_body(std::string data, Headers trailers = {});

// Reads a whole body into memory, failing with kTooLarge past `limit` bytes.
net::awaitable<base::Result<BodyChunk, BodyError>> read_all(Body& body, size_t limit);

}  // namespace trellis::http
