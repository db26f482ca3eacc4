#include "http/h1/chunked.h"

#include <algorithm>
#include <limits>

#include "http/h1/chars.h"

namespace trellis::http::h1 {
namespace {

constexpr uint64_t kMaxChunkSize = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr size_t kMaxChunkSizeDigits = 16;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
bool is_qdtext(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || u == ' ' || u == 0x21 || (u >= 0x23 && u <= 0x5b) ||
         (u >= 0x5d && u <= 0x7e) || u >= 0x80;
}

// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
bool is_quotable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u <= 0x7e) || u >= 0x80;
}

}  // namespace

ChunkedDecoder::ChunkedDecoder(const Limits& limits)
    : limits_(limits), trailer_scanner_(detail::BlockKind::kTrailers, limits) {}

void ChunkedDecoder::reset() {
  state_ = State::kSizeStart;
  error_ = ParseError::kInvalidChunkSize;
  size_ = 0;
  remaining_ = 0;
  body_bytes_ = 0;
  digits_ = 0;
  line_length_ = 0;
  extension_length_ = 0;
  trailer_buffer_.clear();
  trailer_scanner_.reset();
}

FieldList ChunkedDecoder::trailers() const {
  FieldList out;
  if (state_ == State::kDone && !trailer_buffer_.empty()) {
    trailer_scanner_.fill_fields(trailer_buffer_, out);
  }
  return out;
}

ChunkEvent ChunkedDecoder::fail(ParseError error, size_t consumed) {
  state_ = State::kError;
  error_ = error;
  ChunkEvent ev;
  ev.kind = ChunkEvent::Kind::kError;
  ev.consumed = consumed;
  ev.error = error;
  return ev;
}

ChunkEvent ChunkedDecoder::decode(std::string_view input) {
  size_t i = 0;
  while (true) {
    switch (state_) {
      case State::kDone: {
        ChunkEvent ev;
        ev.kind = ChunkEvent::Kind::kDone;
        ev.consumed = i;
        return ev;
      }
      case State::kError:
        return fail(error_, i);
      case State::kData: {
        if (i == input.size()) return ChunkEvent{ChunkEvent::Kind::kNeedMore, i, {}, {}};
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(remaining_, input.size() - i));
        remaining_ -= n;
        body_bytes_ += n;
        if (remaining_ == 0) state_ = State::kDataCr;
        return ChunkEvent{ChunkEvent::Kind::kData, i + n, input.substr(i, n), {}};
      }
      case State::kTrailerStart:
        // A non-empty trailer section goes to the shared field-line scanner. The empty one
        // (the common case) is just CRLF and never touches the buffer.
        if (i < input.size() && input[i] != '\r' && input[i] != '\n') {
          state_ = State::kTrailers;
          continue;
        }
        break;
      case State::kTrailers: {
        if (i == input.size()) return ChunkEvent{ChunkEvent::Kind::kNeedMore, i, {}, {}};
        // Never buffer more than one byte past the limit: by then the scanner has either
        // found the end of the section or reported kHeaderBlockTooLarge.
        const size_t before = trailer_buffer_.size();
        const size_t room = limits_.max_header_bytes - std::min(before, limits_.max_header_bytes);
        size_t take = input.size() - i;
        if (take > room) take = room + 1;
        trailer_buffer_.append(input.data() + i, take);
        const ParseResult r = trailer_scanner_.scan(trailer_buffer_);
        if (r.is_error()) return fail(r.error(), i + take);
        if (r.is_incomplete()) {
          i += take;
          continue;
        }
        i += r.consumed() - before;
        trailer_buffer_.resize(r.consumed());
        state_ = State::kDone;
        continue;
      }
      default:
        break;
    }
    if (i == input.size()) return ChunkEvent{ChunkEvent::Kind::kNeedMore, i, {}, {}};
    const char c = input[i++];
    if (auto e = step(c)) return fail(*e, i);
  }
}

// Counts one byte of the chunk-size line (CR and LF never get here) against the line and
// extension limits.
std::optional<ParseError> ChunkedDecoder::line_byte(bool extension) {
  if (++line_length_ > limits_.max_chunk_line) return ParseError::kChunkLineTooLong;
  if (extension && ++extension_length_ > limits_.max_chunk_extension) {
    return ParseError::kChunkExtensionTooLong;
  }
  return std::nullopt;
}

