#include "http/h1/errors.h"

namespace trellis::http::h1 {

std::string_view to_string(ParseError error) {
  // A switch without default: -Wswitch (an error under -Werror) catches a missing name.
  switch (error) {
    case ParseError::kHeaderBlockTooLarge: return "header_block_too_large";
    case ParseError::kTooManyHeaders: return "too_many_headers";
    case ParseError::kHeaderLineTooLong: return "header_line_too_long";
    case ParseError::kRequestLineTooLong: return "request_line_too_long";
    case ParseError::kStatusLineTooLong: return "status_line_too_long";
    case ParseError::kHeaderReadTimeout: return "header_read_timeout";
    case ParseError::kBareCr: return "bare_cr";
    case ParseError::kBareLf: return "bare_lf";
    case ParseError::kObsFold: return "obs_fold";
    case ParseError::kWhitespaceAfterStartLine: return "whitespace_after_start_line";
    case ParseError::kWhitespaceBeforeColon: return "whitespace_before_colon";
    case ParseError::kInvalidHeaderName: return "invalid_header_name";
    case ParseError::kEmptyHeaderName: return "empty_header_name";
    case ParseError::kMissingColon: return "missing_colon";
    case ParseError::kNulInFieldValue: return "nul_in_field_value";
    case ParseError::kCtlInFieldValue: return "ctl_in_field_value";
    case ParseError::kInvalidRequestLine: return "invalid_request_line";
    case ParseError::kInvalidMethod: return "invalid_method";
    case ParseError::kInvalidRequestTarget: return "invalid_request_target";
    case ParseError::kAsteriskFormNotOptions: return "asterisk_form_not_options";
    case ParseError::kAuthorityFormNotConnect: return "authority_form_not_connect";
    case ParseError::kConnectTargetNotAuthority: return "connect_target_not_authority";
    case ParseError::kInvalidVersion: return "invalid_version";
    case ParseError::kUnsupportedVersion: return "unsupported_version";
    case ParseError::kInvalidStatusLine: return "invalid_status_line";
    case ParseError::kInvalidStatusCode: return "invalid_status_code";
    case ParseError::kInvalidReasonPhrase: return "invalid_reason_phrase";
    case ParseError::kMissingHost: return "missing_host";
    case ParseError::kMultipleHost: return "multiple_host";
    case ParseError::kInvalidHost: return "invalid_host";
    case ParseError::kHostAuthorityMismatch: return "host_authority_mismatch";
    case ParseError::kClTeConflict: return "cl_te_conflict";
    case ParseError::kConflictingContentLength: return "conflicting_content_length";
    case ParseError::kInvalidContentLength: return "invalid_content_length";
    case ParseError::kContentLengthOverflow: return "content_length_overflow";
    case ParseError::kTeNotChunkedFinal: return "te_not_chunked_final";
    case ParseError::kUnknownTransferCoding: return "unknown_transfer_coding";
    case ParseError::kChunkedTwice: return "chunked_twice";
    case ParseError::kInvalidTransferEncoding: return "invalid_transfer_encoding";
    case ParseError::kTooManyTransferCodings: return "too_many_transfer_codings";
    case ParseError::kTransferEncodingHttp10: return "transfer_encoding_http10";
    case ParseError::kConnectWithBody: return "connect_with_body";
    case ParseError::kInvalidConnectionHeader: return "invalid_connection_header";
    case ParseError::kInvalidChunkSize: return "invalid_chunk_size";
    case ParseError::kChunkSizeOverflow: return "chunk_size_overflow";
    case ParseError::kBareLfInChunkLine: return "bare_lf_in_chunk_line";
    case ParseError::kInvalidChunkExtension: return "invalid_chunk_extension";
    case ParseError::kChunkExtensionTooLong: return "chunk_extension_too_long";
    case ParseError::kChunkLineTooLong: return "chunk_line_too_long";
    case ParseError::kMissingChunkCrlf: return "missing_chunk_crlf";
    case ParseError::kForbiddenTrailerField: return "forbidden_trailer_field";
  }
  return "unknown";
}

int http_status(ParseError error) {
  switch (error) {
    case ParseError::kHeaderBlockTooLarge:
    case ParseError::kTooManyHeaders:
    case ParseError::kHeaderLineTooLong:
      return 431;
    // An over-long request-line is, in practice, an over-long request-target (RFC 9112 §3).
    case ParseError::kRequestLineTooLong:
      return 414;
    case ParseError::kHeaderReadTimeout:
      return 408;
    case ParseError::kUnsupportedVersion:
      return 505;
    // RFC 9112 §6.1: a transfer coding the server does not understand -> 501.
    case ParseError::kUnknownTransferCoding:
      return 501;
    default:
      return 400;
  }
}

int upstream_http_status(ParseError error) {
  return error == ParseError::kHeaderReadTimeout ? 504 : 502;
}

std::string_view to_string(SerializeError error) {
  switch (error) {
    case SerializeError::kInvalidMethod: return "invalid_method";
    case SerializeError::kInvalidTarget: return "invalid_target";
    case SerializeError::kInvalidStatus: return "invalid_status";
    case SerializeError::kInvalidReason: return "invalid_reason";
    case SerializeError::kInvalidFieldName: return "invalid_field_name";
    case SerializeError::kInvalidFieldValue: return "invalid_field_value";
    case SerializeError::kForbiddenTrailerField: return "forbidden_trailer_field";
    case SerializeError::kInvalidFraming: return "invalid_framing";
  }
  return "unknown";
}

}  // namespace trellis::http::h1
