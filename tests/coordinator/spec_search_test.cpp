// The search keys of a grid spec (coordinator/spec_search.cpp): sampled
// axes, random and sobol points crossed with list axes, the scheduler, stop
// rules and keep_best, and every bad spec named with its line.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"
#include "search/sampler.h"

namespace gridrun::coordinator {
namespace {
namespace spec_search_test {

// Lines 1-4; a case's own lines start at line 5.
constexpr char kVae[] = "experiment: e1\ndataset: mnist\nmodel: vae-mlp\nepochs: 9\n";

struct BadSpec {
  std::string name;
  std::string yaml;
  std::string error;  // the whole message
};

void PrintTo(const BadSpec& c, std::ostream* os) { *os << c.name; }

class BadSearchSpecTest : public testing::TestWithParam<BadSpec> {};

TEST_P(BadSearchSpecTest, ReportsExactError) {
  const BadSpec& c = GetParam();
  auto spec = ParseGridSpec(c.yaml);
  ASSERT_FALSE(spec.ok()) << c.yaml;
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(spec.status().message()), c.error) << c.yaml;
}

std::string Cat(const std::string& a, const std::string& b) { return a + b; }

const BadSpec kBadSpecs[] = {
    {"LowAboveHigh",
     Cat(kVae, "search: {strategy: random, trials: 4}\ngrid:\n  kl_weight: {uniform: [1.0, 0.1]}\n"),
     "line 7: grid.kl_weight.uniform: low above high (got [1.0, 0.1]; allowed: low <= high)"},
    {"LogUniformOverZero",
     Cat(kVae, "search: {strategy: random, trials: 4}\ngrid:\n  kl_weight: {log_uniform: [0, 1]}\n"),
     "line 7: grid.kl_weight.log_uniform: log_uniform over a range that is not positive "
     "(got [0, 1]; allowed: 0 < low <= high)"},
    {"LogUniformOutsideTheFieldsRange",
     Cat(kVae, "search: {strategy: random, trials: 4}\ngrid:\n  lr: {log_uniform: [-1, 1.0e-3]}\n"),
     "line 7: grid.lr.log_uniform[0]: out of range (got -1; allowed: > 0 and <= 10)"},
    {"UnknownScheduler", Cat(kVae, "scheduler: {type: ashaa, metric: test/loss}\n"),
     "line 5: scheduler.type: unknown scheduler, did you mean 'asha'? (got ashaa; allowed: asha, "
     "median)"},
    {"UnknownMetric", Cat(kVae, "scheduler: {type: asha, metric: fidd}\n"),
     "line 5: scheduler.metric: unknown metric, did you mean 'fid'? (got fidd; allowed: a "
     "per-epoch metric: test/recon, test/kl, test/neg_elbo, test/loss, test/d_real, test/d_fake, "
     "test/d_accuracy, test/jsd, test/wasserstein, test/accuracy, test/ce, fid, mode_coverage, "
     "class_kl)"},
    {"MetricTheModelDoesNotReport", Cat(kVae, "scheduler: {type: asha, metric: test/wasserstein}\n"),
     "line 5: scheduler.metric: model vae-mlp (objective vae) does not report test/wasserstein"},
    {"TrialsWithGrid", Cat(kVae, "search: {strategy: grid, trials: 10}\n"),
     "line 5: search.trials: only with strategy random or sobol (got 10; allowed: no trials with "
     "strategy grid (every combination runs))"},
    {"ReductionFactorBelowTwo",
     Cat(kVae, "scheduler: {type: asha, metric: test/loss, reduction_factor: 1}\n"),
     "line 5: scheduler.reduction_factor: out of range (got 1; allowed: 2..1000)"},
    {"DistributionInAGrid", Cat(kVae, "grid:\n  kl_weight: {uniform: [0.1, 1.0]}\n"),
     "line 6: grid.kl_weight: a distribution needs search.strategy random or sobol (allowed: a "
     "list of values for a grid)"},
    {"RandomWithoutTrials",
     Cat(kVae, "search: {strategy: random}\ngrid:\n  kl_weight: {uniform: [0.1, 1.0]}\n"),
     "line 5: search.trials: missing (allowed: the number of points a random search samples)"},
    {"UniformForAnInteger",
     Cat(kVae, "search: {strategy: sobol, trials: 4}\ngrid:\n  latent_size: {uniform: [2, 8]}\n"),
     "line 7: grid.latent_size: uniform samples reals; latent_size takes integers (allowed: "
     "int_range or choice)"},
    {"UnknownStrategy", Cat(kVae, "search: {strategy: randum, trials: 3}\n"),
     "line 5: search.strategy: unknown strategy, did you mean 'random'? (got randum; allowed: "
     "grid, random, sobol)"},
    {"MinEpochsNotBelowEpochs",
     Cat(kVae, "scheduler:\n  type: asha\n  metric: test/loss\n  min_epochs: 9\n"),
     "line 8: scheduler.min_epochs: not below epochs (got 9; allowed: 1..8)"},
    {"ReductionFactorForMedian",
     Cat(kVae, "scheduler: {type: median, metric: test/loss, reduction_factor: 3}\n"),
     "line 5: scheduler.reduction_factor: not used by the median rule (allowed: only with type "
     "asha)"},
    {"StopRuleWithTwoConditions", Cat(kVae, "stop:\n  - {metric: test/loss, above: 5, below: 1}\n"),
     "line 6: stop[0]: more than one condition (got above, below; allowed: exactly one of "
     "non_finite, above, below, diverged)"},
    {"DivergedFactorNotAboveOne",
     Cat(kVae, "stop:\n  - {metric: test/loss, diverged: {factor: 1, epochs: 2}}\n"),
     "line 6: stop[0].diverged.factor: out of range (got 1; allowed: > 1)"},
    {"KeepBestUnknownMode", Cat(kVae, "keep_best: {metric: test/loss, mode: low}\n"),
     "line 5: keep_best.mode: unknown mode (got low; allowed: min, max)"},
    {"IntRangeStepOnUniform",
     Cat(kVae, "search: {strategy: random, trials: 2}\ngrid:\n  kl_weight: {uniform: [0.1, 1], "
               "step: 2}\n"),
     "line 7: grid.kl_weight.step: not used by uniform (allowed: only with int_range)"},
    {"IntRangeBeyondDoublePrecision",
     Cat(kVae, "search: {strategy: random, trials: 2}\ngrid:\n  seed: {int_range: [0, "
               "99999999999999999]}\n"),
     "line 7: grid.seed.int_range: bounds too large to sample (got [0, 99999999999999999]; "
     "allowed: integers within +-2^53 (9007199254740992))"},
    {"AshaWithAnEpochsAxis",
     "experiment: e1\ndataset: mnist\nmodel: vae-mlp\nscheduler: {type: asha, metric: "
     "test/loss}\ngrid:\n  epochs: [3, 9]\n",
     "line 4: scheduler: epochs is a grid axis (allowed: one epochs value: the scheduler's rungs "
     "and medians compare equal lengths)"},
};

INSTANTIATE_TEST_SUITE_P(All, BadSearchSpecTest, testing::ValuesIn(kBadSpecs),
                         [](const auto& info) { return info.param.name; });

TEST(SpecSearchTest, RandomSearchCrossesPointsWithListAxes) {
  const std::string yaml = Cat(kVae,
                               "seed: 11\n"
                               "search: {strategy: random, trials: 5}\n"
                               "grid:\n"
                               "  latent_size: [2, 16]\n"
                               "  kl_weight: {uniform: [0.1, 1.0]}\n"
                               "  lr: {log_uniform: [1.0e-5, 1.0e-3]}\n"
                               "  width: {int_range: [64, 512], step: 64}\n"
                               "  recon_loss: {choice: [bce, mse]}\n");
  auto spec = ParseGridSpec(yaml);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial_count, 10);
  ASSERT_EQ(spec->sampled_axes.size(), 4u);
  ASSERT_EQ(spec->sampled_points.size(), 5u);
  EXPECT_EQ(spec->search.seed, 11u);  // the spec's seed
  auto trials = ExpandGrid(*spec);
  ASSERT_EQ(trials.size(), 10u);
  std::set<std::string> configs;
  for (const ExpandedTrial& t : trials) {
    const TrialConfig& c = t.config;
    EXPECT_GE(c.kl_weight, 0.1);
    EXPECT_LE(c.kl_weight, 1.0);
    EXPECT_GE(c.optimizer.lr, 1e-5);
    EXPECT_LE(c.optimizer.lr, 1e-3);
    EXPECT_EQ(c.width % 64, 0);
    EXPECT_GE(c.width, 64);
    EXPECT_LE(c.width, 512);
    EXPECT_TRUE(c.recon_loss == "bce" || c.recon_loss == "mse");
    // Sampled values are ordinary params.
    EXPECT_EQ(t.params.size(), 5u);
    configs.insert(t.config_sha256);
  }
  // The list axis varies fastest: trials 0 and 1 share a point.
  EXPECT_EQ(trials[0].params.at("kl_weight"), trials[1].params.at("kl_weight"));
  EXPECT_EQ(trials[0].params.at("latent_size"), "2");
  EXPECT_EQ(trials[1].params.at("latent_size"), "16");
  EXPECT_NE(trials[0].params.at("kl_weight"), trials[2].params.at("kl_weight"));
  EXPECT_EQ(configs.size(), 10u);

