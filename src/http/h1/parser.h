#pragma once
// Strict, incremental, zero-copy HTTP/1.1 head parsers (RFC 9112). The proxy's connection
// coroutine appends what it reads to a buffer and calls parse() with everything received since
// the message started; the parser resumes where it stopped. On kComplete the head's views point
// into that buffer and `consumed()` bytes belong to the head: the rest is body (framed as
// head.info.body says) or a pipelined message. On kError the message is rejected: answer
// http_status(error) (requests) or upstream_http_status(error) (responses) and close.
//
// What is rejected, and why, is listed in errors.h and src/http/README.md. The outcome never
// depends on how the bytes were split into reads (tested at every split point).

#include <optional>
#include <string_view>

#include "http/h1/head.h"
#include "http/h1/head_scanner.h"
#include "http/h1/limits.h"

namespace trellis::http::h1 {

class RequestParser {
 public:
  explicit RequestParser(const Limits& limits = Limits{});

  // `buffer`: all bytes of this request received so far; each call passes the same prefix,
  // possibly longer (the buffer may have moved). Fills `head` on kComplete.
  ParseResult parse(std::string_view buffer, RequestHead& head);
  // For the next request on the connection.
  void reset();

 private:
  std::optional<ParseError> finish(std::string_view buffer, RequestHead& head) const;

  detail::HeadScanner scanner_;
  std::optional<ParseError> semantic_error_;
};

// What the response parser must know about the request it answers (RFC 9112 §6.3).
struct ResponseContext {
  bool request_was_head = false;     // no body follows, whatever the fields say
  bool request_was_connect = false;  // a 2xx answer turns the connection into a tunnel

  static ResponseContext for_request(const RequestHead& request);
};

class ResponseParser {
 public:
  explicit ResponseParser(const Limits& limits = Limits{}, ResponseContext context = {});

  ParseResult parse(std::string_view buffer, ResponseHead& head);
  // For the next response (after an interim 1xx, or the next request on the connection).
  void reset(ResponseContext context);

 private:
  std::optional<ParseError> finish(std::string_view buffer, ResponseHead& head) const;

  detail::HeadScanner scanner_;
  ResponseContext context_;
  std::optional<ParseError> semantic_error_;
};

// One-shot forms, for a buffer that may or may not hold a whole head.
ParseResult parse_request_head(std::string_view buffer, RequestHead& head,
                               const Limits& limits = Limits{});
ParseResult parse_response_head(std::string_view buffer, ResponseHead& head,
                                ResponseContext context = {}, const Limits& limits = Limits{});

}  // namespace trellis::http::h1
