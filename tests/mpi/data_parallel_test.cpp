// Data-parallel correctness under real MPI (mpirun -np 2): the fused
// all-reduce, and N-rank training equal to 1-rank training on the same global
// batch.
#include <gtest/gtest.h>

#include "common/model_catalog.h"
#include "common/trial_config.h"
#include "models/checkpoint_state.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace data_parallel_test {

std::vector<std::string> MpiRun(int ranks, std::vector<std::string> program) {
  std::vector<std::string> argv = {"mpirun", "--allow-run-as-root", "--oversubscribe",
                                   "--bind-to", "none", "-np", std::to_string(ranks)};
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

std::string ChecksBinary() { return BuildDir() + "/tests/gridrun_mpi_checks"; }

TEST(DataParallelTest, FusedAllReduceOnMpiCommunicator) {
  ChildProcess run(MpiRun(2, {ChecksBinary(), "allreduce"}));
  ASSERT_EQ(run.Wait(std::chrono::seconds(120)), 0) << run.output();
  EXPECT_NE(run.output().find("OK"), std::string::npos) << run.output();
}

// Trains `config` on `ranks` ranks and returns the final parameters.
std::vector<torch::Tensor> TrainAndLoad(const TrialConfig& config, const std::string& data_dir,
                                        int ranks, const std::string& out) {
  ChildProcess run(
      MpiRun(ranks, {ChecksBinary(), "train", ToCanonicalJson(config), data_dir, out}));
  EXPECT_EQ(run.Wait(std::chrono::seconds(300)), 0) << run.output();
  const std::string bytes = fake_data::ReadFileBytes(out);
  auto bundle = models::BuildModel(config, *FindDataset(config.dataset));
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  auto trainer = models::MakeTrainer(std::move(*bundle), config);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  auto meta = models::LoadCheckpointState(bytes, **trainer);
  EXPECT_TRUE(meta.ok()) << meta.status();
  std::vector<torch::Tensor> params;
  for (const auto& p : (*trainer)->Parameters(models::ParameterGroup::kAll)) {
    params.push_back(p.detach().clone());
  }
  return params;
}

void ExpectSameTraining(const TrialConfig& config) {
  fake_data::ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), /*n_train=*/256, /*n_test=*/64, /*seed=*/3);
  auto one = TrainAndLoad(config, dir.path(), 1, dir.path() + "/one.ckpt");
  auto two = TrainAndLoad(config, dir.path(), 2, dir.path() + "/two.ckpt");
  ASSERT_EQ(one.size(), two.size());
  ASSERT_FALSE(one.empty());
  double max_diff = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    max_diff = std::max(max_diff, (one[i] - two[i]).abs().max().item<double>());
  }
  EXPECT_LT(max_diff, 1e-5) << "2-rank training diverged from 1-rank training";
}

TrialConfig BaseConfig(const std::string& model) {
  TrialConfig config;
  config.experiment = "equivalence";
  config.dataset = "mnist";
  config.model = model;
  config.epochs = 1;
  config.batch_size = 32;  // 8 steps over 256 images; 16 per rank on 2 ranks
  config.trial_seed = 12345;
  config.eval_samples = 0;
  config.samples.epochs = {};
  config.optimizer.lr = 1e-3;
  config.optimizer.beta1 = 0.9;
  return config;
}

TEST(DataParallelTest, TwoRanksTrainAClassifierLikeOneRank) {
  TrialConfig config = BaseConfig("classifier-mlp");
  config.width = 64;
  config.depth = 1;
  ExpectSameTraining(config);
}

TEST(DataParallelTest, TwoRanksTrainAVaeLikeOneRank) {
  // The reparameterisation noise is drawn for the whole global batch on every
  // rank (Trainer::StepNoise), so this holds for a VAE too.
  TrialConfig config = BaseConfig("vae-mlp");
  config.width = 64;
  config.depth = 1;
  config.latent_size = 4;
  ExpectSameTraining(config);
}

TEST(DataParallelTest, TwoRanksTrainAGanStepPairLikeOneRank) {
  // MLP GAN (no BatchNorm): each step is a discriminator step and a
  // generator step, both with fused all-reduces.
  TrialConfig config = BaseConfig("gan-mlp");
  config.width = 64;
  config.latent_size = 8;
  config.optimizer.beta1 = 0.5;
  ExpectSameTraining(config);
}

// A user's model file (its text in the config, as the coordinator sends
// it): a conditional conv GAN with label planes, and a conv VAE.
TEST(DataParallelTest, TwoRanksTrainAUserFileConditionalGanLikeOneRank) {
  TrialConfig config = BaseConfig("my_cgan.yaml");
  config.model_source = R"yaml(
objective: gan
conditional: true
settings: {latent_size: 8, width: 8}
generator:
  layers:
    - Linear: {out_features: "${width * 7 * 7}"}
    - LeakyReLU: 0.2
    - Reshape: ["${width}", 7, 7]
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: "${channels}", kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  labels: planes
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: same}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml";
  config.latent_size = 8;
  config.width = 8;
  config.optimizer.beta1 = 0.5;
  ExpectSameTraining(config);
}

TEST(DataParallelTest, TwoRanksTrainAUserFileConvVaeLikeOneRank) {
  TrialConfig config = BaseConfig("my_vae.yaml");
  config.model_source = R"yaml(
objective: vae
settings: {latent_size: 4}
encoder:
  layers:
    - Conv2d: {out_channels: 8, kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - Flatten
heads: {out_features: "${latent_size}"}
decoder:
  layers:
    - Linear: {out_features: 1568}
    - ReLU
    - Unflatten: {dim: 1, unflattened_size: [8, 14, 14]}
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
)yaml";
  config.latent_size = 4;
  ExpectSameTraining(config);
}

TEST(DataParallelTest, VaeEncoderCanStartFromATrainedClassifier) {
  // init_encoder_from: the worker trains the classifier (one pass, same seed)
  // and copies its hidden layer into the VAE encoder before training. The
  // result must differ from the same VAE trained from its own initialisation.
  fake_data::ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), /*n_train=*/256, /*n_test=*/64, /*seed=*/4);
  TrialConfig plain = BaseConfig("vae-mlp");
  plain.width = 500;  // classifier-mlp's default hidden width: 784-500 fits
  plain.depth = 1;
  plain.latent_size = 4;
  TrialConfig transfer = plain;
  transfer.init_encoder_from = "classifier-mlp";
  auto without = TrainAndLoad(plain, dir.path(), 1, dir.path() + "/plain.ckpt");
  auto with = TrainAndLoad(transfer, dir.path(), 1, dir.path() + "/transfer.ckpt");
  ASSERT_EQ(without.size(), with.size());
  ASSERT_FALSE(with.empty());
  EXPECT_GT((without[0] - with[0]).abs().max().item<double>(), 1e-3);
}

}  // namespace data_parallel_test
}  // namespace
}  // namespace gridrun::testing
