#include "base/duration.h"

#include <limits>

#include "base/strings.h"

namespace trellis::base {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};

constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1000},  // U+03BC Greek mu
    {"ms", 1000 * 1000},
    {"s", 1000LL * 1000 * 1000},
    {"m", 60LL * 1000 * 1000 * 1000},
    {"h", 3600LL * 1000 * 1000 * 1000},
};


}  // namespace

Result<Duration, std::string> parse_go_duration(std::string_view text) {
  const std::string_view orig = text;
  if (text.empty()) return unexpected(std::string("empty duration"));
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return Duration(0);
  if (text.empty()) return unexpected("invalid duration " + quote(orig));

  // Accumulate in unsigned 64-bit nanoseconds, as Go does, and check against int64 max.
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  while (!text.empty()) {
    // integer part
    uint64_t whole = 0;
    size_t i = 0;
    bool overflow = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (whole > (kMax - (text[i] - '0')) / 10) overflow = true;
      else whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
      ++i;
    }
    const bool had_whole = i > 0;
    // fraction
    uint64_t frac = 0;
    uint64_t scale = 1;
    bool had_frac = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        had_frac = true;
        if (scale < 1000000000000000000ULL) {  // keep 18 digits of precision, drop the rest
          frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
          scale *= 10;
        }
        ++i;
      }
    }
    if (!had_whole && !had_frac) return unexpected("invalid duration " + quote(orig));
    if (overflow) return unexpected("duration out of range: " + quote(orig));
    text.remove_prefix(i);
    // unit
    size_t u = 0;
    while (u < text.size() && text[u] != '.' && (text[u] < '0' || text[u] > '9')) ++u;
    if (u == 0) {
      return unexpected("missing unit in duration " + quote(orig) +
                        " (use one of ns, us, ms, s, m, h, e.g. \"5s\")");
    }
    const std::string_view unit_name = text.substr(0, u);
    int64_t unit = 0;
    for (const auto& candidate : kUnits) {
      if (candidate.name == unit_name) unit = candidate.nanos;
    }
    if (unit == 0) {
      return unexpected("unknown unit " + quote(unit_name) + " in duration " + quote(orig) +
                        " (use one of ns, us, ms, s, m, h)");
    }
    text.remove_prefix(u);
    const uint64_t uunit = static_cast<uint64_t>(unit);
    if (whole > kMax / uunit) return unexpected("duration out of range: " + quote(orig));
    uint64_t v = whole * uunit;
    if (had_frac) {
      // frac/scale * unit, computed without overflow: unit <= 3.6e12, frac < scale <= 1e18.
      const long double f = static_cast<long double>(frac) * static_cast<long double>(uunit) /
                            static_cast<long double>(scale);
      v += static_cast<uint64_t>(f);
    }
    if (v > kMax - total) return unexpected("duration out of range: " + quote(orig));
    total += v;
  }
  const int64_t signed_total = static_cast<int64_t>(total);
  return Duration(negative ? -signed_total : signed_total);
}

std::string format_go_duration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  auto frac_str = [](uint64_t value, uint64_t unit) {
    std::string s = std::to_string(value / unit);
    uint64_t rem = value % unit;
    if (rem != 0) {
      std::string f;
      for (uint64_t div = unit / 10; div > 0; div /= 10) {
        f.push_back(static_cast<char>('0' + (rem / div) % 10));
      }
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return s;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + frac_str(u, 1000) + "us";
  if (u < 1000000000) return sign + frac_str(u, 1000000) + "ms";
  std::string out;
  const uint64_t hours = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  const uint64_t minutes = u / 60000000000ULL;
  u %= 60000000000ULL;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += frac_str(u, 1000000000ULL) + "s";
  return sign + out;
}

}  // namespace trellis::base
