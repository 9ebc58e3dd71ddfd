#include "common/number_format.h"

#include <gtest/gtest.h>

#include <limits>

namespace gridrun {
namespace {
namespace number_format_test {

TEST(NumberFormatTest, ShortestDigitsLaidOutAsPythonRepr) {
  EXPECT_EQ(FormatShortestDouble(0.001), "0.001");
  EXPECT_EQ(FormatShortestDouble(2e-4), "0.0002");
  EXPECT_EQ(FormatShortestDouble(1.0), "1");
  EXPECT_EQ(FormatShortestDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatShortestDouble(1e-5), "1e-05");
  EXPECT_EQ(FormatShortestDouble(1e16), "1e+16");
  EXPECT_EQ(FormatShortestDouble(123456789012345.0), "123456789012345");
  EXPECT_EQ(FormatShortestDouble(-0.25), "-0.25");
}

TEST(NumberFormatTest, NonFiniteValues) {
  EXPECT_EQ(FormatShortestDouble(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatShortestDouble(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(FormatShortestDouble(std::numeric_limits<double>::quiet_NaN()), "nan");
}

}  // namespace number_format_test
}  // namespace
}  // namespace gridrun
