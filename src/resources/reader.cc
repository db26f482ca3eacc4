#include "resources/reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "base/strings.h"

namespace trellis::resources {
namespace {

using base::quote;

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}


bool parse_int(const std::string& text, int64_t& out) {
  std::string s;
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  if (s.empty()) return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  } else if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'o')) {
    base = 8;
    i += 2;
  } else if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'b')) {
    base = 2;
    i += 2;
  } else if (s.size() > i + 1 && s[i] == '0') {
    base = 8;  // YAML 1.1 octal, as go-yaml v2 reads it
  }
  if (i >= s.size()) return false;
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    int d;
    const char c = s[i];
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (d >= base) return false;
    v = v * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    if (v > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max()) + 1) return false;
  }
  if (!neg && v > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) return false;
  out = neg ? static_cast<int64_t>(-static_cast<__int128>(v)) : static_cast<int64_t>(v);
  return true;
}

bool looks_like_float(const std::string& s) {
  // [-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+][0-9]+)?  and .inf / .nan
  static const char* kSpecial[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
                                   "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"};
  for (const char* sp : kSpecial) {
    if (s == sp) return true;
  }
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool digits = false;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
    digits = true;
    ++i;
  }
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
      digits = true;
      ++i;
    }
  }
  if (!digits) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    bool exp_digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      exp_digits = true;
      ++i;
    }
    if (!exp_digits) return false;
  } else if (!dot) {
    return false;  // plain integer, not a float
  }
  return i == s.size();
}

}  // namespace

const char* scalar_type_name(ScalarType t) {
  switch (t) {
    case ScalarType::kNull: return "null";
    case ScalarType::kBool: return "boolean";
    case ScalarType::kInt: return "integer";
    case ScalarType::kFloat: return "number";
    case ScalarType::kString: return "string";
  }
  return "value";
}

ScalarType resolve_scalar(const std::string& text, bool plain) {
  if (!plain) return ScalarType::kString;
  static const char* kNull[] = {"", "~", "null", "Null", "NULL"};
  for (const char* n : kNull) {
    if (text == n) return ScalarType::kNull;
  }
  static const char* kBool[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                "true", "True", "TRUE", "false", "False", "FALSE",
                                "on", "On", "ON", "off", "Off", "OFF"};
  for (const char* b : kBool) {
    if (text == b) return ScalarType::kBool;
  }
  int64_t ignored;
  if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' ||
                        text[0] == '+') &&
      parse_int(text, ignored)) {
    return ScalarType::kInt;
  }
  if (looks_like_float(text)) return ScalarType::kFloat;
  return ScalarType::kString;
}

std::string join_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (is_identifier(key)) {
    if (!out.empty()) out += ".";
    out += key;
  } else {
    out += "[" + quote(key) + "]";
  }
  return out;
}

std::string index_path(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Location DecodeContext::location(const YAML::Mark& mark) const {
  Location loc;
  loc.file = file;
  if (mark.line >= 0) loc.line = mark.line + 1 + line_offset;
  if (mark.column >= 0) loc.column = mark.column + 1;
  return loc;
}

Node::Node(DecodeContext& ctx, YAML::Node node, std::string path)
    : ctx_(&ctx), node_(std::move(node)), path_(std::move(path)) {
  if (node_.IsMap()) check_keys();
}

Node Node::child(const YAML::Node& node, std::string path) const {
  return Node(*ctx_, node, std::move(path));
}

bool Node::spend_budget() const {
  if (ctx_->node_budget == 0) {
    if (!ctx_->budget_reported) {
      ctx_->budget_reported = true;
      error("document is too large or too deeply aliased to validate (node budget exhausted)");
    }
    return false;
  }
  --ctx_->node_budget;
  return true;
}

void Node::check_keys() {
  std::map<std::string, int> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) {
      ctx_->diags.error(ctx_->location(it->first.Mark()), ctx_->object, path_,
                        "map keys must be strings");
      continue;
    }
    const std::string& key = it->first.Scalar();
    auto [pos, inserted] = seen.emplace(key, it->first.Mark().line + 1 + ctx_->line_offset);
    if (!inserted) {
      ctx_->diags.error(ctx_->location(it->first.Mark()), ctx_->object, join_path(path_, key),
                        "duplicate field " + quote(key) + " (first defined on line " +
                            std::to_string(pos->second) + ")");
    }
  }
}

Location Node::location() const { return ctx_->location(node_.Mark()); }

bool Node::is_null() const {
  if (!node_.IsDefined() || node_.IsNull()) return true;
  return node_.IsScalar() && scalar_type() == ScalarType::kNull;
}

ScalarType Node::scalar_type() const {
  if (!node_.IsDefined() || node_.IsNull()) return ScalarType::kNull;
  if (!node_.IsScalar()) return ScalarType::kString;
  return resolve_scalar(node_.Scalar(), node_.Tag() != "!");
}

const std::string& Node::scalar() const {
  static const std::string kEmpty;
  return node_.IsScalar() ? node_.Scalar() : kEmpty;
}

