// End to end: `gridrun local` on a tiny grid of generated MNIST files with 2
// ranks per worker finishes; the database has every trial COMPLETE with
// metrics and samples; a second run of the same command trains nothing new.
#include <gtest/gtest.h>

#include <fstream>

#include "coordinator/sqlite_trial_store.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace gridrun_local_test {

TEST(GridrunLocalTest, RunsAGridToTheEndAndResumesIdempotently) {
  TempDir dir;
  fake_data::WriteFakeMnist(dir.path() + "/data", /*n_train=*/512, /*n_test=*/128, /*seed=*/9);
  const std::string spec_path = dir.path() + "/grid.yaml";
  std::ofstream(spec_path) << "experiment: local-e2e\n"
                              "dataset: mnist\n"
                              "model: vae-mlp\n"
                              "width: 64\n"
                              "epochs: 2\n"
                              "batch_size: 64\n"
                              "ranks: 2\n"
                              "eval_samples: 200\n"
                              "samples: {epochs: [1, 2], count: 16}\n"
                              "grid:\n"
                              "  latent_size: [2, 8]\n";
  const std::string db = dir.path() + "/runs.db";
  auto run_local = [&] {
    ChildProcess local({BuildDir() + "/gridrun", "local", spec_path, "--db", db, "--data-dir",
                        dir.path() + "/data", "--workers", "1"});
    EXPECT_EQ(local.Wait(std::chrono::minutes(5)), 0) << local.output();
    return local.output();
  };
  const std::string first = run_local();
  EXPECT_NE(first.find("2/2 trials complete"), std::string::npos) << first;
  EXPECT_NE(first.find("report: " + db + ".report.html"), std::string::npos) << first;

  auto store = coordinator::SqliteTrialStore::OpenReadOnly(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto trials = (*store)->ListTrials("local-e2e", {});
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 2u);
  for (const auto& trial : *trials) {
    EXPECT_EQ(trial.state, coordinator::TrialState::kComplete) << trial.error;
    EXPECT_EQ(trial.attempt, 1);
    auto latest = (*store)->LatestMetrics(trial.trial_id);
    ASSERT_TRUE(latest.ok());
    for (const char* name : {"loss/total", "test/neg_elbo", "fid", "mode_coverage"}) {
      EXPECT_TRUE(latest->count(name)) << "trial " << trial.number << " lacks " << name;
    }
    auto samples = (*store)->ListSamples(trial.trial_id);
    ASSERT_TRUE(samples.ok());
    ASSERT_EQ(samples->size(), 2u);  // epochs 1 and 2
    EXPECT_EQ(samples->front().png.substr(1, 3), "PNG");
  }
  const auto metric_rows = (*store)->ListMetrics(trials->front().trial_id)->size();

  // The same command again: already done, nothing is trained or written.
  const std::string second = run_local();
  EXPECT_NE(second.find("resuming"), std::string::npos) << second;
  EXPECT_NE(second.find("2/2 trials complete"), std::string::npos) << second;
  auto again = (*store)->ListTrials("local-e2e", {});
  for (const auto& trial : *again) EXPECT_EQ(trial.attempt, 1);
  EXPECT_EQ((*store)->ListMetrics(trials->front().trial_id)->size(), metric_rows);
}

}  // namespace gridrun_local_test
}  // namespace
}  // namespace gridrun::testing