std::optional<ParseError> ChunkedDecoder::step(char c) {
  switch (state_) {
    case State::kSizeLf:
      if (c != '\n') return ParseError::kBareCr;
      line_length_ = 0;
      extension_length_ = 0;
      digits_ = 0;
      if (size_ == 0) {
        state_ = State::kTrailerStart;
      } else {
        remaining_ = size_;
        state_ = State::kData;
      }
      size_ = 0;
      return std::nullopt;
    case State::kDataCr:
      if (c != '\r') return ParseError::kMissingChunkCrlf;
      state_ = State::kDataLf;
      return std::nullopt;
    case State::kDataLf:
      if (c != '\n') return ParseError::kMissingChunkCrlf;
      state_ = State::kSizeStart;
      return std::nullopt;
    case State::kTrailerStart:
      if (c == '\n') return ParseError::kBareLf;
      state_ = State::kTrailerEndLf;  // c == '\r'
      return std::nullopt;
    case State::kTrailerEndLf:
      if (c != '\n') return ParseError::kBareCr;
      state_ = State::kDone;
      return std::nullopt;
    default:
      break;
  }

  // Chunk-size line states. A bare LF anywhere in the line is the Go CVE-2025-22871 /
  // Kestrel CVE-2025-55315 vector: peers disagree on where the line ends.
  if (c == '\n') return ParseError::kBareLfInChunkLine;
  if (c == '\r') {
    switch (state_) {
      case State::kSize:
      case State::kExtName:
      case State::kExtToken:
      case State::kExtAfterQuoted:
        state_ = State::kSizeLf;
        return std::nullopt;
      case State::kSizeStart:
      case State::kSizeBws:  // "1a \r\n": BWS is only allowed before ";"
        return ParseError::kInvalidChunkSize;
      default:
        return ParseError::kInvalidChunkExtension;
    }
  }
  const bool in_size = state_ == State::kSizeStart || (state_ == State::kSize && hex_value(c) >= 0);
  if (auto e = line_byte(!in_size)) return e;

  switch (state_) {
    case State::kSizeStart: {
      const int v = hex_value(c);
      if (v < 0) return ParseError::kInvalidChunkSize;  // " 1a", "+1a", "-1", ";x", ""
      size_ = static_cast<uint64_t>(v);
      digits_ = 1;
      state_ = State::kSize;
      return std::nullopt;
    }
    case State::kSize: {
      const int v = hex_value(c);
      if (v >= 0) {
        if (++digits_ > kMaxChunkSizeDigits) return ParseError::kChunkSizeOverflow;
        if (size_ > (kMaxChunkSize - static_cast<uint64_t>(v)) / 16) {
          return ParseError::kChunkSizeOverflow;
        }
        size_ = size_ * 16 + static_cast<uint64_t>(v);
        return std::nullopt;
      }
      if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else if (is_ows(c)) {
        state_ = State::kSizeBws;
      } else {
        return ParseError::kInvalidChunkSize;  // "1ax", "0x1a", "1a,"
      }
      return std::nullopt;
    }
    case State::kSizeBws:
      if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else if (!is_ows(c)) {
        return ParseError::kInvalidChunkSize;
      }
      return std::nullopt;
    case State::kExtBwsBeforeName:
      if (is_tchar(c)) {
        state_ = State::kExtName;
      } else if (!is_ows(c)) {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtName:
      if (is_tchar(c)) return std::nullopt;
      if (is_ows(c)) {
        state_ = State::kExtAfterName;
      } else if (c == '=') {
        state_ = State::kExtBwsBeforeValue;
      } else if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtAfterName:
      if (c == '=') {
        state_ = State::kExtBwsBeforeValue;
      } else if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else if (!is_ows(c)) {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtBwsBeforeValue:
      if (c == '"') {
        state_ = State::kExtQuoted;
      } else if (is_tchar(c)) {
        state_ = State::kExtToken;
      } else if (!is_ows(c)) {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtToken:
      if (is_tchar(c)) return std::nullopt;
      if (is_ows(c)) {
        state_ = State::kExtAfterValueBws;
      } else if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtQuoted:
      if (c == '"') {
        state_ = State::kExtAfterQuoted;
      } else if (c == '\\') {
        state_ = State::kExtQuotedPair;
      } else if (!is_qdtext(c)) {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtQuotedPair:
      if (!is_quotable(c)) return ParseError::kInvalidChunkExtension;
      state_ = State::kExtQuoted;
      return std::nullopt;
    case State::kExtAfterQuoted:
      if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else if (is_ows(c)) {
        state_ = State::kExtAfterValueBws;
      } else {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    case State::kExtAfterValueBws:
      if (c == ';') {
        state_ = State::kExtBwsBeforeName;
      } else if (!is_ows(c)) {
        return ParseError::kInvalidChunkExtension;
      }
      return std::nullopt;
    default:
      return ParseError::kInvalidChunkSize;  // unreachable: other states are handled above
  }
}

}  // namespace trellis::http::h1
