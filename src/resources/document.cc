#include "resources/document.h"

#include <cctype>

namespace trellis::resources {
namespace {

bool blank_or_comment(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
    ++i;
  }
  return true;
}

bool is_marker(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  std::string_view rest = line.substr(3);
  if (rest.empty()) return true;
  if (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\r') return false;
  // "--- # comment" and "---   " are separators; "--- !tag" or "--- value" keep content we
  // don't support inline, but the separator is still a separator.
  return true;
}

}  // namespace

bool looks_like_json(std::string_view text) {
  // Skip a UTF-8 byte-order mark.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    return c == '{' || c == '[';
  }
  return false;
}

std::vector<SourceDocument> split_yaml_stream(std::string_view text) {
  std::vector<SourceDocument> docs;
  SourceDocument current;
  int line_no = 0;
  size_t pos = 0;
  auto flush = [&](int next_offset) {
    if (!blank_or_comment(current.text)) docs.push_back(std::move(current));
    current = SourceDocument{};
    current.line_offset = next_offset;
  };
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    const bool last = end == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : end - pos);
    ++line_no;
    if (is_marker(line, "---")) {
      flush(line_no - 1);
      // Content after "--- " on the same line belongs to the new document; keep the line with
      // the marker blanked so columns stay right.
      std::string rest(line.size() > 3 ? line.substr(3) : std::string_view());
      current.text += std::string(3, ' ') + rest + "\n";
    } else if (is_marker(line, "...")) {
      flush(line_no);
    } else {
      current.text += line;
      current.text += "\n";
    }
    if (last) break;
    pos = end + 1;
  }
  flush(line_no);
  return docs;
}

}  // namespace trellis::resources
