#include "tls/client_hello.h"

#include <bitset>

namespace trellis::tls {
namespace {

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHelloType = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;
constexpr size_t kMaxRecordPayload = 16384;  // 2^14, RFC 8446 §5.1
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtSupportedVersions = 43;
constexpr uint16_t kTls13 = 0x0304;

// Bounds-checked big-endian reads over one structure. Every read either succeeds entirely or
// fails without moving, so a corrupted length can never reach past the structure.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool empty() const { return pos_ == data_.size(); }
  bool u8(uint8_t& v) {
    if (data_.size() - pos_ < 1) return false;
    v = byte(pos_++);
    return true;
  }
  bool u16(uint16_t& v) {
    if (data_.size() - pos_ < 2) return false;
    v = static_cast<uint16_t>(byte(pos_) << 8 | byte(pos_ + 1));
    pos_ += 2;
    return true;
  }
  bool skip(size_t n) {
    std::string_view ignored;
    return bytes(n, ignored);
  }
  bool bytes(size_t n, std::string_view& out) {
    if (data_.size() - pos_ < n) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // opaque x<0..2^8-1> / <0..2^16-1>: a length prefix, then that many bytes.
  bool vec8(std::string_view& out) {
    const size_t start = pos_;
    uint8_t n = 0;
    if (u8(n) && bytes(n, out)) return true;
    pos_ = start;
    return false;
  }
  bool vec16(std::string_view& out) {
    const size_t start = pos_;
    uint16_t n = 0;
    if (u16(n) && bytes(n, out)) return true;
    pos_ = start;
    return false;
  }

 private:
  uint8_t byte(size_t i) const { return static_cast<uint8_t>(data_[i]); }

  std::string_view data_;
  size_t pos_ = 0;
};

HelloParse malformed(HelloError e) {
  HelloParse out;
  out.status = HelloStatus::kMalformed;
  out.error = e;
  return out;
}

HelloError parse_server_name(std::string_view data, ClientHello& hello) {
  Reader ext(data);
  std::string_view list;
  if (!ext.vec16(list)) return HelloError::kTruncatedField;
  if (!ext.empty()) return HelloError::kTrailingBytes;
  if (list.empty()) return HelloError::kBadServerName;
  Reader names(list);
  while (!names.empty()) {
    uint8_t type = 0;
    std::string_view name;
    if (!names.u8(type) || !names.vec16(name)) return HelloError::kTruncatedField;
    if (type != 0) continue;  // only host_name (0) is defined; others are skipped
    // RFC 6066 §3: at most one name per type; the name is never empty and never holds a NUL
    // (a NUL would let "a\0b" be compared as "a" by C-string code further on).
    if (hello.has_server_name || name.empty() || name.find('\0') != std::string_view::npos) {
      return HelloError::kBadServerName;
    }
    hello.has_server_name = true;
    hello.server_name.assign(name);
  }
  return HelloError::kNone;
}

HelloError parse_alpn(std::string_view data, ClientHello& hello) {
  Reader ext(data);
  std::string_view list;
  if (!ext.vec16(list)) return HelloError::kTruncatedField;
  if (!ext.empty()) return HelloError::kTrailingBytes;
  if (list.empty()) return HelloError::kBadAlpn;  // RFC 7301: <2..2^16-1>
  Reader protocols(list);
  while (!protocols.empty()) {
    std::string_view protocol;
    if (!protocols.vec8(protocol)) return HelloError::kTruncatedField;
    if (protocol.empty()) return HelloError::kBadAlpn;  // ProtocolName<1..2^8-1>
    hello.alpn.emplace_back(protocol);
  }
  return HelloError::kNone;
}

HelloError parse_supported_versions(std::string_view data, ClientHello& hello) {
  Reader ext(data);
  std::string_view list;
  if (!ext.vec8(list)) return HelloError::kTruncatedField;
  if (!ext.empty()) return HelloError::kTrailingBytes;
  if (list.empty() || list.size() % 2 != 0) return HelloError::kBadVector;
  Reader versions(list);
  uint16_t v = 0;
  while (versions.u16(v)) {
    if (v == kTls13) hello.offers_tls13 = true;
  }
  return HelloError::kNone;
}

// The ClientHello body (after the 4-byte handshake header), RFC 8446 §4.1.2 — which also
// describes every earlier version's hello, extensions being optional before TLS 1.3.
HelloError parse_body(std::string_view body, ClientHello& hello) {
  Reader r(body);
  std::string_view session_id, cipher_suites, compression, extensions;
  if (!r.u16(hello.legacy_version) || !r.skip(32) || !r.vec8(session_id) ||
      !r.vec16(cipher_suites) || !r.vec8(compression)) {
    return HelloError::kTruncatedField;
  }
  if (session_id.size() > 32 || cipher_suites.size() < 2 || cipher_suites.size() % 2 != 0 ||
      compression.empty()) {
    return HelloError::kBadVector;
  }
  if (r.empty()) return HelloError::kNone;  // no extensions at all
  if (!r.vec16(extensions)) return HelloError::kTruncatedField;
  if (!r.empty()) return HelloError::kTrailingBytes;

  std::bitset<65536> seen;
  Reader exts(extensions);
  while (!exts.empty()) {
    uint16_t type = 0;
    std::string_view data;
    if (!exts.u16(type) || !exts.vec16(data)) return HelloError::kTruncatedField;
    if (seen.test(type)) return HelloError::kDuplicateExtension;
    seen.set(type);
    HelloError e = HelloError::kNone;
    switch (type) {
      case kExtServerName: e = parse_server_name(data, hello); break;
      case kExtAlpn: e = parse_alpn(data, hello); break;
      case kExtSupportedVersions: e = parse_supported_versions(data, hello); break;
      default: break;
    }
    if (e != HelloError::kNone) return e;
  }
  return HelloError::kNone;
}

}  // namespace

const char* to_string(HelloStatus s) {
  switch (s) {
    case HelloStatus::kNeedMore: return "need_more";
    case HelloStatus::kNotTls: return "not_tls";
    case HelloStatus::kMalformed: return "malformed";
    case HelloStatus::kClientHello: return "client_hello";
  }
  return "unknown";
}

const char* to_string(HelloError e) {
  switch (e) {
    case HelloError::kNone: return "none";
    case HelloError::kRecordLength: return "record_length";
    case HelloError::kUnexpectedRecord: return "unexpected_record";
    case HelloError::kNotClientHello: return "not_client_hello";
    case HelloError::kTooLarge: return "too_large";
    case HelloError::kTruncatedField: return "truncated_field";
    case HelloError::kBadVector: return "bad_vector";
    case HelloError::kTrailingBytes: return "trailing_bytes";
    case HelloError::kDuplicateExtension: return "duplicate_extension";
    case HelloError::kBadServerName: return "bad_server_name";
    case HelloError::kBadAlpn: return "bad_alpn";
  }
  return "unknown";
}

HelloParse parse_client_hello(std::string_view prefix) {
  const std::string_view in = prefix.substr(0, kMaxClientHelloBytes);
  const auto b = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
  // Asking for more than the cap allows is the end of the road: the hello cannot fit.
  const auto need_more = [&] {
    return in.size() >= kMaxClientHelloBytes ? malformed(HelloError::kTooLarge) : HelloParse{};
  };

  // The first three bytes decide TLS or not: a handshake record, version 3.x with x <= 4.
  HelloParse not_tls;
  not_tls.status = HelloStatus::kNotTls;
  if (in.empty()) return HelloParse{};
  if (b(0) != kHandshakeRecord) return not_tls;
  if (in.size() < 2) return HelloParse{};
  if (b(1) != 3) return not_tls;
  if (in.size() < 3) return HelloParse{};
  if (b(2) > 4) return not_tls;

  // Reassemble the handshake message from as many handshake records as it spans. The common
  // case (one record) is parsed in place; a split hello is copied into `joined`.
  std::string joined;
  std::string_view message;  // the handshake bytes seen so far
  size_t needed = 0;         // header + body length, once the header is known
  size_t pos = 0;
  for (bool first = true;; first = false) {
    if (in.size() - pos < kRecordHeader) {
      // Validate what is there of the next header, so garbage is refused early.
      if (!first && in.size() > pos && b(pos) != kHandshakeRecord) {
        return malformed(HelloError::kUnexpectedRecord);
      }
      return need_more();
    }
    if (b(pos) != kHandshakeRecord || b(pos + 1) != 3 || b(pos + 2) > 4) {
      return malformed(HelloError::kUnexpectedRecord);
    }
    const size_t length = static_cast<size_t>(b(pos + 3)) << 8 | b(pos + 4);
    if (length == 0 || length > kMaxRecordPayload) return malformed(HelloError::kRecordLength);
    const size_t body_start = pos + kRecordHeader;
    const std::string_view fragment = in.substr(body_start, length);  // may be short

    if (first) {
      message = fragment;
    } else {
      if (joined.empty()) joined.assign(message);
      joined.append(fragment);
      message = joined;
    }
    if (!message.empty() && static_cast<uint8_t>(message[0]) != kClientHelloType) {
      return malformed(HelloError::kNotClientHello);
    }
    if (needed == 0 && message.size() >= kHandshakeHeader) {
      const size_t body_length = static_cast<size_t>(static_cast<uint8_t>(message[1])) << 16 |
                                 static_cast<size_t>(static_cast<uint8_t>(message[2])) << 8 |
                                 static_cast<uint8_t>(message[3]);
      needed = kHandshakeHeader + body_length;
      // Even in one record it could not fit under the cap.
      if (kRecordHeader + needed > kMaxClientHelloBytes) return malformed(HelloError::kTooLarge);
    }
    if (needed != 0 && message.size() >= needed) {
      HelloParse out;
      const HelloError e = parse_body(message.substr(kHandshakeHeader, needed - kHandshakeHeader),
                                      out.hello);
      if (e != HelloError::kNone) return malformed(e);
      out.status = HelloStatus::kClientHello;
      // The message ends inside this record, `message.size() - needed` bytes before the end of
      // what this record contributed.
      out.hello.bytes = body_start + fragment.size() - (message.size() - needed);
      return out;
    }
    if (fragment.size() < length) return need_more();  // the record itself is incomplete
    pos = body_start + length;
  }
}

}  // namespace trellis::tls
