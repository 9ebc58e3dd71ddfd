#include "common/clock.h"

#include <gtest/gtest.h>

namespace gridrun {
namespace {
namespace clock_test {

TEST(ClockTest, FakeClockAdvancesOnlyWhenTold) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.NowMs(), 1000);
  clock.AdvanceMs(250);
  EXPECT_EQ(clock.NowMs(), 1250);
  clock.SetMs(5);
  EXPECT_EQ(clock.NowMs(), 5);
}

TEST(ClockTest, SystemClockIsNearWallTime) {
  const int64_t now = SystemClock::Get()->NowMs();
  EXPECT_GT(now, 1'600'000'000'000);  // after 2020
  EXPECT_LE(now, SystemClock::Get()->NowMs());
}

}  // namespace clock_test
}  // namespace
}  // namespace gridrun
