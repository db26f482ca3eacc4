// Fuzz target for the strict HTTP/1 parser (src/http/h1). The input is parsed as a request
// head, then as a response head, then decoded as a chunked body; each is checked against
// invariants that must hold for *any* bytes, and any violation aborts:
//   - consumed <= size, and every view lies inside the input;
//   - a complete head ends in CRLFCRLF and holds only valid names/values (what the strict rules
//     promise to everything downstream);
//   - the outcome is the same when the bytes arrive split (at a data-derived position, in a
//     moved buffer, and byte by byte), for heads and for the chunked decoder;
//   - a parsed head re-serializes to bytes that parse again to the same message;
//   - chunk-encoding the input and decoding it gives the input back.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/h1/chars.h"
#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "http/h1/serializer.h"

namespace h1 = trellis::http::h1;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view view, std::string_view buffer) {
  if (view.empty()) return true;
  const auto b = reinterpret_cast<uintptr_t>(buffer.data());
  const auto v = reinterpret_cast<uintptr_t>(view.data());
  return v >= b && v + view.size() <= b + buffer.size();
}

h1::Limits limits_for(uint8_t selector) {
  h1::Limits limits;
  if (selector & 1) {  // tiny limits, so the limit paths are reached by short inputs
    limits.max_header_bytes = 256;
    limits.max_header_count = 8;
    limits.max_start_line = 64;
    limits.max_header_line = 64;
    limits.max_chunk_line = 32;
    limits.max_chunk_extension = 16;
  }
  return limits;
}

// For re-parsing what the serializer wrote: it may be a few fields longer than the input.
h1::Limits roomy_limits() {
  h1::Limits limits;
  limits.max_header_bytes = 1 << 20;
  limits.max_header_count = 1 << 16;
  limits.max_start_line = 1 << 20;
  limits.max_header_line = 1 << 20;
  return limits;
}

// `input` is null for trailers, whose views point into the decoder, not the input.
void check_fields(const h1::FieldList& fields, const std::string_view* input) {
  for (const h1::HeaderField& f : fields) {
    if (input != nullptr) check(inside(f.name, *input) && inside(f.value, *input));
    check(h1::is_valid_field_name(f.name));
    check(h1::is_valid_field_value(f.value));
  }
}

void check_info(const h1::MessageInfo& info, std::string_view input) {
  check(inside(info.host, input) && inside(info.upgrade_protocol, input));
  check(info.codings.size <= h1::TransferCodings::kMax);
  if (info.body.kind == h1::BodyKind::kContentLength) {
    check(info.content_length.has_value() && *info.content_length == info.body.length);
    check(info.body.length <= static_cast<uint64_t>(INT64_MAX));
  }
}

std::string summary(const h1::ParseResult& r, const h1::RequestHead& head) {
  if (!r.is_complete()) return std::to_string(static_cast<int>(r.status())) + ":" +
                                (r.is_error() ? std::string(h1::to_string(r.error())) : "");
  std::string s = std::to_string(r.consumed()) + std::string(head.method) + " " +
                  std::string(head.target) + std::string(h1::to_string(head.info.body.kind)) +
                  std::to_string(head.info.body.length) + (head.info.keep_alive ? "k" : "c") +
                  (head.info.upgrade ? "u" : "") + (head.info.connect ? "C" : "");
  for (const auto& f : head.fields) s += "|" + std::string(f.name) + ":" + std::string(f.value);
  return s;
}

std::string summary(const h1::ParseResult& r, const h1::ResponseHead& head) {
  if (!r.is_complete()) return std::to_string(static_cast<int>(r.status())) + ":" +
                                (r.is_error() ? std::string(h1::to_string(r.error())) : "");
  std::string s = std::to_string(r.consumed()) + " " + std::to_string(head.status) +
                  std::string(head.reason) + std::string(h1::to_string(head.info.body.kind)) +
                  std::to_string(head.info.body.length) + (head.info.keep_alive ? "k" : "c");
  for (const auto& f : head.fields) s += "|" + std::string(f.name) + ":" + std::string(f.value);
  return s;
}

