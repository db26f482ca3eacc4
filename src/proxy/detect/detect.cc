#include "proxy/detect/detect.h"

namespace trellis::proxy::detect {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
  }
  return false;
}

// A TLS record: content type 22 (handshake), version major 3, then a handshake of type 1
// (ClientHello). Three bytes are enough to rule it in or out.
Protocol detect_tls(std::string_view p) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(p[i]); };
  if (b(0) != 0x16) return Protocol::kOpaque;
  if (p.size() < 2) return Protocol::kNeedMore;
  if (b(1) != 0x03) return Protocol::kOpaque;
  if (p.size() < 6) return Protocol::kNeedMore;
  return b(5) == 0x01 ? Protocol::kTls : Protocol::kOpaque;
}

// method SP request-target SP HTTP/1.x CRLF — the request-target is not validated here (the
// HTTP/1 parser does that), only that the line has the shape of a request line.
Protocol detect_http1(std::string_view p) {
  size_t i = 0;
  while (i < p.size() && is_tchar(p[i])) ++i;
  if (i == p.size()) return i < 32 ? Protocol::kNeedMore : Protocol::kOpaque;
  if (i == 0 || p[i] != ' ') return Protocol::kOpaque;
  ++i;
  const size_t target_start = i;
  while (i < p.size() && p[i] != ' ') {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c <= 0x20 || c == 0x7f) return Protocol::kOpaque;
    ++i;
  }
  // A method, a space and kMaxDetectBytes of plausible target: HTTP/1 with a long target. The
  // strict parser then answers it (414 past its own limit) instead of treating it as opaque.
  if (i == p.size()) return p.size() < kMaxDetectBytes ? Protocol::kNeedMore : Protocol::kHttp1;
  if (i == target_start) return Protocol::kOpaque;
  ++i;
  constexpr std::string_view kVersion = "HTTP/1.";
  for (size_t k = 0; k < kVersion.size(); ++k, ++i) {
    if (i == p.size()) return Protocol::kNeedMore;
    if (p[i] != kVersion[k]) return Protocol::kOpaque;
  }
  if (i == p.size()) return Protocol::kNeedMore;
  if (p[i] != '0' && p[i] != '1') return Protocol::kOpaque;
  ++i;
  if (i == p.size()) return Protocol::kNeedMore;
  if (p[i] != '\r') return Protocol::kOpaque;
  ++i;
  if (i == p.size()) return Protocol::kNeedMore;
  return p[i] == '\n' ? Protocol::kHttp1 : Protocol::kOpaque;
}

}  // namespace

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::kNeedMore: return "need_more";
    case Protocol::kTls: return "tls";
    case Protocol::kHttp2: return "http2";
    case Protocol::kHttp1: return "http1";
    case Protocol::kOpaque: return "opaque";
  }
  return "unknown";
}

Protocol detect(std::string_view prefix) {
  if (prefix.empty()) return Protocol::kNeedMore;
  if (static_cast<unsigned char>(prefix[0]) == 0x16) return detect_tls(prefix);
  // The HTTP/2 preface starts like an HTTP/1 request line ("PRI * HTTP/2.0"), so check it first.
  const size_t n = prefix.size() < kHttp2Preface.size() ? prefix.size() : kHttp2Preface.size();
  if (prefix.substr(0, n) == kHttp2Preface.substr(0, n)) {
    return n == kHttp2Preface.size() ? Protocol::kHttp2 : Protocol::kNeedMore;
  }
  return detect_http1(prefix.substr(0, kMaxDetectBytes));
}

}  // namespace trellis::proxy::detect
