#pragma once
// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1). Feed it whatever slices
// arrive; it never buffers body bytes: data comes back as views into the slice you passed. The
// chunk-size lines are parsed byte by byte (they are short and may be split anywhere), strictly:
// 1-16 hex digits, extensions that match the grammar and fit max_chunk_extension, CRLF only.
// The trailer section, rare and small, is buffered inside the decoder (bounded by the header
// limits) and parsed with exactly the field-line rules of a head.
//
//   ChunkedDecoder dec(limits);
//   while (!input.empty()) {
//     ChunkEvent ev = dec.decode(input);
//     input.remove_prefix(ev.consumed);
//     switch (ev.kind) { kData: forward(ev.data); kNeedMore: read more; kDone: dec.trailers(),
//                        the remaining input is the next message; kError: reject ev.error }
//   }

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/h1/errors.h"
#include "http/h1/head.h"
#include "http/h1/head_scanner.h"
#include "http/h1/limits.h"

namespace trellis::http::h1 {

struct ChunkEvent {
  enum class Kind : uint8_t {
    kNeedMore,  // the whole input was consumed; call again with the next bytes
    kData,      // `data` (a view into the input) is body content
    kDone,      // the last chunk and the trailer section are complete
    kError,     // `error`; the decoder stays in this state
  };
  Kind kind = Kind::kNeedMore;
  size_t consumed = 0;    // bytes of the input used by this event
  std::string_view data;  // kData only
  ParseError error = ParseError::kInvalidChunkSize;  // kError only
};

class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const Limits& limits = Limits{});

  ChunkEvent decode(std::string_view input);

  bool done() const { return state_ == State::kDone; }
  // Body bytes delivered so far.
  uint64_t body_bytes() const { return body_bytes_; }
  // After kDone: the trailer fields, as views into the decoder's own buffer (valid until
  // reset() or destruction of the decoder).
  FieldList trailers() const;
  void reset();

 private:
  enum class State : uint8_t {
    kSizeStart,          // first byte of a chunk-size line: a hex digit
    kSize,               // further hex digits
    kSizeBws,            // BWS after the size: only ";" may follow
    kExtBwsBeforeName,   // after ";"
    kExtName,
    kExtAfterName,       // BWS after a name: "=" or ";"
    kExtBwsBeforeValue,  // after "="
    kExtToken,
    kExtQuoted,
    kExtQuotedPair,      // after a backslash in a quoted-string
    kExtAfterQuoted,
    kExtAfterValueBws,   // BWS after a value: only ";" may follow
    kSizeLf,             // CR seen at the end of a chunk-size line
    kData,
    kDataCr,             // CRLF after chunk data
    kDataLf,
    kTrailerStart,       // first byte after the last-chunk line
    kTrailerEndLf,       // CR of an empty trailer section seen
    kTrailers,           // buffering a non-empty trailer section
    kDone,
    kError,
  };

  std::optional<ParseError> step(char c);
  std::optional<ParseError> line_byte(bool extension);
  ChunkEvent fail(ParseError error, size_t consumed);

  Limits limits_;
  State state_ = State::kSizeStart;
  ParseError error_ = ParseError::kInvalidChunkSize;
  uint64_t size_ = 0;       // chunk size being parsed
  uint64_t remaining_ = 0;  // data bytes left in the current chunk
  uint64_t body_bytes_ = 0;
  size_t digits_ = 0;
  size_t line_length_ = 0;       // chunk-size line so far, without CRLF
  size_t extension_length_ = 0;  // its chunk-ext part
  std::string trailer_buffer_;
  detail::HeadScanner trailer_scanner_;
};

}  // namespace trellis::http::h1
