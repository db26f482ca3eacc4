#pragma once
// Writes HTTP/1 heads and chunked bodies. The input is an owned head model, because by the time
// a message is written it has been routed and its fields rewritten (partly from configuration).
// The serializer re-validates every byte it writes (security.md §2: "validate again in the
// HTTP/1 encoder") and owns framing: it drops every hop-by-hop and framing field of the model
// and emits exactly one of Content-Length / Transfer-Encoding from OutboundFraming, so a message
// can never leave with both.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/h1/errors.h"
#include "http/h1/head.h"

namespace trellis::http::h1 {

struct Field {
  std::string name;
  std::string value;
  friend bool operator==(const Field&, const Field&) = default;
};

struct RequestModel {
  std::string method;
  std::string target;
  Version version = Version::kHttp11;
  std::vector<Field> fields;
};

struct ResponseModel {
  Version version = Version::kHttp11;
  int status = 200;
  std::string reason;
  std::vector<Field> fields;
};

// How the message about to be written is framed and whether the connection persists: the
// proxy's decision, never read from the model's fields.
struct OutboundFraming {
  BodyFraming body;
  TransferCodings codings;  // non-chunked codings of the content, re-emitted before "chunked"
  // Responses without a body (HEAD, 304): the Content-Length the full response would have.
  // Never written on 1xx / 204, nor on requests.
  std::optional<uint64_t> declared_length;
  bool keep_alive = true;
  // Upgrade / CONNECT: keep the Upgrade field and send "Connection: upgrade".
  bool tunnel = false;
};

// The framing a parsed message had, to forward it unchanged.
OutboundFraming framing_of(const MessageInfo& info);

// Copies a parsed head into a model, leaving out hop-by-hop fields and every field the
// Connection header names. Do this *before* adding the proxy's own fields: a client must not be
// able to strip them by naming them in Connection. Upgrade is kept for an upgrade request or a
// 101; TE is kept (the serializer reduces it to "trailers").
RequestModel to_model(const RequestHead& head);
ResponseModel to_model(const ResponseHead& head);
// The fields to_model() keeps, as views into the parsed head (appended to `out`): fills another
// message model straight from the parse, without to_model()'s intermediate copies.
void end_to_end_fields(const FieldList& fields, const MessageInfo& info, FieldList& out);

// Appends the head to `out` and returns the number of bytes appended. On error `out` is left
// unchanged.
base::Result<size_t, SerializeError> serialize_request(const RequestModel& model,
                                                       const OutboundFraming& framing,
                                                       std::string& out);
base::Result<size_t, SerializeError> serialize_response(const ResponseModel& model,
                                                        const OutboundFraming& framing,
                                                        std::string& out);

// Chunked encoder. A chunk header is the size in hex and CRLF.
inline constexpr size_t kMaxChunkHeaderSize = 18;  // 16 hex digits + CRLF
// Writes the header of a chunk of `size` bytes (size > 0) into `out`, for scatter/gather writes
// that send the data from its own buffer; returns its length. The data must be followed by CRLF.
size_t format_chunk_header(uint64_t size, char (&out)[kMaxChunkHeaderSize]);
// Appends one chunk: header, data, CRLF. Empty data appends nothing (an empty chunk would end
// the body).
void append_chunk(std::string& out, std::string_view data);
// Appends the last chunk and the trailer section. On error `out` is left unchanged.
base::Result<size_t, SerializeError> append_last_chunk(std::string& out,
                                                       const std::vector<Field>& trailers = {});

}  // namespace trellis::http::h1
