#include "http/h1/serializer.h"

#include <charconv>

#include "http/h1/chars.h"

namespace trellis::http::h1 {
namespace {

using SerializeResult = base::Result<size_t, SerializeError>;

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The same alphabet the parser accepts, so a Trellis peer never rejects what we write.
bool valid_target(std::string_view target) {
  if (target.empty()) return false;
  for (size_t i = 0; i < target.size(); ++i) {
    const auto c = static_cast<unsigned char>(target[i]);
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2])) {
        return false;
      }
      i += 2;
    }
  }
  return true;
}

bool valid_reason(std::string_view reason) {
  for (char c : reason) {
    if (!detail::kFieldValueChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

void append_decimal(std::string& out, uint64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, r.ptr);
}

bool named_by_connection(const std::vector<Field>& fields, std::string_view name) {
  for (const Field& f : fields) {
    if (iequals(f.name, "connection") && list_contains_token(f.value, name)) return true;
  }
  return false;
}

bool named_by_connection(const FieldList& fields, std::string_view name) {
  for (const HeaderField& f : fields) {
    if (iequals(f.name, "connection") && list_contains_token(f.value, name)) return true;
  }
  return false;
}

// Callers hand in an empty string per message, and appending a head piece by piece grew it
// five or six times (15, 30, 60, ... bytes): a third of the serializer's cost in the proxy's
// profile (docs/performance.md). One reservation of an upper bound makes it a single allocation.
// The bound: every field may be written as "name: value\r\n", plus the request or status line,
// plus the fields the framing adds (Content-Length or Transfer-Encoding, TE, Connection).
constexpr size_t kFramingFieldsBound = 128;

size_t fields_bound(const std::vector<Field>& fields) {
  size_t n = kFramingFieldsBound;
  for (const Field& f : fields) n += f.name.size() + f.value.size() + 4;
  return n;
}

// Writes the model's end-to-end fields, then the framing and Connection fields derived from
// `framing`. Hop-by-hop fields of the model are never copied.
std::optional<SerializeError> write_fields(const std::vector<Field>& fields,
                                           const OutboundFraming& framing, Version version,
                                           bool is_response, std::string& out) {
  bool has_connection = false;
  for (const Field& f : fields) has_connection = has_connection || iequals(f.name, "connection");

  bool te_trailers = false;
  bool upgrade_written = false;
  for (const Field& f : fields) {
    const std::string_view name = f.name;
    if (!is_valid_field_name(name)) return SerializeError::kInvalidFieldName;
    const bool is_upgrade = iequals(name, "upgrade") || iequals(name, "http2-settings");
    if (is_upgrade && !framing.tunnel) continue;
    if (iequals(name, "te")) {
      // TE is hop-by-hop; only "trailers" means anything to the next hop (gRPC needs it).
      te_trailers = te_trailers || list_contains_token(f.value, "trailers");
      continue;
    }
    if (!is_upgrade && (is_hop_by_hop(name) || iequals(name, "content-length"))) continue;
    // Fields named by Connection are hop-by-hop too; Host is never droppable that way, and the
    // Upgrade of a tunnel is named by Connection on purpose.
    if (has_connection && !is_upgrade && !iequals(name, "host") &&
        named_by_connection(fields, name)) {
      continue;
    }
    if (!is_valid_field_value(f.value)) return SerializeError::kInvalidFieldValue;
    out.append(name).append(": ").append(f.value).append("\r\n");
    upgrade_written = upgrade_written || iequals(name, "upgrade");
  }

  switch (framing.body.kind) {
    case BodyKind::kContentLength:
      out.append("Content-Length: ");
      append_decimal(out, framing.body.length);
      out.append("\r\n");
      break;
    case BodyKind::kChunked:
    case BodyKind::kCloseDelimited:
      if (framing.body.kind == BodyKind::kChunked || !framing.codings.empty()) {
        out.append("Transfer-Encoding: ");
        for (size_t i = 0; i < framing.codings.size; ++i) {
          if (i > 0) out.append(", ");
          out.append(to_string(framing.codings.items[i]));
        }
        if (framing.body.kind == BodyKind::kChunked) {
          out.append(framing.codings.empty() ? "chunked" : ", chunked");
        }
        out.append("\r\n");
      }
      break;
    case BodyKind::kNone:
      if (framing.declared_length) {
        out.append("Content-Length: ");
        append_decimal(out, *framing.declared_length);
        out.append("\r\n");
      }
      break;
  }

  // Persistence means nothing once a response has turned the connection into a tunnel:
  // "close" on a 101 or a CONNECT 2xx would only confuse the peer. A request may still be
  // refused the upgrade, so its keep-alive decision is written.
  const bool persistent = framing.keep_alive && framing.body.kind != BodyKind::kCloseDelimited;
  const bool state_persistence = !(is_response && framing.tunnel);
  std::string_view options[4];
  size_t n = 0;
  if (state_persistence && !persistent && version == Version::kHttp11) options[n++] = "close";
  if (state_persistence && persistent && version == Version::kHttp10) {
    options[n++] = "keep-alive";
  }
  if (framing.tunnel && upgrade_written) options[n++] = "upgrade";
  if (te_trailers) options[n++] = "te";
  if (te_trailers) out.append("TE: trailers\r\n");
  if (n > 0) {
    out.append("Connection: ");
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out.append(", ");
      out.append(options[i]);
    }
    out.append("\r\n");
  }
  out.append("\r\n");
  return std::nullopt;
}

// Calls `keep(field)` for every end-to-end field, in order.
template <typename Keep>
void for_each_end_to_end(const FieldList& fields, const MessageInfo& info, Keep&& keep) {
  const bool has_connection = fields.find("connection").has_value();
  for (const HeaderField& f : fields) {
    if (iequals(f.name, "upgrade")) {
      if (!info.upgrade) continue;
    } else if (iequals(f.name, "te")) {
      // kept; the serializer reduces it to "trailers"
    } else if (is_hop_by_hop(f.name) || iequals(f.name, "content-length")) {
      continue;
    } else if (has_connection && !iequals(f.name, "host") && named_by_connection(fields, f.name)) {
      continue;
    }
    keep(f);
  }
}

std::vector<Field> copy_end_to_end(const FieldList& fields, const MessageInfo& info) {
  std::vector<Field> out;
  out.reserve(fields.size());
  for_each_end_to_end(fields, info, [&](const HeaderField& f) {
    out.push_back({std::string(f.name), std::string(f.value)});
  });
  return out;
}

}  // namespace

