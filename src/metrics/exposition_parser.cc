#include "metrics/exposition_parser.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace trellis::metrics {
namespace {

using base::unexpected;

// Unambiguous key for (name, labels): NUL separators, and labels are already sorted.
std::string series_key(std::string_view name, const Labels& labels) {
  std::string key(name);
  for (const auto& [k, v] : labels) {
    key += '\0';
    key += k;
    key += '\0';
    key += std::to_string(v.size());
    key += ':';
    key += v;
  }
  return key;
}

bool is_name_char(char c, bool first, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (allow_colon && c == ':') || (!first && c >= '0' && c <= '9');
}

// A cursor over one line.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  bool done() const { return i >= s.size(); }
  char peek() const { return s[i]; }
  void skip_blanks() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  std::string_view name(bool allow_colon) {
    const size_t start = i;
    while (!done() && is_name_char(s[i], i == start, allow_colon)) ++i;
    return s.substr(start, i - start);
  }
  std::string_view token() {
    const size_t start = i;
    while (!done() && s[i] != ' ' && s[i] != '\t') ++i;
    return s.substr(start, i - start);
  }
};

std::optional<double> parse_value(std::string_view t) {
  if (t == "+Inf" || t == "Inf") return std::numeric_limits<double>::infinity();
  if (t == "-Inf") return -std::numeric_limits<double>::infinity();
  if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
  // One optional sign, then a digit or '.': from_chars alone would also take "inf", "nan"
  // and "infinity", which the format spells as above, and it knows no '+'.
  const bool plus = !t.empty() && t[0] == '+';
  if (plus) t.remove_prefix(1);
  const size_t first = !plus && !t.empty() && t[0] == '-' ? 1 : 0;
  if (first >= t.size() || !(t[first] == '.' || (t[first] >= '0' && t[first] <= '9'))) {
    return std::nullopt;
  }
  double v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
  return v;
}

// Parses `{a="x",b="y"}` (trailing comma allowed) at the cursor, which is on the '{'.
base::Result<Labels, std::string> parse_labels(Cursor& c) {
  Labels labels;
  ++c.i;  // '{'
  while (true) {
    c.skip_blanks();
    if (c.done()) return unexpected(std::string("unterminated label set"));
    if (c.peek() == '}') {
      ++c.i;
      return labels;
    }
    const std::string_view label = c.name(false);
    if (label.empty()) return unexpected(std::string("invalid label name"));
    c.skip_blanks();
    if (c.done() || c.peek() != '=') {
      return unexpected("expected '=' after label " + std::string(label));
    }
    ++c.i;
    c.skip_blanks();
    if (c.done() || c.peek() != '"') {
      return unexpected("expected '\"' to open the value of label " + std::string(label));
    }
    ++c.i;
    std::string value;
    bool closed = false;
    while (!c.done()) {
      const char ch = c.s[c.i++];
      if (ch == '"') {
        closed = true;
        break;
      }
      if (ch != '\\') {
        value += ch;
        continue;
      }
      if (c.done()) break;
      const char esc = c.s[c.i++];
      if (esc == '\\') value += '\\';
      else if (esc == '"') value += '"';
      else if (esc == 'n') value += '\n';
      else return unexpected("invalid escape \\" + std::string(1, esc) + " in label value");
    }
    if (!closed) return unexpected(std::string("unterminated label value"));
    if (!labels.emplace(std::string(label), std::move(value)).second) {
      return unexpected("duplicate label " + std::string(label));
    }
    c.skip_blanks();
    if (c.done()) return unexpected(std::string("unterminated label set"));
    if (c.peek() == ',') {
      ++c.i;
    } else if (c.peek() != '}') {
      return unexpected(std::string("expected ',' or '}' after a label value"));
    }
  }
}

std::string unescape_help(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
      out += s[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> Exposition::type(std::string_view family) const {
  const auto it = types_.find(family);
  if (it == types_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Exposition::help(std::string_view family) const {
  const auto it = helps_.find(family);
  if (it == helps_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> Exposition::value(std::string_view name, const Labels& labels) const {
  const auto it = index_.find(series_key(name, labels));
  if (it == index_.end()) return std::nullopt;
  return samples_[it->second].value;
}

std::vector<const Sample*> Exposition::select(std::string_view name,
                                              const Labels& subset) const {
  std::vector<const Sample*> out;
  for (const Sample& sample : samples_) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : subset) {
      const auto it = sample.labels.find(k);
      if (it == sample.labels.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (match) out.push_back(&sample);
  }
  return out;
}

double Exposition::sum(std::string_view name, const Labels& subset) const {
  double total = 0;
  for (const Sample* sample : select(name, subset)) total += sample->value;
  return total;
}

base::Result<Exposition, std::string> parse_exposition(std::string_view text) {
  Exposition exp;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    auto fail = [line_no](const std::string& what) {
      return unexpected("line " + std::to_string(line_no) + ": " + what);
    };

    Cursor c{line};
    c.skip_blanks();
    if (c.done()) continue;
    if (c.peek() == '#') {
      ++c.i;
      c.skip_blanks();
      const std::string_view keyword = c.token();
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
      c.skip_blanks();
      const std::string_view family = c.name(true);
      if (family.empty()) return fail("invalid metric name in " + std::string(keyword));
      if (!c.done() && c.peek() != ' ' && c.peek() != '\t') {
        return fail("invalid metric name in " + std::string(keyword));
      }
      if (keyword == "HELP") {
        if (!c.done()) ++c.i;  // the one space before the text
        if (!exp.helps_.emplace(std::string(family), unescape_help(line.substr(c.i))).second) {
          return fail("second HELP for " + std::string(family));
        }
      } else {
        c.skip_blanks();
        const std::string_view type = c.token();
        c.skip_blanks();
        if (!c.done()) return fail("trailing text after TYPE");
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped") {
          return fail("unknown metric type \"" + std::string(type) + "\"");
        }
        if (!exp.types_.emplace(std::string(family), std::string(type)).second) {
          return fail("second TYPE for " + std::string(family));
        }
      }
      continue;
    }

    Sample sample;
    sample.name = std::string(c.name(true));
    if (sample.name.empty()) return fail("invalid metric name");
    if (!c.done() && c.peek() == '{') {
      auto labels = parse_labels(c);
      if (!labels.ok()) return fail(labels.error());
      sample.labels = std::move(labels).value();
    }
    if (c.done() || (c.peek() != ' ' && c.peek() != '\t')) {
      return fail("expected a space before the value");
    }
    c.skip_blanks();
    const auto value = parse_value(c.token());
    if (!value) return fail("invalid sample value");
    sample.value = *value;
    c.skip_blanks();
    if (!c.done()) {  // optional timestamp in milliseconds
      const std::string_view ts = c.token();
      int64_t ms = 0;
      const auto r = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
      if (r.ec != std::errc() || r.ptr != ts.data() + ts.size()) {
        return fail("invalid timestamp");
      }
      c.skip_blanks();
      if (!c.done()) return fail("trailing text after the sample");
    }
    std::string key = series_key(sample.name, sample.labels);
    if (!exp.index_.emplace(std::move(key), exp.samples_.size()).second) {
      return fail("duplicate series " + sample.name);
    }
    exp.samples_.push_back(std::move(sample));
  }
  return exp;
}

}  // namespace trellis::metrics
