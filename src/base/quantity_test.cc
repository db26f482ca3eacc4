#include "base/quantity.h"

#include <gtest/gtest.h>

namespace trellis::base {
namespace {

TEST(Quantity, ParsesMilliAndPlainValues) {
  EXPECT_EQ(parse_quantity("900m")->milli, 900);
  EXPECT_EQ(parse_quantity("100m")->milli, 100);
  EXPECT_EQ(parse_quantity("0m")->milli, 0);
  EXPECT_EQ(parse_quantity("1000m")->milli, 1000);
  EXPECT_EQ(parse_quantity("1")->milli, 1000);
  EXPECT_EQ(parse_quantity("0.5")->milli, 500);
  EXPECT_EQ(parse_quantity("1.5k")->milli, 1500000);
  EXPECT_EQ(parse_quantity("2Ki")->milli, 2048000);
  EXPECT_EQ(parse_quantity("1e3")->milli, 1000000);
  EXPECT_EQ(parse_quantity("-2")->milli, -2000);
  EXPECT_EQ(parse_quantity("1500u")->milli, 2);  // rounds up, like MilliValue()
}

TEST(Quantity, RejectsWithAReason) {
  EXPECT_EQ(parse_quantity("90%").error(),
            "invalid quantity \"90%\": unknown suffix \"%\" (use m for thousandths, e.g. "
            "\"900m\", or k, M, G, Ki, Mi, Gi)");
  EXPECT_EQ(parse_quantity("").error(), "invalid quantity \"\": empty");
  EXPECT_EQ(parse_quantity("m").error(),
            "invalid quantity \"m\": expected a number, e.g. \"900m\" or \"1\"");
  EXPECT_FALSE(parse_quantity("1.2.3").ok());
  EXPECT_FALSE(parse_quantity("1e999").ok());
  EXPECT_FALSE(parse_quantity("99999999999999999999E").ok());
}

}  // namespace
}  // namespace trellis::base
