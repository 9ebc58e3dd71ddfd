// End to end with a user's model file: `gridrun local` trains the shipped
// conditional GAN file (experiments/models/cgan_conv.yaml) over width x
// latent_size on generated MNIST files, with samples and metrics; the same
// grid under another name with the file unchanged trains nothing (every
// trial reuses a result); with one layer changed, every trial trains again.
// `gridrun export` writes the spec and the model file back from the
// database, and they run as they are.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "coordinator/sqlite_trial_store.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace model_file_local_test {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ModelFileLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_data::WriteFakeMnist(dir_.path() + "/data", /*n_train=*/256, /*n_test=*/64, /*seed=*/5);
    std::filesystem::create_directories(dir_.path() + "/models");
    model_text_ = ReadText(SourceDir() + "/experiments/models/cgan_conv.yaml");
    ASSERT_FALSE(model_text_.empty());
    std::ofstream(dir_.path() + "/models/cgan.yaml") << model_text_;
  }

  // Writes the grid as `name` and runs it; returns gridrun local's output.
  std::string RunGrid(const std::string& name) {
    const std::string spec = dir_.path() + "/" + name + ".yaml";
    std::ofstream(spec) << "experiment: " << name << "\n"
                        << "dataset: mnist\n"
                           "model: models/cgan.yaml\n"
                           "epochs: 1\n"
                           "batch_size: 64\n"
                           "eval_samples: 64\n"
                           "samples: {epochs: [1], count: 20}\n"
                           "grid:\n"
                           "  width: [32, 64]\n"
                           "  latent_size: [16, 64]\n";
    ChildProcess local({BuildDir() + "/gridrun", "local", spec, "--db", db_, "--data-dir",
                        dir_.path() + "/data", "--workers", "1"});
    EXPECT_EQ(local.Wait(std::chrono::minutes(5)), 0) << local.output();
    return local.output();
  }

  std::vector<coordinator::TrialRecord> Trials(const std::string& experiment) {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    auto trials = (*store)->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok()) << trials.status();
    return trials.ok() ? *trials : std::vector<coordinator::TrialRecord>{};
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/runs.db";
  std::string model_text_;
};

TEST_F(ModelFileLocalTest, TrainsReusesAndRetrainsWhenALayerChanges) {
  const std::string first = RunGrid("cgan-file");
  EXPECT_NE(first.find("4/4 trials complete"), std::string::npos) << first;
  auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
  ASSERT_TRUE(store.ok()) << store.status();
  const auto trials = Trials("cgan-file");
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& trial : trials) {
    EXPECT_EQ(trial.state, coordinator::TrialState::kComplete) << trial.error;
    EXPECT_EQ(trial.reused_from, 0);
    auto latest = (*store)->LatestMetrics(trial.trial_id);
    ASSERT_TRUE(latest.ok());
    for (const char* name : {"loss/d", "loss/g", "fid", "mode_coverage"}) {
      EXPECT_TRUE(latest->count(name)) << "trial " << trial.number << " lacks " << name;
    }
    auto samples = (*store)->ListSamples(trial.trial_id);
    ASSERT_TRUE(samples.ok());
    ASSERT_EQ(samples->size(), 1u);
    EXPECT_EQ(samples->front().png.substr(1, 3), "PNG");
  }

  // The database alone re-runs it: export writes the spec and its model
  // file; the same command on them finds the experiment complete.
  const std::string exported = dir_.path() + "/exported";
  ChildProcess export_run({BuildDir() + "/gridrun", "export", "--db", db_, "cgan-file", "--out",
                           exported});
  ASSERT_EQ(export_run.Wait(std::chrono::minutes(1)), 0) << export_run.output();
  EXPECT_EQ(ReadText(exported + "/models/cgan.yaml"), model_text_);
  EXPECT_EQ(ReadText(exported + "/spec.yaml"), ReadText(dir_.path() + "/cgan-file.yaml"));
  ChildProcess rerun({BuildDir() + "/gridrun", "local", exported + "/spec.yaml", "--db", db_,
                      "--data-dir", dir_.path() + "/data", "--workers", "1"});
  EXPECT_EQ(rerun.Wait(std::chrono::minutes(5)), 0) << rerun.output();
  EXPECT_NE(rerun.output().find("4/4 trials complete"), std::string::npos) << rerun.output();

  // The same grid and file under another name: every trial reuses a result.
  const std::string second = RunGrid("cgan-file-again");
  EXPECT_NE(second.find("4/4 trials complete"), std::string::npos) << second;
  for (const auto& trial : Trials("cgan-file-again")) {
    EXPECT_NE(trial.reused_from, 0) << "trial " << trial.number << " trained again";
  }

  // One layer changed (the discriminator's slope): every trial trains.
  std::string changed = model_text_;
  const auto at = changed.rfind("LeakyReLU: 0.2");
  ASSERT_NE(at, std::string::npos);
  changed.replace(at, 14, "LeakyReLU: 0.1");
  std::ofstream(dir_.path() + "/models/cgan.yaml") << changed;
  const std::string third = RunGrid("cgan-file-changed");
  EXPECT_NE(third.find("4/4 trials complete"), std::string::npos) << third;
  for (const auto& trial : Trials("cgan-file-changed")) {
    EXPECT_EQ(trial.state, coordinator::TrialState::kComplete) << trial.error;
    EXPECT_EQ(trial.reused_from, 0) << "trial " << trial.number << " reused an old result";
  }
}

}  // namespace model_file_local_test
}  // namespace
}  // namespace gridrun::testing
