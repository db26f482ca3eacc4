#pragma once
// Pieces of the Prometheus text exposition format 0.0.4: name rules, escaping and number
// formatting. Shared by the renderer and its tests; the parser has its own inverse.

#include <cstdint>
#include <string>
#include <string_view>

namespace trellis::metrics {

// The Content-Type a /metrics endpoint serves this format with.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus).
bool valid_label_name(std::string_view name);

// Appends a label value escaped for the inside of "...": backslash, double quote and newline
// become \\, \" and \n. Label values can come from peers (an :authority, an SNI), and one
// invalid UTF-8 byte makes Prometheus reject the whole scrape, so each byte that is not part
// of a well-formed UTF-8 sequence is replaced with U+FFFD.
void append_escaped_label_value(std::string& out, std::string_view value);
// Appends HELP text escaped: backslash and newline become \\ and \n.
void append_escaped_help(std::string& out, std::string_view help);

void append_uint(std::string& out, uint64_t value);
void append_int(std::string& out, int64_t value);
// Shortest text that parses back to the same double ("1", "0.05", "1e+06"); "+Inf", "-Inf"
// and "NaN" for the special values, as Prometheus writes them.
void append_double(std::string& out, double value);

}  // namespace trellis::metrics
