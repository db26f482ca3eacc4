#include "http/h2/server.h"

#include <optional>
#include <variant>

namespace trellis::http::h2 {
namespace {

// The service must not throw for anything a peer causes, but cancellation (the stream was
// reset) arrives as an exception; either way the stream just gets no response.
net::awaitable<std::optional<Response>> guarded_call(Service& service, Request request) {
  try {
    co_return co_await service.call(std::move(request));
  } catch (...) {
    co_return std::nullopt;
  }
}

}  // namespace

ServerSession::ServerSession(Transport& transport, Service& service, const H2Settings& settings,
                             H2Counters& counters,
                             std::shared_ptr<const ConnectionInfo> connection,
                             std::string initial_bytes)
    : SessionCore(/*server=*/true, transport, settings, counters, std::move(initial_bytes)),
      service_(service),
      connection_(std::move(connection)) {
  if (connection_) connection_id_ = connection_->id;
}

int ServerSession::on_begin_headers(const nghttp2_frame& frame) {
  const int32_t id = frame.hd.stream_id;
  if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    // Reset streams whose handlers are still unwinding don't count against
    // SETTINGS_MAX_CONCURRENT_STREAMS, so bound them separately (CVE-2023-26964).
    if (tasks_ >= settings_.max_active_handlers) {
      bump(counters_.streams_refused_total);
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    auto s = add_stream(id);
    s->block.emplace<RequestHeadBuilder>(settings_.max_header_list_size,
                                         settings_.max_header_fields);
    bump(counters_.streams_opened_total);
    abuse_.on_stream_opened();
    return 0;
  }
  // A second header block on a request stream: trailers.
  if (auto s = find(id); s && !s->rejected) {
    s->block.emplace<TrailersBuilder>(settings_.max_header_list_size,
                                      settings_.max_header_fields);
  }
  return 0;
}

int ServerSession::on_headers_complete(detail::Stream& s, const nghttp2_frame& frame) {
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (auto* builder = std::get_if<RequestHeadBuilder>(&s.block)) {
    if (s.over_field_limit) {
      s.block = std::monostate{};
      respond_locally(s, 431);
      return 0;
    }
    auto head = builder->finish();
    s.in_content_length = builder->content_length();
    s.block = std::monostate{};
    if (!head) {
      reject_malformed(s, to_string(head.error()));
      return 0;
    }
    s.request = std::move(*head);
    s.head_request = s.request->method == "HEAD";
    s.head_received = true;
    if (end) end_inbound(s);
    if (s.rejected || s.reset_locally) return 0;  // e.g. content-length without the body
    spawn(handle(find(s.id)));
    return 0;
  }
  if (auto* trailers = std::get_if<TrailersBuilder>(&s.block)) {
    // RFC 9113 §8.1: a header block after the head must end the stream.
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

net::awaitable<void> ServerSession::handle(std::shared_ptr<detail::Stream> s) {
  using namespace net::asio::experimental::awaitable_operators;
  Request request;
  request.head = std::move(*s->request);
  s->request.reset();
  request.body = make_stream_body(s);
  request.connection = connection_;
  request.stream_id = static_cast<uint32_t>(s->id);
  // If the peer resets the stream (or the connection ends) the service call is cancelled.
  auto result = co_await (guarded_call(service_, std::move(request)) || wait_closed(s));
  if (s->closed || s->reset_locally || closed_) co_return;
  if (result.index() != 0 || !std::get<0>(result)) {
    reset_stream(*s, NGHTTP2_INTERNAL_ERROR, false);
    co_return;
  }
  co_await respond(s, std::move(*std::get<0>(result)));
}

net::awaitable<void> ServerSession::respond(std::shared_ptr<detail::Stream> s,
                                            Response response) {
  const int status = response.head.status;
  if (status < 200 || status > 999) {  // interim or nonsense statuses can't end an exchange
    reset_stream(*s, NGHTTP2_INTERNAL_ERROR, false);
    co_return;
  }
  const bool no_body = s->head_request || status == 204 || status == 304;
  const bool empty = no_body || !response.body || response.body->is_empty();
  auto fields = response_fields(response.head);
  counters_.invalid_outbound_headers_total.fetch_add(fields.dropped, std::memory_order_relaxed);
  // An HTTP/1 peer's Content-Length lives in the body's size hint, not in the headers: carry it
  // on, so the far side (often an HTTP/1 client again) keeps length framing instead of chunked.
  if (!empty) add_content_length(*response.body, response.head.headers, fields);
  auto nv = to_nv(fields.fields);
  nghttp2_data_provider source = body_source();
  if (nghttp2_submit_response(session_, s->id, nv.data(), nv.size(),
                              empty ? nullptr : &source) != 0) {
    reset_stream(*s, NGHTTP2_INTERNAL_ERROR, false);
    co_return;
  }
  notify_writer();
  if (empty) co_return;
  co_await pump_body(std::move(s), std::move(response.body));
}

void ServerSession::respond_locally(detail::Stream& s, int status) {
  s.consumer_gone = true;  // no body reader: request DATA is discarded, then the upload reset
  drop_inbound(s);
  const std::vector<Header> fields = {{":status", std::to_string(status)}};
  auto nv = to_nv(fields);
  if (nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), nullptr) != 0) {
    reset_stream(s, NGHTTP2_INTERNAL_ERROR, false);
  }
  notify_writer();
}

net::awaitable<void> serve_h2(Transport& transport, Service& service, const H2Settings& settings,
                              H2Counters& counters,
                              std::shared_ptr<const ConnectionInfo> connection,
                              std::string initial_bytes) {
  ServerSession session(transport, service, settings, counters, std::move(connection),
                        std::move(initial_bytes));
  co_await session.run();
}

}  // namespace trellis::http::h2
