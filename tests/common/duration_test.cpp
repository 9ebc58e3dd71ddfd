#include "common/duration.h"

#include <gtest/gtest.h>

namespace gridrun {
namespace {
namespace duration_test {

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("2m"), 120'000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3'600'000);
  EXPECT_EQ(*ParseDurationMs("1.5"), 1'500);
}

TEST(DurationTest, RejectsGarbage) {
  for (const char* bad : {"", "abc", "10x", "-5s", "s"}) {
    auto parsed = ParseDurationMs(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().message(),
              std::string("'") + bad + "' is not a duration (use e.g. 30s, 500ms, 2m, 1h)");
  }
}

}  // namespace duration_test
}  // namespace
}  // namespace gridrun
