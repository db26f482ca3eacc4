#include "base/quantity.h"

#include <cmath>
#include <limits>

namespace trellis::base {

Result<Quantity, std::string> parse_quantity(std::string_view text) {
  const std::string orig(text);
  auto bad = [&](const std::string& why) {
    return unexpected("invalid quantity \"" + orig + "\": " + why);
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 64) return bad("too long");
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  size_t i = 0;
  std::string digits;
  int frac_digits = 0;
  bool seen_dot = false;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
    if (text[i] == '.') {
      if (seen_dot) return bad("more than one decimal point");
      seen_dot = true;
    } else {
      digits.push_back(text[i]);
      if (seen_dot) ++frac_digits;
    }
    ++i;
  }
  if (digits.empty()) return bad("expected a number, e.g. \"900m\" or \"1\"");
  std::string_view suffix = text.substr(i);
  // Exponent of ten and optional power of two.
  int exp10 = 0;
  int exp2 = 0;
  if (suffix.empty()) {
  } else if (suffix == "n") exp10 = -9;
  else if (suffix == "u") exp10 = -6;
  else if (suffix == "m") exp10 = -3;
  else if (suffix == "k") exp10 = 3;
  else if (suffix == "M") exp10 = 6;
  else if (suffix == "G") exp10 = 9;
  else if (suffix == "T") exp10 = 12;
  else if (suffix == "P") exp10 = 15;
  else if (suffix == "E") exp10 = 18;
  else if (suffix == "Ki") exp2 = 10;
  else if (suffix == "Mi") exp2 = 20;
  else if (suffix == "Gi") exp2 = 30;
  else if (suffix == "Ti") exp2 = 40;
  else if (suffix == "Pi") exp2 = 50;
  else if (suffix == "Ei") exp2 = 60;
  else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string_view e = suffix.substr(1);
    bool eneg = false;
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
      eneg = e[0] == '-';
      e.remove_prefix(1);
    }
    if (e.empty() || e.size() > 3) return bad("invalid exponent");
    int v = 0;
    for (char c : e) {
      if (c < '0' || c > '9') return bad("invalid exponent");
      v = v * 10 + (c - '0');
    }
    exp10 = eneg ? -v : v;
  } else {
    return bad("unknown suffix \"" + std::string(suffix) +
               "\" (use m for thousandths, e.g. \"900m\", or k, M, G, Ki, Mi, Gi)");
  }
  // milli = digits * 10^(exp10 - frac_digits + 3) * 2^exp2, rounded up.
  long double value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  value *= std::pow(10.0L, exp10 - frac_digits + 3);
  value *= std::pow(2.0L, exp2);
  const long double limit = static_cast<long double>(std::numeric_limits<int64_t>::max() / 2);
  if (value > limit) return bad("out of range");
  int64_t milli = static_cast<int64_t>(std::ceil(value - 1e-9L));
  return Quantity{negative ? -milli : milli};
}

}  // namespace trellis::base
