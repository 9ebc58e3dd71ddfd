// Random and Sobol points and their mapping onto distributions
// (search/sampler.h), and the search settings' JSON round trip.
#include "search/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "search/search_settings.h"

namespace gridrun::search {
namespace {
namespace sampler_test {

TEST(UnitPointsTest, RandomIsDeterministicInTheSeedAndInRange) {
  auto a = UnitPoints(Strategy::kRandom, 50, 3, 7);
  auto b = UnitPoints(Strategy::kRandom, 50, 3, 7);
  auto c = UnitPoints(Strategy::kRandom, 50, 3, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  for (const auto& p : *a) {
    ASSERT_EQ(p.size(), 3u);
    for (double u : p) {
      EXPECT_GE(u, 0.0);
      EXPECT_LT(u, 1.0);
    }
  }
  // A prefix of a longer run is the shorter run (point i depends on i only).
  auto longer = UnitPoints(Strategy::kRandom, 80, 3, 7);
  ASSERT_TRUE(longer.ok());
  EXPECT_TRUE(std::equal(a->begin(), a->end(), longer->begin()));
}

// The first 2^k Sobol points (rotated) put exactly one point in each of the
// 2^k equal intervals of every coordinate: the property random points lack.
TEST(UnitPointsTest, SobolStratifiesEachCoordinate) {
  auto points = UnitPoints(Strategy::kSobol, 16, 2, 3);
  ASSERT_TRUE(points.ok()) << points.status();
  for (int d = 0; d < 2; ++d) {
    std::set<int> cells;
    for (const auto& p : *points) cells.insert(static_cast<int>(p[d] * 16));
    EXPECT_EQ(cells.size(), 16u) << "dimension " << d;
  }
  EXPECT_EQ(*points, *UnitPoints(Strategy::kSobol, 16, 2, 3));
  EXPECT_NE(*points, *UnitPoints(Strategy::kSobol, 16, 2, 4));
}

TEST(UnitPointsTest, Refusals) {
  EXPECT_FALSE(UnitPoints(Strategy::kGrid, 4, 1, 0).ok());
  EXPECT_FALSE(UnitPoints(Strategy::kSobol, 4, kMaxSobolDimensions + 1, 0).ok());
  EXPECT_FALSE(UnitPoints(Strategy::kRandom, -1, 1, 0).ok());
}

TEST(ShuffledOrderTest, ASeededPermutationIdenticalEverywhere) {
  auto a = ShuffledOrder(30, 7);
  auto b = ShuffledOrder(30, 7);
  auto c = ShuffledOrder(30, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  std::vector<int64_t> sorted = *a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_NE(*a, sorted) << "30 indices left in order by chance";
  // The keys are SHA-256 digests, not a library's shuffle: pinned here (from
  // Python's hashlib, an independent implementation) so a
  // change of platform or library cannot reorder an experiment.
  auto pinned = ShuffledOrder(6, 0);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(*pinned, (std::vector<int64_t>{0, 1, 3, 5, 4, 2}));
  EXPECT_TRUE(ShuffledOrder(0, 1)->empty());
  EXPECT_EQ(ShuffledOrder(-1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MapUnitTest, Distributions) {
  Distribution uniform{Distribution::Kind::kUniform, 0.1, 1.0};
  EXPECT_DOUBLE_EQ(MapUnit(uniform, 0.0), 0.1);
  EXPECT_DOUBLE_EQ(MapUnit(uniform, 0.5), 0.55);
  EXPECT_LE(MapUnit(uniform, 0.9999999999), 1.0);

  Distribution log{Distribution::Kind::kLogUniform, 1e-5, 1e-3};
  EXPECT_DOUBLE_EQ(MapUnit(log, 0.0), 1e-5);
  EXPECT_DOUBLE_EQ(MapUnit(log, 0.5), 1e-4);
  EXPECT_LE(MapUnit(log, 0.999999), 1e-3);

  Distribution ints{Distribution::Kind::kIntRange, 16, 64, /*step=*/16};  // 16 32 48 64
  EXPECT_EQ(MapUnit(ints, 0.0), 16);
  EXPECT_EQ(MapUnit(ints, 0.26), 32);
  EXPECT_EQ(MapUnit(ints, 0.74), 48);
  EXPECT_EQ(MapUnit(ints, 0.99), 64);
  Distribution ragged{Distribution::Kind::kIntRange, 1, 10, 4};  // 1 5 9
  EXPECT_EQ(MapUnit(ragged, 0.99), 9);

  Distribution choice{Distribution::Kind::kChoice, 0, 0, 1, /*choices=*/3};
  EXPECT_EQ(MapUnit(choice, 0.0), 0);
  EXPECT_EQ(MapUnit(choice, 0.5), 1);
  EXPECT_EQ(MapUnit(choice, 0.99), 2);
}

TEST(SearchSettingsTest, JsonRoundTrip) {
  SearchSettings s;
  s.strategy = Strategy::kSobol;
  s.trials = 12;
  s.seed = 99;
  s.scheduler = SchedulerSettings{SchedulerType::kAsha, "fid", Mode::kMin, 2, 3, 3};
  s.stop_rules = {{StopRule::Kind::kNonFinite, "fid"},
                  {StopRule::Kind::kDiverged, "fid", Mode::kMin, 1.5, 3},
                  {StopRule::Kind::kAbove, "test/wasserstein", Mode::kMin, 2, 1, 50}};
  s.keep_best = KeepBest{"mode_coverage", Mode::kMax};
  auto back = SearchSettingsFromJson(SearchSettingsToJson(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(SearchSettingsFromJson("{}").ok());
  EXPECT_FALSE(SearchSettingsFromJson("[").ok());
  EXPECT_TRUE(SearchSettings{}.IsPlainGrid());
  EXPECT_FALSE(s.IsPlainGrid());
}

}  // namespace sampler_test
}  // namespace
}  // namespace gridrun::search