  // Deterministic in the seed: the same spec samples the same points, and
  // another seed others.
  auto again = ParseGridSpec(yaml);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sampled_points, spec->sampled_points);
  EXPECT_EQ(again->canonical_json, spec->canonical_json);
  std::string reseeded = yaml;
  reseeded.replace(reseeded.find("seed: 11"), 8, "seed: 12");
  auto other = ParseGridSpec(reseeded);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->sampled_points, spec->sampled_points);
}

TEST(SpecSearchTest, SobolAndAnExplicitSeed) {
  auto spec = ParseGridSpec(Cat(kVae,
                                "search: {strategy: sobol, trials: 8, seed: 3}\n"
                                "grid:\n  kl_weight: {uniform: [0, 1]}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial_count, 8);
  EXPECT_EQ(spec->search.seed, 3u);
  // 8 Sobol points stratify [0, 1] into 8 cells, one point each.
  std::set<int> cells;
  for (const auto& p : spec->sampled_points) cells.insert(int(std::get<double>(p[0]) * 8));
  EXPECT_EQ(cells.size(), 8u);
}

TEST(SpecSearchTest, SchedulerStopRulesAndKeepBest) {
  auto spec = ParseGridSpec(Cat(kVae,
                                "scheduler: {type: asha, metric: test/loss, mode: min, "
                                "min_epochs: 1, reduction_factor: 3}\n"
                                "stop:\n"
                                "  - {metric: test/loss, non_finite: true}\n"
                                "  - {metric: test/loss, mode: min, diverged: {factor: 1.5, "
                                "epochs: 3}}\n"
                                "  - {metric: test/kl, above: 50}\n"
                                "keep_best: {metric: test/neg_elbo, mode: min}\n"
                                "grid:\n  latent_size: [2, 4, 8]\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  const search::SearchSettings& s = spec->search;
  ASSERT_TRUE(s.scheduler.has_value());
  EXPECT_EQ(s.scheduler->type, search::SchedulerType::kAsha);
  EXPECT_EQ(s.scheduler->reduction_factor, 3);
  ASSERT_EQ(s.stop_rules.size(), 3u);
  EXPECT_EQ(s.stop_rules[1].kind, search::StopRule::Kind::kDiverged);
  EXPECT_DOUBLE_EQ(s.stop_rules[1].factor, 1.5);
  EXPECT_EQ(s.stop_rules[1].epochs, 3);
  EXPECT_EQ(s.stop_rules[2].bound, 50);
  ASSERT_TRUE(s.keep_best.has_value());
  EXPECT_EQ(s.keep_best->metric, "test/neg_elbo");
  // The summary shows the rungs (epochs 1 and 3 of 9).
  const std::string summary = SummarizeGrid(*spec);
  EXPECT_NE(summary.find("rungs at epochs 1, 3"), std::string::npos) << summary;
  // The first lease of every trial stops at the first rung.
  NewExperiment e = ToNewExperiment(*spec, "text");
  ASSERT_EQ(e.trials.size(), 3u);
  for (const NewTrial& t : e.trials) EXPECT_EQ(t.stop_after_epoch, 1);
  EXPECT_FALSE(e.search_json.empty());
}

// With a scheduler the grid runs in a seeded random order (the order trials
// are numbered and leased in); without one, in grid order.
TEST(SpecSearchTest, ScheduledGridsRunInASeededRandomOrder) {
  const std::string grid = "grid:\n  latent_size: [2, 4, 8, 16]\n  kl_weight: [1, 0.5, 0.25]\n";
  auto plain = ParseGridSpec(Cat(kVae, grid));
  auto asha = ParseGridSpec(Cat(kVae,
                                "scheduler: {type: asha, metric: test/loss, min_epochs: 1, "
                                "reduction_factor: 3}\n" + grid));
  ASSERT_TRUE(plain.ok() && asha.ok()) << plain.status() << asha.status();
  const std::vector<ExpandedTrial> in_order = ExpandGrid(*plain);
  const std::vector<ExpandedTrial> shuffled = ExpandGrid(*asha);
  ASSERT_EQ(in_order.size(), 12u);
  ASSERT_EQ(shuffled.size(), 12u);
  EXPECT_EQ(in_order[1].params.at("kl_weight"), "0.5");  // the last axis varies fastest
  std::vector<int64_t> order = *search::ShuffledOrder(12, asha->search.seed);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(shuffled[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(in_order[i].number, static_cast<int64_t>(i));
    // Grid cell order[i] runs i-th, with that cell's settings.
    EXPECT_EQ(shuffled[i].params, in_order[static_cast<size_t>(order[i])].params) << i;
  }
  std::set<std::map<std::string, std::string>> cells;
  for (const ExpandedTrial& t : shuffled) cells.insert(t.params);
  EXPECT_EQ(cells.size(), 12u) << "every cell once";
  EXPECT_NE(order, std::vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  // Deterministic: the same spec gives the same order.
  const std::vector<ExpandedTrial> again = ExpandGrid(*asha);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(again[i].config_sha256, shuffled[i].config_sha256);
}

TEST(SpecSearchTest, PlainGridsKeepTheirCanonicalJson) {
  auto spec = ParseGridSpec(Cat(kVae, "grid:\n  latent_size: [2, 4]\n"));
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->canonical_json.find("search"), std::string::npos) << spec->canonical_json;
  EXPECT_TRUE(ToNewExperiment(*spec, "text").search_json.empty());
}

TEST(SpecSearchTest, ValidateSummaryListsSampledPoints) {
  auto spec = ParseGridSpec(Cat(kVae,
                                "search: {strategy: random, trials: 3, seed: 1}\n"
                                "grid:\n  kl_weight: {uniform: [0.1, 1.0]}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  const std::string summary = SummarizeGrid(*spec);
  EXPECT_NE(summary.find("kl_weight: uniform 0.1..1 (sampled)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("search: random, 3 points, seed 1"), std::string::npos) << summary;
  for (size_t i = 0; i < 3; ++i) {
    const std::string line = "point " + std::to_string(i) + ": kl_weight=" +
                             SpecValueText(spec->sampled_points[i][0]);
    EXPECT_NE(summary.find(line), std::string::npos) << summary;
  }
}

// --set takes the search keys as whole values (checked by the parser).
TEST(SpecSearchTest, SetOverridesTheSearchKeys) {
  auto text = ApplySpecOverrides(
      Cat(kVae, "grid:\n  latent_size: [2, 4, 8]\n"),
      {"scheduler={type: asha, metric: test/neg_elbo, min_epochs: 1, reduction_factor: 3}",
       "stop=[{metric: test/loss, non_finite: true}]", "keep_best={metric: test/loss}"});
  ASSERT_TRUE(text.ok()) << text.status();
  auto spec = ParseGridSpec(*text);
  ASSERT_TRUE(spec.ok()) << spec.status() << "\n" << *text;
  ASSERT_TRUE(spec->search.scheduler.has_value());
  EXPECT_EQ(spec->search.scheduler->metric, "test/neg_elbo");
  EXPECT_EQ(spec->search.stop_rules.size(), 1u);
  EXPECT_TRUE(spec->search.keep_best.has_value());
  EXPECT_EQ(spec->axes.size(), 1u);  // the stop list did not become an axis
  auto bad = ApplySpecOverrides(*text, {"scheduler={type: nope, metric: test/loss}"});
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(ParseGridSpec(*bad).ok());
  auto unset = ApplySpecOverrides(*text, {"scheduler="});
  ASSERT_TRUE(unset.ok());
  auto plain = ParseGridSpec(*unset);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->search.scheduler.has_value());
}

}  // namespace spec_search_test
}  // namespace
}  // namespace gridrun::coordinator
