#include "http/h1/parser.h"

#include "http/h1/chars.h"

namespace trellis::http::h1 {

RequestParser::RequestParser(const Limits& limits)
    : scanner_(detail::BlockKind::kRequest, limits) {}

void RequestParser::reset() {
  scanner_.reset();
  semantic_error_.reset();
}

ParseResult RequestParser::parse(std::string_view buffer, RequestHead& head) {
  if (semantic_error_) return ParseResult::failed(*semantic_error_);
  const ParseResult result = scanner_.scan(buffer);
  if (!result.is_complete()) return result;
  if (auto e = finish(buffer, head)) {
    semantic_error_ = e;
    return ParseResult::failed(*e);
  }
  return result;
}

// Whole-head rules, applied once every field line has been seen, in a fixed order.
std::optional<ParseError> RequestParser::finish(std::string_view buffer,
                                                RequestHead& head) const {
  const detail::FieldFacts& f = scanner_.facts();
  head.method = scanner_.method().in(buffer);
  head.target = scanner_.target().in(buffer);
  head.target_form = scanner_.target_form();
  head.authority = scanner_.authority().in(buffer);
  head.version = scanner_.version();
  scanner_.fill_fields(buffer, head.fields);
  head.info = MessageInfo{};
  MessageInfo& info = head.info;
  const bool http11 = head.version == Version::kHttp11;

  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (duplicates failed while scanning).
  if (http11 && f.host_count == 0) return ParseError::kMissingHost;
  info.host = f.host_count > 0 ? f.host.in(buffer) : std::string_view();
  // The proxy routes on the authority; Host and target must not be able to disagree.
  if (head.target_form == TargetForm::kAbsolute && f.host_count > 0 &&
      !iequals(info.host, head.authority)) {
    return ParseError::kHostAuthorityMismatch;
  }

  // Framing (RFC 9112 §6.1, §6.3). Transfer-Encoding and Content-Length together is *the*
  // request-smuggling vector: reject rather than pick one (Envoy, HAProxy do the same).
  if (f.has_transfer_encoding && f.has_content_length) return ParseError::kClTeConflict;
  if (f.has_transfer_encoding && !http11) return ParseError::kTransferEncodingHttp10;
  info.codings = f.codings;
  if (f.has_content_length) info.content_length = f.content_length;
  info.connect = head.method == "CONNECT";
  if (info.connect) {
    // Bytes after a CONNECT head are tunnel data; a CONNECT "body" would be read differently
    // by the next hop.
    if (f.has_transfer_encoding || (f.has_content_length && f.content_length != 0)) {
      return ParseError::kConnectWithBody;
    }
    info.body = BodyFraming::none();
  } else if (f.has_transfer_encoding) {
    // Request bodies cannot be close-delimited: chunked must be the final coding.
    if (!f.chunked) return ParseError::kTeNotChunkedFinal;
    info.body = BodyFraming::chunked();
  } else if (f.has_content_length) {
    info.body = BodyFraming::content_length(f.content_length);
  } else {
    info.body = BodyFraming::none();
  }

  info.keep_alive = http11 ? !f.connection_close
                           : (f.connection_keep_alive && !f.connection_close);
  // RFC 9110 §7.8: Upgrade only counts when listed in Connection, and never in HTTP/1.0.
  const std::string_view upgrade = f.has_upgrade ? f.upgrade.in(buffer) : std::string_view();
  info.upgrade = http11 && f.connection_upgrade && !upgrade.empty();
  if (info.upgrade) info.upgrade_protocol = upgrade;
  // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
  info.expect_continue = http11 && f.expect_continue;
  return std::nullopt;
}

ResponseContext ResponseContext::for_request(const RequestHead& request) {
  return ResponseContext{request.method == "HEAD", request.info.connect};
}

ResponseParser::ResponseParser(const Limits& limits, ResponseContext context)
    : scanner_(detail::BlockKind::kResponse, limits), context_(context) {}

void ResponseParser::reset(ResponseContext context) {
  scanner_.reset();
  context_ = context;
  semantic_error_.reset();
}

ParseResult ResponseParser::parse(std::string_view buffer, ResponseHead& head) {
  if (semantic_error_) return ParseResult::failed(*semantic_error_);
  const ParseResult result = scanner_.scan(buffer);
  if (!result.is_complete()) return result;
  if (auto e = finish(buffer, head)) {
    semantic_error_ = e;
    return ParseResult::failed(*e);
  }
  return result;
}

std::optional<ParseError> ResponseParser::finish(std::string_view buffer,
                                                 ResponseHead& head) const {
  const detail::FieldFacts& f = scanner_.facts();
  head.version = scanner_.version();
  head.status = scanner_.status();
  head.reason = scanner_.reason().in(buffer);
  scanner_.fill_fields(buffer, head.fields);
  head.info = MessageInfo{};
  MessageInfo& info = head.info;
  const bool http11 = head.version == Version::kHttp11;
  const int status = head.status;

  // Response splitting is the mirror of request smuggling: same rules, even for responses
  // that carry no body, because a cache or the next hop may still read the fields.
  if (f.has_transfer_encoding && f.has_content_length) return ParseError::kClTeConflict;
  if (f.has_transfer_encoding && !http11) return ParseError::kTransferEncodingHttp10;
  info.codings = f.codings;
  if (f.has_content_length) info.content_length = f.content_length;

  info.interim = status < 200 && status != 101;
  info.upgrade = status == 101;
  if (info.upgrade && f.has_upgrade) info.upgrade_protocol = f.upgrade.in(buffer);
  info.connect = context_.request_was_connect && status >= 200 && status < 300;

  const bool no_body =
      status < 200 || status == 204 || status == 304 || context_.request_was_head;
  if (no_body || info.connect) {
    info.body = BodyFraming::none();
  } else if (f.has_transfer_encoding) {
    // §6.3: a response whose final coding is not chunked runs until the server closes.
    info.body = f.chunked ? BodyFraming::chunked() : BodyFraming::close_delimited();
  } else if (f.has_content_length) {
    info.body = BodyFraming::content_length(f.content_length);
  } else {
    info.body = BodyFraming::close_delimited();
  }

  const bool persistent =
      http11 ? !f.connection_close : (f.connection_keep_alive && !f.connection_close);
  info.keep_alive = persistent && info.body.kind != BodyKind::kCloseDelimited &&
                    !info.upgrade && !info.connect;
  return std::nullopt;
}

ParseResult parse_request_head(std::string_view buffer, RequestHead& head, const Limits& limits) {
  RequestParser parser(limits);
  return parser.parse(buffer, head);
}

ParseResult parse_response_head(std::string_view buffer, ResponseHead& head,
                                ResponseContext context, const Limits& limits) {
  ResponseParser parser(limits, context);
  return parser.parse(buffer, head);
}

}  // namespace trellis::http::h1
