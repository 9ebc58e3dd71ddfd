// The median stopping rule and the single-trial stops on scripted curves
// (search/stop_rules.h).
#include "search/stop_rules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace gridrun::search {
namespace {
namespace stop_rules_test {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(MedianRuleTest, StopsWhenBestIsWorseThanMedianOfRunningMeans) {
  MedianRuleConfig config{Mode::kMin, /*min_epochs=*/2, /*min_trials=*/3};
  // Running means at epoch 2: 1.5, 2.5, 3.5 -> median 2.5.
  const std::vector<Curve> others = {{{1, 2}, {2, 1}}, {{1, 3}, {2, 2}}, {{1, 4}, {2, 3}}};
  // Best 2.6 > 2.5: stop.
  auto reason = MedianRuleStop(config, "fid", {{1, 2.6}, {2, 2.8}}, 2, others);
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("median 2.5 of 3"), std::string::npos) << *reason;
  EXPECT_NE(reason->find("best fid 2.6 up to epoch 2"), std::string::npos) << *reason;
  // Best 2.5 equals the median: continue.
  EXPECT_FALSE(MedianRuleStop(config, "fid", {{1, 2.5}, {2, 2.9}}, 2, others));
  // Best 2.4: continue.
  EXPECT_FALSE(MedianRuleStop(config, "fid", {{1, 9}, {2, 2.4}}, 2, others));
}

TEST(MedianRuleTest, ModeMaxAndEvenCount) {
  MedianRuleConfig config{Mode::kMax, 1, 3};
  // Means at epoch 1: 1, 2, 3, 4 -> median 2.5.
  const std::vector<Curve> others = {{{1, 1}}, {{1, 2}}, {{1, 3}}, {{1, 4}}};
  EXPECT_TRUE(MedianRuleStop(config, "acc", {{1, 2.4}}, 1, others));
  EXPECT_FALSE(MedianRuleStop(config, "acc", {{1, 2.6}}, 1, others));
}

TEST(MedianRuleTest, WaitsForMinEpochsAndMinTrials) {
  MedianRuleConfig config{Mode::kMin, 3, 3};
  const std::vector<Curve> others = {{{1, 1}, {2, 1}, {3, 1}}, {{1, 1}, {2, 1}, {3, 1}},
                                     {{1, 1}, {2, 1}}};  // the third has no epoch 3
  const Curve bad = {{1, 9}, {2, 9}, {3, 9}};
  EXPECT_FALSE(MedianRuleStop(config, "fid", bad, 2, others));  // before min_epochs
  EXPECT_FALSE(MedianRuleStop(config, "fid", bad, 3, others));  // 2 trials reached 3
  auto more = others;
  more.push_back({{1, 1}, {2, 1}, {3, 1}});
  EXPECT_TRUE(MedianRuleStop(config, "fid", bad, 3, more));
}

TEST(StopRuleTest, NonFinite) {
  StopRule rule{StopRule::Kind::kNonFinite, "fid"};
  EXPECT_FALSE(CheckStopRule(rule, {{1, 3.0}}, 1));
  auto reason = CheckStopRule(rule, {{1, 3.0}, {2, kNaN}}, 2);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "fid is nan at epoch 2");
  EXPECT_TRUE(CheckStopRule(rule, {{1, kInf}}, 1));
}

TEST(StopRuleTest, Bounds) {
  StopRule above{StopRule::Kind::kAbove, "test/wasserstein"};
  above.bound = 50;
  EXPECT_FALSE(CheckStopRule(above, {{1, 50}}, 1));
  EXPECT_EQ(CheckStopRule(above, {{1, 50.5}}, 1), "test/wasserstein 50.5 at epoch 1 is above 50");
  StopRule below{StopRule::Kind::kBelow, "mode_coverage"};
  below.bound = 3;
  EXPECT_FALSE(CheckStopRule(below, {{4, 3}}, 4));
  EXPECT_TRUE(CheckStopRule(below, {{4, 2}}, 4));
}

// WGAN-like divergence: best at epoch 3, then worse by more than x1.5 for 3
// epochs running.
TEST(StopRuleTest, DivergedAfterPatienceEpochs) {
  StopRule rule{StopRule::Kind::kDiverged, "fid", Mode::kMin, /*factor=*/1.5, /*epochs=*/3};
  Curve fid = {{1, 40}, {2, 20}, {3, 10}, {4, 16}, {5, 14}, {6, 17}, {7, 18}};
  EXPECT_FALSE(CheckStopRule(rule, fid, 4));  // 16 > 15 but only 1 epoch
  EXPECT_FALSE(CheckStopRule(rule, fid, 5));  // 14 <= 15 breaks the run
  EXPECT_FALSE(CheckStopRule(rule, fid, 6));  // run of 1
  fid[8] = 30;
  fid[9] = 31;
  EXPECT_FALSE(CheckStopRule(rule, fid, 7));  // run 6,7: 2 epochs
  auto reason = CheckStopRule(rule, fid, 8);  // run 6,7,8
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason,
            "fid diverged: worse than its best 10 (epoch 3) by more than x1.5 for 3 epochs "
            "(now 30 at epoch 8)");
}

TEST(StopRuleTest, DivergedModeMaxAndNonFiniteCountsAsWorse) {
  StopRule rule{StopRule::Kind::kDiverged, "mode_coverage", Mode::kMax, 2.0, 2};
  // best 8; worse by x2 means below 8 - 8 = 0.
  EXPECT_FALSE(CheckStopRule(rule, {{1, 8}, {2, 1}, {3, 1}}, 3));
  EXPECT_TRUE(CheckStopRule(rule, {{1, 8}, {2, -1}, {3, kNaN}}, 3));
}

TEST(StopRuleTest, FirstMatchingRuleInOrderAndMissingMetricsSkipped) {
  std::vector<StopRule> rules = {{StopRule::Kind::kNonFinite, "loss/g"},
                                 {StopRule::Kind::kNonFinite, "fid"},
                                 {StopRule::Kind::kAbove, "fid", Mode::kMin, 2, 1, 100}};
  std::map<std::string, Curve> curves = {{"fid", {{1, kInf}}}};
  EXPECT_EQ(CheckStopRules(rules, curves, 1), "fid is inf at epoch 1");
  curves["fid"] = {{1, 150}};
  EXPECT_EQ(CheckStopRules(rules, curves, 1), "fid 150 at epoch 1 is above 100");
  curves["fid"] = {{1, 50}};
  EXPECT_FALSE(CheckStopRules(rules, curves, 1));
}

TEST(BestEpochTest, EarliestBestFiniteValue) {
  EXPECT_EQ(BestEpoch(Mode::kMin, {{1, 5}, {2, 3}, {3, 3}, {4, kNaN}}), 2);
  EXPECT_EQ(BestEpoch(Mode::kMax, {{1, 5}, {2, 3}}), 1);
  EXPECT_FALSE(BestEpoch(Mode::kMin, {{1, kNaN}}));
}

}  // namespace stop_rules_test
}  // namespace
}  // namespace gridrun::search
