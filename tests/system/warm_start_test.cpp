// Warm starts end to end (issue 16, item 5; common/init_from.h): `gridrun
// local` trains a tiny GAN, then the same GAN with `init_from: {trial: N}`
// ("continue this GAN"): the coordinator records the source's checkpoint and
// config hash in the new trial's config (so it is not reused as the same
// trial), and the worker fetches that checkpoint and trains from it. Bad
// sources are refused at submit with a clear error: an unknown trial, a
// network the source's model lacks, a trial whose checkpoint retention
// removed (keep_trained: 0). The weights themselves are checked in
// tests/models/trained_networks_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/init_from.h"
#include "common/trial_config.h"
#include "coordinator/sqlite_trial_store.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace warm_start_test {

class WarmStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_data::WriteFakeMnist(dir_.path() + "/data", /*n_train=*/128, /*n_test=*/64, /*seed=*/3);
  }

  // Runs a one-epoch gan-mlp grid named `name` with `extra` spec lines;
  // returns {exit code, output}.
  std::pair<int, std::string> Run(const std::string& name, const std::string& extra) {
    const std::string spec = dir_.path() + "/" + name + ".yaml";
    std::ofstream(spec) << "experiment: " << name << "\n"
                        << "dataset: mnist\nmodel: gan-mlp\nwidth: 16\nlatent_size: 8\n"
                           "epochs: 1\nbatch_size: 64\neval_samples: 0\n"
                        << extra;
    ChildProcess local({BuildDir() + "/gridrun", "local", spec, "--db", db_, "--data-dir",
                        dir_.path() + "/data", "--workers", "1", "--ui-listen", "off"});
    const int code = local.Wait(std::chrono::minutes(3));
    return {code, local.output()};
  }

  coordinator::TrialRecord OnlyTrial(const std::string& experiment) {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    auto trials = (*store)->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok() && trials->size() == 1u);
    return trials.ok() && !trials->empty() ? trials->front() : coordinator::TrialRecord{};
  }

  std::vector<coordinator::CheckpointRecord> Checkpoints(int64_t trial_id) {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    auto checkpoints = (*store)->ListCheckpoints(trial_id);
    EXPECT_TRUE(checkpoints.ok()) << checkpoints.status();
    return checkpoints.ok() ? *checkpoints : std::vector<coordinator::CheckpointRecord>{};
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/runs.db";
};

TEST_F(WarmStartTest, AFinishedGanContinuesFromItsCheckpointAndBadSourcesAreRefused) {
  auto [code, out] = Run("source", "");
  ASSERT_EQ(code, 0) << out;
  const coordinator::TrialRecord source = OnlyTrial("source");
  ASSERT_EQ(source.state, coordinator::TrialState::kComplete);
  const auto kept = Checkpoints(source.trial_id);
  ASSERT_EQ(kept.size(), 1u) << "a COMPLETE trial keeps its final checkpoint";

  std::tie(code, out) = Run("continued", "init_from: {trial: " +
                                             std::to_string(source.trial_id) + "}\n");
  ASSERT_EQ(code, 0) << out;
  const coordinator::TrialRecord continued = OnlyTrial("continued");
  EXPECT_EQ(continued.state, coordinator::TrialState::kComplete) << continued.error;
  EXPECT_EQ(continued.reused_from, 0) << "a warm start is another trial, not a reuse";
  EXPECT_NE(continued.config_sha256, source.config_sha256);
  auto config = TrialConfigFromJson(continued.config_json);
  ASSERT_TRUE(config.ok()) << config.status();
  auto init = InitFromFromJson(config->init_from);
  ASSERT_TRUE(init.ok()) << init.status() << " in " << continued.config_json;
  EXPECT_EQ(init->trial, source.trial_id);
  EXPECT_EQ(init->checkpoint_sha256, kept.front().sha256);
  EXPECT_EQ(init->source_config_sha256, source.config_sha256);

  // Bad sources: refused at submit, nothing stored.
  std::tie(code, out) = Run("bad-trial", "init_from: {trial: 99}\n");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("init_from.trial: no trial with id 99"), std::string::npos) << out;
  std::tie(code, out) = Run("bad-network", "init_from: {trial: " +
                                               std::to_string(source.trial_id) +
                                               ", network: encoder}\n");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("model 'gan-mlp' has no encoder"), std::string::npos) << out;
  std::tie(code, out) = Run("bad-key", "init_from: {trial: 1, network: mlp}\n");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("init_from.network: unknown network"), std::string::npos) << out;

  // Retention: keep_trained: 0 keeps no trained model, so nothing can start from it.
  std::tie(code, out) = Run("kept-none", "keep_trained: 0\nseed: 1\n");
  ASSERT_EQ(code, 0) << out;
  const coordinator::TrialRecord gone = OnlyTrial("kept-none");
  EXPECT_TRUE(Checkpoints(gone.trial_id).empty());
  std::tie(code, out) =
      Run("from-gone", "init_from: {trial: " + std::to_string(gone.trial_id) + "}\n");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("keeps no checkpoint"), std::string::npos) << out;
}

}  // namespace warm_start_test
}  // namespace
}  // namespace gridrun::testing