std::string Node::describe() const {
  if (node_.IsMap()) return "a map";
  if (node_.IsSequence()) return "a list";
  if (is_null()) return "null";
  const ScalarType t = scalar_type();
  if (t == ScalarType::kString) return "the string " + quote(scalar());
  return std::string(t == ScalarType::kInt ? "the integer " : t == ScalarType::kBool ? "the boolean " : "the number ") +
         scalar();
}

void Node::error(std::string message) const {
  ctx_->diags.error(location(), ctx_->object, path_, std::move(message));
}

void Node::warning(std::string message) const {
  ctx_->diags.warning(location(), ctx_->object, path_, std::move(message));
}

void Node::error_at(std::string_view key, std::string message) const {
  Location loc = location();
  if (auto e = find(key)) loc = ctx_->location(e->key.Mark());
  ctx_->diags.error(loc, ctx_->object, join_path(path_, key), std::move(message));
}

void Node::warning_at(std::string_view key, std::string message) const {
  Location loc = location();
  if (auto e = find(key)) loc = ctx_->location(e->key.Mark());
  ctx_->diags.warning(loc, ctx_->object, join_path(path_, key), std::move(message));
}

// ---- scalars ----

std::optional<std::string> Node::as_string() const {
  if (!node_.IsScalar()) {
    error("expected a string, got " + describe());
    return std::nullopt;
  }
  const ScalarType t = scalar_type();
  if (t != ScalarType::kString) {
    error("expected a string, got " + describe() + " (quote it: \"" + scalar() + "\")");
    return std::nullopt;
  }
  return scalar();
}

std::optional<int64_t> Node::as_integer(int64_t min, int64_t max) const {
  const ScalarType t = node_.IsScalar() ? scalar_type() : ScalarType::kNull;
  int64_t v = 0;
  if (!node_.IsScalar() || t != ScalarType::kInt || !parse_int(scalar(), v)) {
    if (node_.IsScalar() && t == ScalarType::kFloat) {
      double d = std::strtod(scalar().c_str(), nullptr);
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
        v = static_cast<int64_t>(d);
      } else {
        error("expected an integer, got " + describe());
        return std::nullopt;
      }
    } else {
      error("expected an integer, got " + describe());
      return std::nullopt;
    }
  }
  if (v < min || v > max) {
    error("value " + std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
          std::to_string(max) + "]");
    return std::nullopt;
  }
  return v;
}

std::optional<double> Node::as_number() const {
  const ScalarType t = node_.IsScalar() ? scalar_type() : ScalarType::kNull;
  if (t == ScalarType::kInt) {
    int64_t v = 0;
    if (parse_int(scalar(), v)) return static_cast<double>(v);
  }
  if (t == ScalarType::kFloat) {
    std::string s;
    for (char c : scalar()) {
      if (c != '_') s.push_back(c);
    }
    if (s.find("inf") != std::string::npos || s.find("Inf") != std::string::npos ||
        s.find("INF") != std::string::npos || s.find("nan") != std::string::npos ||
        s.find("NaN") != std::string::npos || s.find("NAN") != std::string::npos) {
      error("expected a finite number, got " + scalar());
      return std::nullopt;
    }
    errno = 0;
    double d = std::strtod(s.c_str(), nullptr);
    if (errno == ERANGE || !std::isfinite(d)) {
      error("number out of range: " + scalar());
      return std::nullopt;
    }
    return d;
  }
  error("expected a number, got " + describe());
  return std::nullopt;
}

std::optional<bool> Node::as_bool() const {
  if (node_.IsScalar() && scalar_type() == ScalarType::kBool) {
    const std::string& s = scalar();
    return s == "y" || s == "Y" || s == "yes" || s == "Yes" || s == "YES" || s == "true" ||
           s == "True" || s == "TRUE" || s == "on" || s == "On" || s == "ON";
  }
  error("expected a boolean (true or false), got " + describe());
  return std::nullopt;
}

std::optional<base::Duration> Node::as_duration() const {
  if (!node_.IsScalar() || is_null() || scalar_type() == ScalarType::kBool) {
    error("expected a duration such as \"5s\" or \"1m30s\", got " + describe());
    return std::nullopt;
  }
  auto d = base::parse_go_duration(scalar());
  if (!d) {
    error(d.error());
    return std::nullopt;
  }
  return *d;
}

std::optional<base::Quantity> Node::as_quantity() const {
  const ScalarType t = node_.IsScalar() ? scalar_type() : ScalarType::kNull;
  if (t != ScalarType::kInt && t != ScalarType::kFloat && t != ScalarType::kString) {
    error("expected a quantity such as 1 or \"900m\", got " + describe());
    return std::nullopt;
  }
  auto q = base::parse_quantity(scalar());
  if (!q) {
    error(q.error());
    return std::nullopt;
  }
  return *q;
}

std::optional<std::string> Node::as_enum(const std::vector<std::string>& allowed) const {
  auto s = as_string();
  if (!s) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return s;
  std::string msg = "unsupported value " + quote(*s) + "; expected one of: " + base::join(allowed, ", ");
  const std::string near = base::closest_match(*s, allowed);
  if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
  error(msg);
  return std::nullopt;
}

