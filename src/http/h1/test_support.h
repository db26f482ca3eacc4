#pragma once
// Test-only helpers for the h1 tests: render a parse outcome as one exact, readable string, so
// table rows and split-point comparisons assert everything the parser decided at once.

#include <string>
#include <string_view>
#include <vector>

#include "http/h1/chunked.h"
#include "http/h1/parser.h"

namespace trellis::http::h1::testing {

inline std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string describe_fields(const FieldList& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += "|";
    out += escape(fields[i].name) + "=" + escape(fields[i].value);
  }
  return out + "}";
}

inline std::string describe_body(const BodyFraming& body) {
  std::string out(to_string(body.kind));
  if (body.kind == BodyKind::kContentLength) out += ":" + std::to_string(body.length);
  return out;
}

inline std::string describe_info(const MessageInfo& info) {
  std::string out = " body=" + describe_body(info.body);
  out += info.keep_alive ? " ka=1" : " ka=0";
  if (info.upgrade) out += " upgrade=" + escape(info.upgrade_protocol);
  if (info.connect) out += " connect";
  if (info.expect_continue) out += " expect";
  if (info.interim) out += " interim";
  if (!info.codings.empty()) {
    out += " codings=";
    for (size_t i = 0; i < info.codings.size; ++i) {
      if (i > 0) out += ",";
      out += to_string(info.codings.items[i]);
    }
  }
  // The declared length is only interesting when it is not the body framing itself.
  if (info.content_length && info.body.kind != BodyKind::kContentLength) {
    out += " cl=" + std::to_string(*info.content_length);
  }
  return out;
}

// "error:<name>", "incomplete", or the parsed head; " rest=N" when bytes follow the head.
inline std::string describe(const ParseResult& r, const RequestHead& head, size_t input_size) {
  if (r.is_error()) return "error:" + std::string(to_string(r.error()));
  if (r.is_incomplete()) return "incomplete";
  std::string out = escape(head.method) + " " + escape(head.target) + " " +
                    std::string(to_string(head.version)) + " " +
                    std::string(to_string(head.target_form));
  if (!head.authority.empty()) out += " authority=" + escape(head.authority);
  out += describe_info(head.info);
  out += " " + describe_fields(head.fields);
  if (r.consumed() != input_size) out += " rest=" + std::to_string(input_size - r.consumed());
  return out;
}

inline std::string describe(const ParseResult& r, const ResponseHead& head, size_t input_size) {
  if (r.is_error()) return "error:" + std::string(to_string(r.error()));
  if (r.is_incomplete()) return "incomplete";
  std::string out = std::string(to_string(head.version)) + " " + std::to_string(head.status) +
                    " '" + escape(head.reason) + "'";
  out += describe_info(head.info);
  out += " " + describe_fields(head.fields);
  if (r.consumed() != input_size) out += " rest=" + std::to_string(input_size - r.consumed());
  return out;
}

// Runs a chunked decoder over `slices` in order; returns "data=<body> trailers={...} rest=N"
// or "error:<name>" / "incomplete". `rest` counts input bytes left after kDone.
inline std::string decode_slices(ChunkedDecoder& decoder,
                                 const std::vector<std::string_view>& slices) {
  std::string body;
  size_t rest = 0;
  bool done = false;
  for (std::string_view slice : slices) {
    while (!slice.empty()) {
      if (done) {
        rest += slice.size();
        break;
      }
      const ChunkEvent ev = decoder.decode(slice);
      if (ev.consumed > slice.size()) return "bug:consumed>size";
      slice.remove_prefix(ev.consumed);
      switch (ev.kind) {
        case ChunkEvent::Kind::kData:
          if (ev.data.empty()) return "bug:empty-data";
          body.append(ev.data);
          break;
        case ChunkEvent::Kind::kNeedMore:
          if (!slice.empty()) return "bug:need-more-with-input-left";
          break;
        case ChunkEvent::Kind::kDone:
          done = true;
          break;
        case ChunkEvent::Kind::kError:
          return "error:" + std::string(to_string(ev.error));
      }
    }
  }
  if (!done) {
    // An empty final call must not change anything either.
    const ChunkEvent ev = decoder.decode({});
    if (ev.kind == ChunkEvent::Kind::kError) return "error:" + std::string(to_string(ev.error));
    if (ev.kind != ChunkEvent::Kind::kDone) return "incomplete data=" + escape(body);
  }
  std::string out = "data=" + escape(body) + " trailers=" + describe_fields(decoder.trailers());
  if (rest > 0) out += " rest=" + std::to_string(rest);
  return out;
}

}  // namespace trellis::http::h1::testing
