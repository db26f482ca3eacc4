#include "http/h1/head.h"

#include "http/h1/chars.h"

namespace trellis::http::h1 {

std::string_view to_string(Version version) {
  switch (version) {
    case Version::kHttp10: return "HTTP/1.0";
    case Version::kHttp11: return "HTTP/1.1";
  }
  return "HTTP/1.1";
}

std::string_view to_string(BodyKind kind) {
  switch (kind) {
    case BodyKind::kNone: return "none";
    case BodyKind::kContentLength: return "content_length";
    case BodyKind::kChunked: return "chunked";
    case BodyKind::kCloseDelimited: return "close_delimited";
  }
  return "none";
}

std::string_view to_string(Coding coding) {
  switch (coding) {
    case Coding::kGzip: return "gzip";
    case Coding::kDeflate: return "deflate";
    case Coding::kCompress: return "compress";
  }
  return "gzip";
}

std::string_view to_string(TargetForm form) {
  switch (form) {
    case TargetForm::kOrigin: return "origin";
    case TargetForm::kAbsolute: return "absolute";
    case TargetForm::kAuthority: return "authority";
    case TargetForm::kAsterisk: return "asterisk";
  }
  return "origin";
}

std::optional<std::string_view> FieldList::find(std::string_view name) const {
  for (const HeaderField& f : *this) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

size_t FieldList::count(std::string_view name) const {
  size_t n = 0;
  for (const HeaderField& f : *this) {
    if (iequals(f.name, name)) ++n;
  }
  return n;
}

}  // namespace trellis::http::h1
