// Unit tests of what the report shows by default (cli/report_options.h):
// metric order and the heat map's metric and axes, with the errors of
// --heatmap-metric/--x/--y. The report file itself is tested in
// tests/ui (snapshot) and tests/integration (the real command).
#include "cli/report_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace gridrun::cli {
namespace {
namespace report_options_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ExperimentResults SampleResults() {
  ExperimentResults r;
  r.experiment_id = "exp-1234";
  r.name = "vae <sweep> & \"friends\"";
  r.status = "ACTIVE";
  r.spec_yaml = "experiment: x\n# <b>not bold</b>\n";
  r.created_ms = 1'700'000'000'000;
  r.axes = {"latent_size", "kl_weight", "width"};
  r.axis_values = {{"latent_size", {"2", "64"}}, {"kl_weight", {"1", "0.5"}}, {"width", {"500"}}};
  int64_t id = 1;
  for (const std::string& latent : r.axis_values["latent_size"]) {
    for (const std::string& kl : r.axis_values["kl_weight"]) {
      TrialResults t;
      t.trial_id = id;
      t.number = id - 1;
      t.state = "COMPLETE";
      t.params = {{"latent_size", latent}, {"kl_weight", kl}, {"width", "500"}};
      for (int epoch = 1; epoch <= 3; ++epoch) {
        const double elbo = 1000.0 / std::pow(10.0, epoch) * id;  // 100*id .. 1*id
        t.series["test/neg_elbo"].push_back({epoch * 100, epoch, elbo});
        t.series["loss/total"].push_back({epoch * 100 - 50, epoch, 5.0 - epoch});
        t.series["loss/total"].push_back({epoch * 100, epoch, 4.5 - epoch});
      }
      t.last_metrics["test/neg_elbo"] = id;
      t.last_metrics["loss/total"] = 1.5;
      t.samples.push_back({"samples", 100, 1, "PNG1", 1, 1});
      t.samples.push_back({"samples", 300, 3, "PNG3", 1, 1});
      r.trials.push_back(std::move(t));
      ++id;
    }
  }
  r.trials[3].state = "FAILED";
  r.trials[3].error = "CUDA <oom> & more";
  return r;
}

TEST(CliReportOptionsTest, HeatMapDefaultsToFirstKnownMetricAndVaryingAxes) {
  ExperimentResults r = SampleResults();
  auto choice = ChooseHeatMap(r, {});
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->metric, "test/neg_elbo");  // no fid; before loss/total
  EXPECT_EQ(choice->x_axis, "latent_size");
  EXPECT_EQ(choice->y_axis, "kl_weight");  // width has a single value
  r.trials[0].last_metrics["fid"] = 3;
  EXPECT_EQ(ChooseHeatMap(r, {})->metric, "fid");

  ReportOptions options;
  options.heatmap_metric = "loss/total";
  options.x_axis = "kl_weight";
  choice = ChooseHeatMap(r, options);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->metric, "loss/total");
  EXPECT_EQ(choice->x_axis, "kl_weight");
  EXPECT_EQ(choice->y_axis, "latent_size");
}

TEST(CliReportOptionsTest, HeatMapErrorsNameWhatExists) {
  ExperimentResults r = SampleResults();
  ReportOptions options;
  options.heatmap_metric = "fid";
  auto choice = ChooseHeatMap(r, options);
  ASSERT_FALSE(choice.ok());
  EXPECT_THAT(std::string(choice.status().message()),
              HasSubstr("has no metric 'fid'; its metrics: loss/total, test/neg_elbo"));
  options = {};
  options.y_axis = "depth";
  choice = ChooseHeatMap(r, options);
  ASSERT_FALSE(choice.ok());
  EXPECT_THAT(std::string(choice.status().message()),
              HasSubstr("--y: experiment 'vae <sweep> & \"friends\"' has no grid axis 'depth'; "
                        "its axes: latent_size, kl_weight, width"));
  options = {};
  options.x_axis = options.y_axis = "latent_size";
  EXPECT_FALSE(ChooseHeatMap(r, options).ok());
}

TEST(CliReportOptionsTest, NoHeatMapWithoutVaryingAxesOrMetrics) {
  ExperimentResults r = SampleResults();
  r.trials.resize(1);
  r.axis_values = {{"latent_size", {"2"}}, {"kl_weight", {"1"}}, {"width", {"500"}}};
  auto choice = ChooseHeatMap(r, {});
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->metric, "");
  EXPECT_EQ(choice->note, "No grid axis has more than one value, so no heat map.");
  r.trials[0].series.clear();
  r.trials[0].last_metrics.clear();
  choice = ChooseHeatMap(r, {});
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->note, "No metric recorded yet, so no heat map.");
}

TEST(CliReportOptionsTest, MetricNamesPutKeyMetricsFirst) {
  ExperimentResults r;
  TrialResults t;
  t.last_metrics = {{"zeta", 1}, {"fid", 2}, {"alpha", 3}, {"loss/total", 4}};
  r.trials.push_back(t);
  EXPECT_THAT(MetricNames(r), ElementsAre("loss/total", "fid", "alpha", "zeta"));
}

}  // namespace report_options_test
}  // namespace
}  // namespace gridrun::cli
