#pragma once
// Splitting a manifest file into documents. A YAML stream is split at `---` separator lines
// (so a syntax error in one document does not hide the others); JSON input is one document.

#include <string>
#include <string_view>
#include <vector>

namespace trellis::resources {

struct SourceDocument {
  std::string text;
  int line_offset = 0;  // number of lines in the file before this document's first line
};

// True when the text's first non-space character is '{' or '[' (JSON object or array).
bool looks_like_json(std::string_view text);

// Splits at lines that are exactly `---` (optionally followed by spaces or a comment) and at
// `...` document-end lines. Empty documents (whitespace/comments only) are dropped.
std::vector<SourceDocument> split_yaml_stream(std::string_view text);

}  // namespace trellis::resources