// Feeds cumulative prefixes (each in a fresh buffer, as when a connection buffer moves).
template <typename Parser, typename Head>
std::string feed_split(Parser& parser, std::string_view input, size_t cut, bool byte_by_byte) {
  std::vector<std::string> buffers;
  buffers.reserve(input.size() + 2);
  Head head;
  std::vector<size_t> lengths;
  if (byte_by_byte) {
    for (size_t i = 0; i < input.size(); ++i) lengths.push_back(i);
  } else {
    lengths.push_back(cut);
  }
  lengths.push_back(input.size());
  for (size_t len : lengths) {
    buffers.emplace_back(input.substr(0, len));
    const h1::ParseResult r = parser.parse(buffers.back(), head);
    check(r.consumed() <= len);
    if (!r.is_incomplete()) return summary(r, head);
  }
  return summary(h1::ParseResult::incomplete(), head);
}

void fuzz_request(std::string_view input, const h1::Limits& limits, size_t cut) {
  h1::RequestHead head;
  const h1::ParseResult r = h1::parse_request_head(input, head, limits);
  check(r.consumed() <= input.size());
  const std::string once = summary(r, head);
  {
    h1::RequestParser parser(limits);
    check(feed_split<h1::RequestParser, h1::RequestHead>(parser, input, cut, false) == once);
  }
  if (input.size() <= 2048) {
    h1::RequestParser parser(limits);
    check(feed_split<h1::RequestParser, h1::RequestHead>(parser, input, 0, true) == once);
  }
  if (!r.is_complete()) return;
  check(r.consumed() >= 4 && input.substr(r.consumed() - 4, 4) == "\r\n\r\n");
  check(inside(head.method, input) && inside(head.target, input) &&
        inside(head.authority, input));
  check(h1::is_token(head.method) && !head.target.empty());
  check(head.info.body.kind != h1::BodyKind::kCloseDelimited);
  check_fields(head.fields, &input);
  check_info(head.info, input);

  // Round trip through the serializer: what we forward must parse again, identically framed.
  const h1::RequestModel model = h1::to_model(head);
  std::string wire;
  const auto written = h1::serialize_request(model, h1::framing_of(head.info), wire);
  check(written.ok() && *written == wire.size());
  h1::RequestHead again;
  const h1::ParseResult r2 = h1::parse_request_head(wire, again, roomy_limits());
  check(r2.is_complete() && r2.consumed() == wire.size());
  check(again.method == head.method && again.target == head.target);
  check(again.version == head.version && again.info.body == head.info.body);
  check(again.info.keep_alive == head.info.keep_alive && again.info.upgrade == head.info.upgrade);
}

void fuzz_response(std::string_view input, const h1::Limits& limits, size_t cut, uint8_t ctx) {
  h1::ResponseContext context;
  context.request_was_head = ctx & 2;
  context.request_was_connect = ctx & 4;
  h1::ResponseHead head;
  const h1::ParseResult r = h1::parse_response_head(input, head, context, limits);
  check(r.consumed() <= input.size());
  const std::string once = summary(r, head);
  {
    h1::ResponseParser parser(limits, context);
    check(feed_split<h1::ResponseParser, h1::ResponseHead>(parser, input, cut, false) == once);
  }
  if (input.size() <= 2048) {
    h1::ResponseParser parser(limits, context);
    check(feed_split<h1::ResponseParser, h1::ResponseHead>(parser, input, 0, true) == once);
  }
  if (!r.is_complete()) return;
  check(r.consumed() >= 4 && input.substr(r.consumed() - 4, 4) == "\r\n\r\n");
  check(head.status >= 100 && head.status <= 599 && inside(head.reason, input));
  check_fields(head.fields, &input);
  check_info(head.info, input);

  const h1::ResponseModel model = h1::to_model(head);
  std::string wire;
  const auto written = h1::serialize_response(model, h1::framing_of(head.info), wire);
  check(written.ok() && *written == wire.size());
  h1::ResponseHead again;
  const h1::ParseResult r2 = h1::parse_response_head(wire, again, context, roomy_limits());
  check(r2.is_complete() && r2.consumed() == wire.size());
  check(again.status == head.status && again.info.body == head.info.body);
  check(again.info.keep_alive == head.info.keep_alive);
}