void end_to_end_fields(const FieldList& fields, const MessageInfo& info, FieldList& out) {
  for_each_end_to_end(fields, info, [&](const HeaderField& f) { out.push_back(f); });
}

OutboundFraming framing_of(const MessageInfo& info) {
  OutboundFraming framing;
  framing.body = info.body;
  // Codings describe body bytes; with no body (HEAD, 304, CONNECT) there is nothing to code.
  if (info.body.kind == BodyKind::kChunked || info.body.kind == BodyKind::kCloseDelimited) {
    framing.codings = info.codings;
  }
  if (info.body.kind == BodyKind::kNone) framing.declared_length = info.content_length;
  framing.keep_alive = info.keep_alive;
  framing.tunnel = info.upgrade || info.connect;
  return framing;
}

RequestModel to_model(const RequestHead& head) {
  RequestModel model;
  model.method = std::string(head.method);
  model.target = std::string(head.target);
  model.version = head.version;
  model.fields = copy_end_to_end(head.fields, head.info);
  return model;
}

ResponseModel to_model(const ResponseHead& head) {
  ResponseModel model;
  model.version = head.version;
  model.status = head.status;
  model.reason = std::string(head.reason);
  model.fields = copy_end_to_end(head.fields, head.info);
  return model;
}

SerializeResult serialize_request(const RequestModel& model, const OutboundFraming& framing,
                                  std::string& out) {
  if (!is_token(model.method)) return base::unexpected(SerializeError::kInvalidMethod);
  if (!valid_target(model.target)) return base::unexpected(SerializeError::kInvalidTarget);
  const BodyKind kind = framing.body.kind;
  // A request body cannot be delimited by closing (the response could not be read), HTTP/1.0
  // has no chunked coding, and codings other than chunked require chunked last (§6.1).
  if (kind == BodyKind::kCloseDelimited ||
      (kind == BodyKind::kChunked && model.version == Version::kHttp10) ||
      (!framing.codings.empty() && kind != BodyKind::kChunked)) {
    return base::unexpected(SerializeError::kInvalidFraming);
  }
  OutboundFraming effective = framing;
  effective.declared_length.reset();  // only meaningful for responses

  const size_t mark = out.size();
  out.reserve(mark + model.method.size() + model.target.size() + 12 + fields_bound(model.fields));
  out.append(model.method).append(" ").append(model.target).append(" ");
  out.append(to_string(model.version)).append("\r\n");
  if (auto e = write_fields(model.fields, effective, model.version, false, out)) {
    out.resize(mark);
    return base::unexpected(*e);
  }
  return out.size() - mark;
}

