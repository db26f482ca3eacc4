#pragma once
// Small string helpers shared by every layer: edit distance for "did you mean" suggestions,
// splitting, trimming and joining.

#include <string>
#include <string_view>
#include <vector>

namespace trellis::base {

// Damerau-free Levenshtein distance; inputs longer than 256 bytes return a large distance.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo or synonym
// (distance <= max(2, len/3), or one contains the other case-insensitively). Empty otherwise.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

std::vector<std::string_view> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string to_lower(std::string_view s);
// ASCII case-insensitive equality (header names, methods, hostnames).
bool iequals(std::string_view a, std::string_view b);
// `s` in double quotes for messages: quotes and backslashes escaped, control bytes as \xNN,
// cut after 200 bytes with "..." (input may come from hostile manifests).
std::string quote(std::string_view s);

}  // namespace trellis::base
