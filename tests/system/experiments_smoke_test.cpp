// End to end: the smoke variants of experiments from experiments/ (the --set
// recipe of README.md) run with `gridrun local` on tiny generated MNIST,
// Fashion-MNIST and CIFAR-10 files; every trial ends COMPLETE with metric
// rows, and the stored spec is the overridden one. One experiment per data
// set and per objective family (GAN, conditional WGAN-GP/WGAN, VAE, the
// classifier transfer), kept small: one epoch on 1,024 images (one WGAN
// generator step takes 5 critic batches of 128). eval_samples stays 0 (the
// evaluation classifier is covered by gridrun_local_test).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "coordinator/grid_spec.h"
#include "coordinator/sqlite_trial_store.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace experiments_smoke_test {

const std::vector<std::string> kSmoke = {"epochs=1", "samples.epochs=[1]", "train_size=1024",
                                         "test_size=256", "eval_samples=0"};

struct Case {
  std::string file;  // under experiments/
  int trials;
};

std::string ExperimentName(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto spec = coordinator::ParseGridSpec(text.str());
  EXPECT_TRUE(spec.ok()) << path << ": " << spec.status();
  return spec.ok() ? spec->experiment : "";
}

TEST(ExperimentsSmokeTest, SmokeVariantsRunToCompletion) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  fake_data::WriteFakeMnist(data, /*n_train=*/1024, /*n_test=*/256, /*seed=*/3);
  fake_data::FakeFileOptions fashion;
  fashion.dataset = "fashion-mnist";
  fake_data::WriteFakeMnist(data, 1024, 256, /*seed=*/4, fashion);
  fake_data::WriteFakeCifar10(data, /*n=*/1024, /*seed=*/5);
  const std::string db = dir.path() + "/smoke.db";

  const Case cases[] = {
      {"dcgan_fashion_samples.yaml", 1},           // seed 001 GAN, Fashion-MNIST
      {"vae_encoder_transfer_fashion.yaml", 1},    // seed 001 VAE + classifier transfer
      {"gan_vs_cwgan_mode_coverage_mnist.yaml", 3},  // seeds 002/003: GAN, cWGAN-GP, cWGAN
      {"vae_gan_wgan_cifar10.yaml", 3},            // seed 004 on CIFAR-10
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = SourceDir() + "/experiments/" + c.file;
    std::vector<std::string> argv = {BuildDir() + "/gridrun", "local", path, "--db", db,
                                     "--data-dir", data};
    for (const std::string& set : kSmoke) {
      argv.push_back("--set");
      argv.push_back(set);
    }
    const auto start = std::chrono::steady_clock::now();
    ChildProcess local(argv);
    ASSERT_EQ(local.Wait(std::chrono::minutes(3)), 0) << local.output();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %.1f s\n", c.file.c_str(), seconds);

    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db);
    ASSERT_TRUE(store.ok()) << store.status();
    const std::string name = ExperimentName(path);
    auto experiment = (*store)->GetExperiment(name);
    ASSERT_TRUE(experiment.ok()) << experiment.status();
    EXPECT_EQ(experiment->spec_yaml.rfind("# with --set epochs=1 ", 0), 0u) << experiment->spec_yaml;
    auto trials = (*store)->ListTrials(name, {});
    ASSERT_TRUE(trials.ok()) << trials.status();
    ASSERT_EQ(static_cast<int>(trials->size()), c.trials);
    for (const auto& trial : *trials) {
      EXPECT_EQ(trial.state, coordinator::TrialState::kComplete) << trial.error;
      auto metrics = (*store)->ListMetrics(trial.trial_id);
      ASSERT_TRUE(metrics.ok());
      EXPECT_FALSE(metrics->empty()) << "trial " << trial.number << " has no metric rows";
      // The overridden spec is what ran: one epoch.
      EXPECT_NE(trial.config_json.find("\"epochs\":1,"), std::string::npos) << trial.config_json;
    }
  }
}

}  // namespace experiments_smoke_test
}  // namespace
}  // namespace gridrun::testing
