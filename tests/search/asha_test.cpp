// ASHA's promotions step by step on scripted arrivals (search/asha.h).
#include "search/asha.h"

#include <gtest/gtest.h>

#include <vector>

namespace gridrun::search {
namespace {
namespace asha_test {

using Kind = AshaDecision::Kind;

AshaScheduler Make(int rf, Mode mode, int64_t min_epochs = 1, int64_t max_epochs = 27) {
  auto s = AshaScheduler::Create(AshaConfig{min_epochs, rf, max_epochs, mode});
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

std::vector<AshaDecision> Report(AshaScheduler& s, int64_t trial, int rung, double value) {
  auto decisions = s.Report(trial, rung, value);
  EXPECT_TRUE(decisions.ok()) << decisions.status();
  return decisions.ok() ? *decisions : std::vector<AshaDecision>{};
}

AshaDecision Promote(int64_t trial, int rung) { return {trial, rung, Kind::kPromote}; }
AshaDecision Pause(int64_t trial, int rung) { return {trial, rung, Kind::kPause}; }

TEST(RungEpochsTest, GeometricBelowMax) {
  EXPECT_EQ(RungEpochs({1, 3, 27, Mode::kMin}), (std::vector<int64_t>{1, 3, 9}));
  EXPECT_EQ(RungEpochs({1, 3, 28, Mode::kMin}), (std::vector<int64_t>{1, 3, 9, 27}));
  EXPECT_EQ(RungEpochs({2, 2, 16, Mode::kMin}), (std::vector<int64_t>{2, 4, 8}));
  EXPECT_EQ(RungEpochs({5, 2, 5, Mode::kMin}), (std::vector<int64_t>{}));
  EXPECT_EQ(RungEpochs({1, 2, 2, Mode::kMin}), (std::vector<int64_t>{1}));
}

TEST(AshaTest, CreateRefusesBadSettings) {
  EXPECT_FALSE(AshaScheduler::Create({1, 1, 9, Mode::kMin}).ok());
  EXPECT_FALSE(AshaScheduler::Create({0, 3, 9, Mode::kMin}).ok());
  EXPECT_FALSE(AshaScheduler::Create({1, 3, 0, Mode::kMin}).ok());
}

TEST(AshaTest, NextStopEpochWalksTheRungsThenTheEnd) {
  AshaScheduler s = Make(3, Mode::kMin);
  EXPECT_EQ(s.NextStopEpoch(0), 1);
  EXPECT_EQ(s.NextStopEpoch(1), 3);
  EXPECT_EQ(s.NextStopEpoch(2), 9);
  EXPECT_EQ(s.NextStopEpoch(3), 27);
  EXPECT_EQ(s.RungAt(9), 2);
  EXPECT_EQ(s.RungAt(4), -1);
}

// rf 3, mode min: the first two arrivals pause; the third makes one
// promotable: the best of the three (here the first, a late promotion).
TEST(AshaTest, ReductionFactor3PromotesTheBestOfThreeLate) {
  AshaScheduler s = Make(3, Mode::kMin);
  EXPECT_EQ(Report(s, 10, 0, 1.0), (std::vector{Pause(10, 0)}));
  EXPECT_EQ(Report(s, 11, 0, 5.0), (std::vector{Pause(11, 0)}));
  // n = 3: top 1 is trial 10 (1.0), arrived first, promoted now.
  EXPECT_EQ(Report(s, 12, 0, 3.0), (std::vector{Pause(12, 0), Promote(10, 0)}));
  EXPECT_EQ(Report(s, 13, 0, 4.0), (std::vector{Pause(13, 0)}));
  EXPECT_EQ(Report(s, 14, 0, 6.0), (std::vector{Pause(14, 0)}));
  // n = 6: top 2 = {10, 12}; 12 (3.0) promoted now by a late, worse arrival.
  EXPECT_EQ(Report(s, 15, 0, 7.0), (std::vector{Pause(15, 0), Promote(12, 0)}));
  // n = 7: floor(7/3) = 2 slots, the top 2 are now {16 (0.5), 10 (1.0)}:
  // the arrival is promoted at once.
  EXPECT_EQ(Report(s, 16, 0, 0.5), (std::vector{Promote(16, 0)}));
  // Promotions are never taken back: 10, 12, 16 all stay promoted.
  int promoted = 0;
  for (const RungEntry& e : s.entries(0)) promoted += e.promoted;
  EXPECT_EQ(promoted, 3);
}

// Promoted trials arrive at rung 1; the same rule applies there alone.
TEST(AshaTest, RungsDecideIndependently) {
  AshaScheduler s = Make(3, Mode::kMin);
  Report(s, 1, 0, 1.0);
  Report(s, 2, 0, 2.0);
  Report(s, 3, 0, 3.0);  // promotes 1
  EXPECT_EQ(Report(s, 1, 1, 0.9), (std::vector{Pause(1, 1)}));
  EXPECT_EQ(s.entries(1).size(), 1u);
  EXPECT_EQ(s.entries(0).size(), 3u);
}

// rf 2, mode max: top half by highest value.
TEST(AshaTest, ReductionFactor2ModeMax) {
  AshaScheduler s = Make(2, Mode::kMax, 1, 8);
  EXPECT_EQ(Report(s, 1, 0, 0.2), (std::vector{Pause(1, 0)}));
  // n = 2, top 1 = trial 2 (0.8).
  EXPECT_EQ(Report(s, 2, 0, 0.8), (std::vector{Promote(2, 0)}));
  EXPECT_EQ(Report(s, 3, 0, 0.1), (std::vector{Pause(3, 0)}));
  // n = 4, top 2 = {2 (0.8), 1 (0.2)}: trial 1 becomes promotable.
  EXPECT_EQ(Report(s, 4, 0, 0.15), (std::vector{Pause(4, 0), Promote(1, 0)}));
  // n = 5, top 2 = {5 (0.9), 2}: 5 promoted on arrival.
  EXPECT_EQ(Report(s, 5, 0, 0.9), (std::vector{Promote(5, 0)}));
}

// The same values with mode min choose the other end.
TEST(AshaTest, ReductionFactor2ModeMin) {
  AshaScheduler s = Make(2, Mode::kMin, 1, 8);
  EXPECT_EQ(Report(s, 1, 0, 0.2), (std::vector{Pause(1, 0)}));
  EXPECT_EQ(Report(s, 2, 0, 0.8), (std::vector{Pause(2, 0), Promote(1, 0)}));
  // n = 3, top 1 = trial 3 (0.1): promoted on arrival.
  EXPECT_EQ(Report(s, 3, 0, 0.1), (std::vector{Promote(3, 0)}));
  // n = 4, top 2 = {3, 4}.
  EXPECT_EQ(Report(s, 4, 0, 0.15), (std::vector{Promote(4, 0)}));
  EXPECT_EQ(Report(s, 5, 0, 0.9), (std::vector{Pause(5, 0)}));
}

// Ties go to the earlier arrival.
TEST(AshaTest, TiesGoToTheEarlierArrival) {
  AshaScheduler s = Make(2, Mode::kMin, 1, 8);
  EXPECT_EQ(Report(s, 7, 0, 1.0), (std::vector{Pause(7, 0)}));
  EXPECT_EQ(Report(s, 8, 0, 1.0), (std::vector{Pause(8, 0), Promote(7, 0)}));
  EXPECT_EQ(Report(s, 9, 0, 1.0), (std::vector{Pause(9, 0)}));
  EXPECT_EQ(Report(s, 6, 0, 1.0), (std::vector{Pause(6, 0), Promote(8, 0)}));
}

TEST(AshaTest, NonFiniteNeverPromoted) {
  AshaScheduler s = Make(2, Mode::kMin, 1, 8);
  EXPECT_EQ(Report(s, 1, 0, std::nan("")), (std::vector{Pause(1, 0)}));
  EXPECT_EQ(Report(s, 2, 0, 5.0), (std::vector{Promote(2, 0)}));
  Report(s, 3, 0, 6.0);
  // n = 4: top 2 = {2, 3 or 4}; the NaN ranks last.
  EXPECT_EQ(Report(s, 4, 0, 7.0), (std::vector{Pause(4, 0), Promote(3, 0)}));
}

TEST(AshaTest, RepeatedArrivalAndBadRungRefused) {
  AshaScheduler s = Make(3, Mode::kMin);
  Report(s, 1, 0, 1.0);
  EXPECT_FALSE(s.Report(1, 0, 2.0).ok());
  EXPECT_FALSE(s.Report(2, 3, 2.0).ok());
  EXPECT_FALSE(s.Report(2, -1, 2.0).ok());
}

// A scheduler restored from persisted entries decides as the original would.
TEST(AshaTest, RestoreThenReportMatchesUninterruptedRun) {
  const std::vector<std::pair<int64_t, double>> arrivals = {
      {1, 4.0}, {2, 2.0}, {3, 3.0}, {4, 1.0}, {5, 5.0}, {6, 0.5}, {7, 2.5}};
  for (size_t cut = 0; cut <= arrivals.size(); ++cut) {
    AshaScheduler whole = Make(3, Mode::kMin);
    AshaScheduler first = Make(3, Mode::kMin);
    for (size_t i = 0; i < cut; ++i) {
      Report(whole, arrivals[i].first, 0, arrivals[i].second);
      Report(first, arrivals[i].first, 0, arrivals[i].second);
    }
    AshaScheduler restored = Make(3, Mode::kMin);
    for (const RungEntry& e : first.entries(0)) ASSERT_TRUE(restored.Restore(0, e).ok());
    for (size_t i = cut; i < arrivals.size(); ++i) {
      EXPECT_EQ(Report(restored, arrivals[i].first, 0, arrivals[i].second),
                Report(whole, arrivals[i].first, 0, arrivals[i].second))
          << "cut " << cut << " arrival " << i;
    }
    EXPECT_EQ(restored.entries(0), whole.entries(0));
  }
}

// Nine trials, rf 3, rungs at 1 and 3 of 9 epochs, the best arriving
// first: three reach rung 1 (arrivals 3, 6 and 9 each open a slot) and one
// finishes.
TEST(AshaTest, NineTrialsBestFirstOneWinner) {
  AshaScheduler s = Make(3, Mode::kMin, 1, 9);
  ASSERT_EQ(s.rung_epochs(), (std::vector<int64_t>{1, 3}));
  std::vector<int64_t> promoted0;
  for (int t = 0; t < 9; ++t) {
    for (const AshaDecision& d : Report(s, t, 0, 1.0 + t)) {
      if (d.kind == Kind::kPromote) promoted0.push_back(d.trial_id);
    }
  }
  EXPECT_EQ(promoted0, (std::vector<int64_t>{0, 1, 2}));
  std::vector<int64_t> promoted1;
  for (int64_t t : promoted0) {
    for (const AshaDecision& d : Report(s, t, 1, static_cast<double>(t))) {
      if (d.kind == Kind::kPromote) promoted1.push_back(d.trial_id);
    }
  }
  EXPECT_EQ(promoted1, (std::vector<int64_t>{0}));
}

// The asynchronous trade-off (Li et al. 2018, section 3.2): when every
// arrival beats all before it, each one from the third on is promoted at
// once, 7 of 9, where synchronous halving would promote 3.
TEST(AshaTest, NineTrialsBestLastPromotesEveryImprovingArrival) {
  AshaScheduler s = Make(3, Mode::kMin, 1, 9);
  std::vector<int64_t> promoted0;
  for (int t = 0; t < 9; ++t) {
    for (const AshaDecision& d : Report(s, t, 0, 9.0 - t)) {
      if (d.kind == Kind::kPromote) promoted0.push_back(d.trial_id);
    }
  }
  EXPECT_EQ(promoted0, (std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8}));
}

}  // namespace asha_test
}  // namespace
}  // namespace gridrun::search
