#pragma once
// HTTP/2 client side: a multiplexed connection (h2c prior knowledge, or over TLS with ALPN h2
// once the transport provides it). send() opens one stream per request, streams the request
// body out and returns the response with a streamed body as soon as its head arrives.

#include <cstddef>
#include <cstdint>

#include "base/result.h"
#include "http/h2/session.h"
#include "http/h2/settings.h"
#include "http/h2/transport.h"
#include "http/service.h"

namespace trellis::http::h2 {

struct SendError {
  enum class Kind : uint8_t {
    kUnavailable,        // the session no longer takes requests (GOAWAY, closed, errors)
    kBusy,               // the peer's stream limit is reached and the queue is full
    kRefused,            // REFUSED_STREAM, beyond a GOAWAY, or never sent
    kReset,              // the peer reset the stream after it started processing it
    kConnectionLost,     // the connection ended with the request in flight
    kMalformedResponse,  // the response broke RFC 9113 §8: we reset the stream
    kCancelled,          // our side gave up (the request body failed)
  };
  Kind kind = Kind::kUnavailable;
  uint32_t h2_error = 0;  // the RST_STREAM / GOAWAY code when there was one

  // The peer certainly did not process the request: safe to retry on another connection
  // whatever the method (RFC 9113 §8.7).
  bool retryable() const {
    return kind == Kind::kUnavailable || kind == Kind::kBusy || kind == Kind::kRefused;
  }
};
const char* to_string(SendError::Kind kind);

class ClientSession final : public detail::SessionCore {
 public:
  // `transport` and `counters` must outlive the session; run() must be co_spawned for send()
  // to make progress, and the session kept alive until run() returns.
  ClientSession(Transport& transport, const H2Settings& settings, H2Counters& counters);
  ~ClientSession() override = default;

  // Sends one request. Waits for a stream slot when the peer's SETTINGS_MAX_CONCURRENT_STREAMS
  // is reached (up to settings.max_pending_requests waiters, then kBusy). The response body
  // stays readable after the session ends only up to what had been received.
  net::awaitable<base::Result<Response, SendError>> send(Request request);

  // False once the session cannot take new requests: a pool should replace it.
  bool is_usable() const;
  // Streams we may have open at once: the peer's limit capped by ours.
  size_t stream_limit() const;
  size_t active_streams() const { return streams_.size(); }
  size_t queued_requests() const { return waiting_; }

 private:
  int on_begin_headers(const nghttp2_frame& frame) override;
  int on_headers_complete(detail::Stream& stream, const nghttp2_frame& frame) override;
  void on_stream_closed(detail::Stream& stream) override;
  void on_goaway_received() override;
  void on_teardown() override;
  SendError error_for(const detail::Stream& stream) const;

  detail::Notifier slot_available_;
  size_t waiting_ = 0;
};

}  // namespace trellis::http::h2
