// DownsampleMinMax: short curves unchanged; long ones bounded, a subsequence
// in step order, keeping the ends, every extreme, and NaN gaps.
#include "coordinator/curve_downsample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace gridrun::coordinator {
namespace {
namespace curve_downsample_test {

std::vector<MetricSample> Curve(int n) {
  std::vector<MetricSample> points;
  for (int i = 0; i < n; ++i) points.push_back({i * 10, i / 100, std::sin(i / 50.0)});
  return points;
}

TEST(CurveDownsampleTest, ShortCurvesComeBackUnchanged) {
  const auto points = Curve(100);
  const auto out = DownsampleMinMax(points, 100);
  ASSERT_EQ(out.size(), 100u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].step, points[i].step);
  EXPECT_TRUE(DownsampleMinMax({}, 10).empty());
}

TEST(CurveDownsampleTest, LongCurvesAreBoundedOrderedAndKeepEndsAndSpikes) {
  auto points = Curve(1'000'000);
  points[123'457].value = 50.0;   // a spike up
  points[654'321].value = -50.0;  // and down
  const auto out = DownsampleMinMax(points, 2000);
  EXPECT_LE(out.size(), 2000u);
  EXPECT_GT(out.size(), 1000u);
  EXPECT_EQ(out.front().step, points.front().step);
  EXPECT_EQ(out.back().step, points.back().step);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(),
                             [](const auto& a, const auto& b) { return a.step < b.step; }));
  EXPECT_TRUE(std::adjacent_find(out.begin(), out.end(), [](const auto& a, const auto& b) {
                return a.step == b.step;
              }) == out.end());
  auto has_step = [&](int64_t step) {
    return std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.step == step; });
  };
  EXPECT_TRUE(has_step(1'234'570));
  EXPECT_TRUE(has_step(6'543'210));
}

TEST(CurveDownsampleTest, AllNaNBucketsKeepAGapAndTinyLimitsActAsFour) {
  auto points = Curve(1000);
  for (int i = 400; i < 600; ++i) points[i].value = std::nullopt;
  const auto out = DownsampleMinMax(points, 20);
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](const auto& p) { return !p.value; }));
  EXPECT_LE(DownsampleMinMax(points, 1).size(), 4u);
}

}  // namespace curve_downsample_test
}  // namespace
}  // namespace gridrun::coordinator
