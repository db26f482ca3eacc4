#include "base/strings.h"

#include <algorithm>
#include <cctype>

namespace trellis::base {

size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 256 || b.size() > 256) return 1000;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string lw = to_lower(word);
  std::string best;
  size_t best_distance = 1000;
  for (const auto& c : candidates) {
    const std::string lc = to_lower(c);
    size_t d = edit_distance(lw, lc);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (best.empty()) return {};
  const size_t threshold = std::max<size_t>(2, word.size() / 3);
  if (best_distance <= threshold) return best;
  // One contains the other ("ServerAuth" / "ServerAuthorization"): prefer the candidate that
  // shares the longest prefix with the word.
  std::string by_prefix;
  size_t best_prefix = 0;
  for (const auto& c : candidates) {
    const std::string lc = to_lower(c);
    if (lw.size() < 4 || lc.size() < 4) continue;
    if (lc.find(lw) == std::string::npos && lw.find(lc) == std::string::npos) continue;
    size_t p = 0;
    while (p < lw.size() && p < lc.size() && lw[p] == lc[p]) ++p;
    if (by_prefix.empty() || p > best_prefix) {
      by_prefix = c;
      best_prefix = p;
    }
  }
  if (!by_prefix.empty()) return by_prefix;
  return {};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string quote(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s.substr(0, 200)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  if (s.size() > 200) out += "...";
  out += "\"";
  return out;
}

}  // namespace trellis::base