SerializeResult serialize_response(const ResponseModel& model, const OutboundFraming& framing,
                                   std::string& out) {
  if (model.status < 100 || model.status > 599) {
    return base::unexpected(SerializeError::kInvalidStatus);
  }
  if (!valid_reason(model.reason)) return base::unexpected(SerializeError::kInvalidReason);
  const BodyKind kind = framing.body.kind;
  const bool forbids_length = model.status < 200 || model.status == 204;
  const bool no_body = forbids_length || model.status == 304;
  if ((no_body && kind != BodyKind::kNone) ||
      (kind == BodyKind::kChunked && model.version == Version::kHttp10) ||
      (!framing.codings.empty() && kind != BodyKind::kChunked &&
       kind != BodyKind::kCloseDelimited)) {
    return base::unexpected(SerializeError::kInvalidFraming);
  }

  OutboundFraming effective = framing;
  // RFC 9110 §8.6: never a Content-Length on 1xx or 204, even one an upstream sent.
  if (forbids_length) effective.declared_length.reset();

  const size_t mark = out.size();
  out.reserve(mark + model.reason.size() + 16 + fields_bound(model.fields));
  out.append(to_string(model.version)).append(" ");
  append_decimal(out, static_cast<uint64_t>(model.status));
  out.append(" ").append(model.reason).append("\r\n");
  if (auto e = write_fields(model.fields, effective, model.version, true, out)) {
    out.resize(mark);
    return base::unexpected(*e);
  }
  return out.size() - mark;
}

size_t format_chunk_header(uint64_t size, char (&out)[kMaxChunkHeaderSize]) {
  const auto r = std::to_chars(out, out + 16, size, 16);
  char* p = r.ptr;
  *p++ = '\r';
  *p++ = '\n';
  return static_cast<size_t>(p - out);
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char header[kMaxChunkHeaderSize];
  out.append(header, format_chunk_header(data.size(), header));
  out.append(data).append("\r\n");
}

SerializeResult append_last_chunk(std::string& out, const std::vector<Field>& trailers) {
  for (const Field& f : trailers) {
    if (!is_valid_field_name(f.name)) return base::unexpected(SerializeError::kInvalidFieldName);
    if (!is_valid_field_value(f.value)) {
      return base::unexpected(SerializeError::kInvalidFieldValue);
    }
    if (is_forbidden_trailer(f.name)) {
      return base::unexpected(SerializeError::kForbiddenTrailerField);
    }
  }
  const size_t mark = out.size();
  out.append("0\r\n");
  for (const Field& f : trailers) out.append(f.name).append(": ").append(f.value).append("\r\n");
  out.append("\r\n");
  return out.size() - mark;
}

}  // namespace trellis::http::h1
