#include "http/h2/client.h"

#include <algorithm>
#include <functional>
#include <variant>

namespace trellis::http::h2 {
namespace {

// Resets a stream whose send() was abandoned (its caller was cancelled) before the response
// was handed over, so the peer stops working on it.
class CancelOnExit {
 public:
  CancelOnExit(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  ~CancelOnExit() {
    if (cancel_) cancel_();
  }
  CancelOnExit(const CancelOnExit&) = delete;
  CancelOnExit& operator=(const CancelOnExit&) = delete;
  void release() { cancel_ = nullptr; }

 private:
  std::function<void()> cancel_;
};

}  // namespace

const char* to_string(SendError::Kind kind) {
  switch (kind) {
    case SendError::Kind::kUnavailable: return "unavailable";
    case SendError::Kind::kBusy: return "busy";
    case SendError::Kind::kRefused: return "refused";
    case SendError::Kind::kReset: return "reset";
    case SendError::Kind::kConnectionLost: return "connection_lost";
    case SendError::Kind::kMalformedResponse: return "malformed_response";
    case SendError::Kind::kCancelled: return "cancelled";
  }
  return "unknown";
}

ClientSession::ClientSession(Transport& transport, const H2Settings& settings,
                             H2Counters& counters)
    : SessionCore(/*server=*/false, transport, settings, counters, {}),
      slot_available_(transport.get_executor()) {}

bool ClientSession::is_usable() const {
  return !closed_ && !fatal_ && !goaway_received_ && !shutdown_requested_ &&
         nghttp2_session_check_request_allowed(session_) != 0;
}

size_t ClientSession::stream_limit() const {
  const uint32_t peer =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return std::min<size_t>(peer, settings_.max_concurrent_streams);
}

net::awaitable<base::Result<Response, SendError>> ClientSession::send(Request request) {
  using Kind = SendError::Kind;
  TaskGuard task(*this);
  if (!is_usable()) co_return base::unexpected(SendError{Kind::kUnavailable, 0});

  // Admission: one stream per request, within the peer's concurrency limit.
  while (streams_.size() >= stream_limit()) {
    if (waiting_ >= settings_.max_pending_requests) {
      co_return base::unexpected(SendError{Kind::kBusy, 0});
    }
    ++waiting_;
    struct Unwait {
      size_t& n;
      ~Unwait() { --n; }
    } unwait{waiting_};
    co_await slot_available_.wait();
    if (!is_usable()) co_return base::unexpected(SendError{Kind::kUnavailable, 0});
  }

  auto fields = request_fields(request.head);
  counters_.invalid_outbound_headers_total.fetch_add(fields.dropped, std::memory_order_relaxed);
  auto nv = to_nv(fields.fields);
  const bool has_body = request.body && !request.body->is_empty();
  nghttp2_data_provider source = body_source();
  const int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                            has_body ? &source : nullptr, nullptr);
  if (id < 0) co_return base::unexpected(SendError{Kind::kUnavailable, 0});
  auto s = add_stream(id);
  s->head_request = request.head.method == "HEAD";
  bump(counters_.streams_opened_total);
  notify_writer();
  if (has_body) spawn(pump_body(s, std::move(request.body)));

  CancelOnExit cancel([this, s] { reset_stream(*s, NGHTTP2_CANCEL, false); });
  while (!s->response && !s->closed && !s->rejected) co_await s->events.wait();
  if (!s->response) {
    cancel.release();
    co_return base::unexpected(error_for(*s));
  }
  Response response;
  response.head = std::move(*s->response);
  s->response.reset();
  response.body = make_stream_body(s);
  cancel.release();
  co_return response;
}

SendError ClientSession::error_for(const detail::Stream& s) const {
  using Kind = SendError::Kind;
  if (s.rejected) return {Kind::kMalformedResponse, NGHTTP2_PROTOCOL_ERROR};
  if (!s.headers_sent || s.close_code == NGHTTP2_REFUSED_STREAM) {
    return {Kind::kRefused, s.close_code};
  }
  if (s.reset_by_peer) return {Kind::kReset, s.close_code};
  if (s.reset_locally) return {Kind::kCancelled, s.close_code};
  return {Kind::kConnectionLost, s.close_code};
}

int ClientSession::on_begin_headers(const nghttp2_frame& frame) {
  auto s = find(frame.hd.stream_id);
  if (!s || s->rejected) return 0;
  if (!s->response && !s->head_received) {
    s->block.emplace<ResponseHeadBuilder>(settings_.max_header_list_size,
                                          settings_.max_header_fields);
  } else {
    s->block.emplace<TrailersBuilder>(settings_.max_header_list_size,
                                      settings_.max_header_fields);
  }
  return 0;
}

int ClientSession::on_headers_complete(detail::Stream& s, const nghttp2_frame& frame) {
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (auto* builder = std::get_if<ResponseHeadBuilder>(&s.block)) {
    auto head = builder->finish();
    const auto content_length = builder->content_length();
    s.block = std::monostate{};
    if (!head) {
      reject_malformed(s, to_string(head.error()));
      return 0;
    }
    if (head->status < 200) {
      // Interim (1xx) response: the final one follows; it can't end the stream.
      if (end) reject_malformed(s, "interim response with END_STREAM");
      return 0;
    }
    // A HEAD, 204 or 304 response has no body whatever content-length says.
    const bool no_body = s.head_request || head->status == 204 || head->status == 304;
    s.in_content_length = no_body ? std::nullopt : content_length;
    s.response = std::move(*head);
    s.head_received = true;
    if (end) end_inbound(s);
    s.events.notify_all();
    return 0;
  }
  if (auto* trailers = std::get_if<TrailersBuilder>(&s.block)) {
    if (!end) {
      reject_malformed(s, "trailers without END_STREAM");
      return 0;
    }
    s.in_trailers = trailers->finish();
    s.block = std::monostate{};
    end_inbound(s);
  }
  return 0;
}

void ClientSession::on_stream_closed(detail::Stream&) { slot_available_.notify_all(); }
void ClientSession::on_goaway_received() { slot_available_.notify_all(); }
void ClientSession::on_teardown() { slot_available_.notify_all(); }

}  // namespace trellis::http::h2
