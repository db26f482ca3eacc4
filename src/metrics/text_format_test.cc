#include "metrics/text_format.h"

#include <gtest/gtest.h>

#include <limits>

namespace trellis::metrics {
namespace {

std::string escaped(std::string_view v) {
  std::string out;
  append_escaped_label_value(out, v);
  return out;
}

std::string help(std::string_view v) {
  std::string out;
  append_escaped_help(out, v);
  return out;
}

std::string dbl(double v) {
  std::string out;
  append_double(out, v);
  return out;
}

TEST(TextFormatTest, EscapesLabelValues) {
  EXPECT_EQ(escaped("plain"), "plain");
  EXPECT_EQ(escaped(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(escaped(R"(C:\dir)"), R"(C:\\dir)");
  EXPECT_EQ(escaped("two\nlines"), R"(two\nlines)");
  EXPECT_EQ(escaped("\\\"\n"), R"(\\\"\n)");
  // Only these three are escaped; tabs and carriage returns are legal as they are.
  EXPECT_EQ(escaped("a\tb\rc"), "a\tb\rc");
  EXPECT_EQ(escaped(""), "");
}

TEST(TextFormatTest, KeepsValidUtf8) {
  EXPECT_EQ(escaped("caf\xC3\xA9"), "caf\xC3\xA9");                  // é
  EXPECT_EQ(escaped("\xE2\x82\xAC"), "\xE2\x82\xAC");                // €
  EXPECT_EQ(escaped("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");        // emoji
  EXPECT_EQ(escaped("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");        // U+10FFFF
}

TEST(TextFormatTest, ReplacesInvalidUtf8) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("a\xFF" "b"), "a" + r + "b");
  EXPECT_EQ(escaped("\xC3"), r);                                // truncated
  EXPECT_EQ(escaped("\xC3(x"), r + "(x");                       // bad continuation
  EXPECT_EQ(escaped("\xC0\xAF"), r + r);                        // overlong '/'
  EXPECT_EQ(escaped("\xED\xA0\x80"), r + r + r);                // surrogate D800
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), r + r + r + r);        // above U+10FFFF
  EXPECT_EQ(escaped("\x80\"x"), r + "\\\"x");                   // lone continuation
}

TEST(TextFormatTest, EscapesHelp) {
  EXPECT_EQ(help("Total \"requests\""), "Total \"requests\"");  // quotes stay in HELP
  EXPECT_EQ(help("a\\b\nc"), "a\\\\b\\nc");
}

TEST(TextFormatTest, FormatsNumbers) {
  std::string out;
  append_uint(out, 0);
  out += ' ';
  append_uint(out, std::numeric_limits<uint64_t>::max());
  out += ' ';
  append_int(out, -42);
  EXPECT_EQ(out, "0 18446744073709551615 -42");

  EXPECT_EQ(dbl(1), "1");
  EXPECT_EQ(dbl(0), "0");
  EXPECT_EQ(dbl(0.05), "0.05");
  EXPECT_EQ(dbl(2.5), "2.5");
  EXPECT_EQ(dbl(10000), "10000");
  EXPECT_EQ(dbl(50000), "50000");
  EXPECT_EQ(dbl(1e6), "1e+06");
  EXPECT_EQ(dbl(-0.125), "-0.125");
  EXPECT_EQ(dbl(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(dbl(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(dbl(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(dbl(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(TextFormatTest, ValidatesNames) {
  EXPECT_TRUE(valid_metric_name("request_total"));
  EXPECT_TRUE(valid_metric_name("job:rate5m"));
  EXPECT_TRUE(valid_metric_name("_x9"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("9lives"));
  EXPECT_FALSE(valid_metric_name("has-dash"));
  EXPECT_FALSE(valid_metric_name("has space"));

  EXPECT_TRUE(valid_label_name("dst_namespace"));
  EXPECT_TRUE(valid_label_name("_a1"));
  EXPECT_FALSE(valid_label_name(""));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("1a"));
}

}  // namespace
}  // namespace trellis::metrics
