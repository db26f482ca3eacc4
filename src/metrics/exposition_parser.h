#pragma once
// A strict parser of the Prometheus text exposition format 0.0.4, for tests: render a
// registry (or scrape a proxy's :4191/metrics), parse it, and assert on values by name and
// labels. Strict on purpose, so that a malformed line our renderer writes fails the test
// instead of being skipped: bad names, bad escapes, duplicate series, duplicate HELP/TYPE and
// unparsable values are errors naming the line.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trellis::metrics {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // as written, e.g. response_latency_ms_bucket
  Labels labels;     // unescaped
  double value = 0;
};

class Exposition {
 public:
  const std::vector<Sample>& samples() const { return samples_; }
  // From the "# TYPE" and "# HELP" lines (HELP unescaped), if present.
  std::optional<std::string> type(std::string_view family) const;
  std::optional<std::string> help(std::string_view family) const;

  // The value of the sample with exactly these labels.
  std::optional<double> value(std::string_view name, const Labels& labels = {}) const;
  // Samples named `name` whose labels include every entry of `subset`, in text order.
  std::vector<const Sample*> select(std::string_view name, const Labels& subset = {}) const;
  // The sum over select(name, subset); 0 if nothing matches.
  double sum(std::string_view name, const Labels& subset = {}) const;

 private:
  friend base::Result<Exposition, std::string> parse_exposition(std::string_view text);

  std::vector<Sample> samples_;
  std::map<std::string, size_t, std::less<>> index_;  // canonical series key -> samples_ index
  std::map<std::string, std::string, std::less<>> types_;
  std::map<std::string, std::string, std::less<>> helps_;
};

// Errors read "line 3: unterminated label value".
base::Result<Exposition, std::string> parse_exposition(std::string_view text);

}  // namespace trellis::metrics