// ---- maps ----

std::string Node::child_path(std::string_view key) const { return join_path(path_, key); }

std::optional<Node::Entry> Node::find(std::string_view key) const {
  if (!node_.IsMap()) return std::nullopt;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return Entry{it->first, it->second};
  }
  return std::nullopt;
}

bool Node::has(std::string_view key) const {
  auto e = find(key);
  return e && !e->value.IsNull();
}

std::optional<Node> Node::get(std::string_view key, Req req) {
  known_.emplace_back(key);
  auto e = find(key);
  if (!e || e->value.IsNull()) {
    if (req == kRequired) {
      ctx_->diags.error(location(), ctx_->object, child_path(key), "missing required field");
    }
    return std::nullopt;
  }
  if (!spend_budget()) return std::nullopt;
  return child(e->value, child_path(key));
}

void Node::ignore(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) known_.emplace_back(k);
}

void Node::suggest(std::string_view wrong_key, std::string hint) {
  hints_[std::string(wrong_key)] = std::move(hint);
}

std::optional<Node> Node::accept_variant(std::string_view variant, std::string_view canonical,
                                         std::string warning_text) {
  known_.emplace_back(variant);
  auto e = find(variant);
  if (!e) return std::nullopt;
  Location loc = ctx_->location(e->key.Mark());
  YAML::Node copy = e->value;
  if (has(canonical)) {
    ctx_->diags.error(loc, ctx_->object, child_path(variant),
                      "both " + quote(variant) + " and " + quote(canonical) +
                          " are set; remove " + quote(variant));
    return std::nullopt;
  }
  ctx_->diags.warning(loc, ctx_->object, child_path(variant), std::move(warning_text));
  if (copy.IsNull()) return std::nullopt;
  return child(copy, child_path(variant));
}

void Node::finish() {
  if (finished_ || !node_.IsMap()) return;
  finished_ = true;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string msg = "unknown field " + quote(key);
    auto hint = hints_.find(key);
    if (hint != hints_.end()) {
      msg += "; " + hint->second;
    } else {
      std::vector<std::string> candidates(known_.begin(), known_.end());
      const std::string near = base::closest_match(key, candidates);
      if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
    }
    ctx_->diags.error(ctx_->location(it->first.Mark()), ctx_->object, child_path(key), msg);
  }
}

std::optional<std::string> Node::str(std::string_view key, Req req) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_string();
}

std::optional<int64_t> Node::integer(std::string_view key, Req req, int64_t min, int64_t max) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_integer(min, max);
}

std::optional<double> Node::number(std::string_view key, Req req) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_number();
}

std::optional<bool> Node::boolean(std::string_view key, Req req) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_bool();
}

std::optional<base::Duration> Node::duration(std::string_view key, Req req) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_duration();
}

std::optional<base::Quantity> Node::quantity(std::string_view key, Req req) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_quantity();
}

std::optional<std::string> Node::one_of(std::string_view key, const std::vector<std::string>& allowed,
                                        Req req) {
  auto n = get(key, req);
  if (!n) return std::nullopt;
  return n->as_enum(allowed);
}

std::vector<std::string> Node::strings(std::string_view key, Req req) {
  std::vector<std::string> out;
  each(key, req, [&](Node& item) {
    if (auto s = item.as_string()) out.push_back(*s);
  });
  return out;
}

std::map<std::string, std::string> Node::string_map(std::string_view key, Req req) {
  std::map<std::string, std::string> out;
  auto n = get(key, req);
  if (!n) return out;
  if (!n->is_map()) {
    n->error("expected a map of strings, got " + n->describe());
    return out;
  }
  for (auto it = n->node_.begin(); it != n->node_.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    if (!n->spend_budget()) break;
    Node value = n->child(it->second, join_path(n->path_, it->first.Scalar()));
    if (value.is_null()) {
      out[it->first.Scalar()] = "";
      continue;
    }
    if (auto s = value.as_string()) out[it->first.Scalar()] = *s;
  }
  return out;
}

bool Node::object(std::string_view key, Req req, const std::function<void(Node&)>& fn) {
  auto n = get(key, req);
  if (!n) return false;
  if (!n->is_map()) {
    n->error("expected a map, got " + n->describe());
    return false;
  }
  fn(*n);
  n->finish();
  return true;
}

size_t Node::each(std::string_view key, Req req, const std::function<void(Node&)>& fn) {
  auto n = get(key, req);
  if (!n) return 0;
  if (!n->is_sequence()) {
    n->error("expected a list, got " + n->describe());
    return 0;
  }
  size_t i = 0;
  for (auto it = n->node_.begin(); it != n->node_.end(); ++it, ++i) {
    if (!n->spend_budget()) break;
    Node item = n->child(*it, index_path(n->path_, i));
    fn(item);
  }
  return i;
}

size_t Node::each_object(std::string_view key, Req req, const std::function<void(Node&)>& fn) {
  return each(key, req, [&](Node& item) {
    if (!item.is_map()) {
      item.error("expected a map, got " + item.describe());
      return;
    }
    fn(item);
    item.finish();
  });
}

}  // namespace trellis::resources