// Decodes `slices` in order; returns a summary of everything the decoder produced.
std::string decode(const h1::Limits& limits, const std::vector<std::string_view>& slices) {
  h1::ChunkedDecoder decoder(limits);
  std::string body;
  size_t rest = 0;
  bool done = false;
  for (std::string_view slice : slices) {
    while (!slice.empty()) {
      if (done) {
        rest += slice.size();
        break;
      }
      const h1::ChunkEvent ev = decoder.decode(slice);
      check(ev.consumed <= slice.size());
      switch (ev.kind) {
        case h1::ChunkEvent::Kind::kData:
          check(!ev.data.empty() && inside(ev.data, slice));
          check(ev.data.data() + ev.data.size() == slice.data() + ev.consumed);
          body.append(ev.data);
          break;
        case h1::ChunkEvent::Kind::kNeedMore:
          check(ev.consumed == slice.size());
          break;
        case h1::ChunkEvent::Kind::kDone:
          done = true;
          break;
        case h1::ChunkEvent::Kind::kError:
          return "error:" + std::string(h1::to_string(ev.error));
      }
      slice.remove_prefix(ev.consumed);
    }
  }
  check(decoder.body_bytes() == body.size());
  std::string out = (done ? "done:" : "more:") + body + "#" + std::to_string(rest);
  if (done) {
    const h1::FieldList trailers = decoder.trailers();
    check_fields(trailers, nullptr);
    for (const auto& f : trailers) out += "|" + std::string(f.name) + ":" + std::string(f.value);
  }
  return out;
}

void fuzz_chunked(std::string_view input, const h1::Limits& limits, size_t cut, size_t cut2) {
  const std::string whole = decode(limits, {input});
  check(decode(limits, {input.substr(0, cut), input.substr(cut)}) == whole);
  const size_t b = std::min(input.size(), cut + cut2);
  check(decode(limits, {input.substr(0, cut), input.substr(cut, b - cut), input.substr(b)}) ==
        whole);
  if (input.size() <= 1024) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    check(decode(limits, bytes) == whole);
  }

  // Encoder round trip: the input as the body, in chunks of data-derived sizes.
  std::string wire;
  size_t pos = 0;
  size_t step = (cut % 61) + 1;
  while (pos < input.size()) {
    const size_t n = std::min(step, input.size() - pos);
    h1::append_chunk(wire, input.substr(pos, n));
    pos += n;
    step = step * 7 % 97 + 1;
  }
  check(h1::append_last_chunk(wire).ok());
  check(decode(h1::Limits{}, {wire}) == "done:" + std::string(input) + "#0");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 128 * 1024) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Selectors come from the last bytes, so the head itself can start at byte 0.
  const uint8_t s0 = size > 0 ? data[size - 1] : 0;
  const uint8_t s1 = size > 1 ? data[size - 2] : 0;
  const h1::Limits limits = limits_for(s0);
  const size_t cut = size == 0 ? 0 : (static_cast<size_t>(s0) * 31 + s1) % (size + 1);
  const size_t cut2 = size == 0 ? 0 : static_cast<size_t>(s1) % (size + 1);

  fuzz_request(input, limits, cut);
  fuzz_response(input, limits, cut, s1);
  fuzz_chunked(input, limits, cut, cut2);
  return 0;
}
