// Trainers on small synthetic data (CPU, 1 thread): losses move the right
// way, WGAN constraints hold, the NaN guard fires, runs are deterministic and
// GradientSync sees every backward.
#include "models/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/model_catalog.h"
#include "common/trial_config.h"
#include "models/model_factory.h"

namespace gridrun::models {
namespace {
namespace trainer_test {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { at::set_num_threads(1); }
};

// Ten class templates (a bright bar whose place depends on the class) plus
// noise; images in [0, 1] or [-1, 1].
Batch Blobs(int64_t n, const ImageShape& s, uint64_t seed, Range range = Range::kZeroOne) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  torch::Tensor templates = torch::zeros({10, s.channels, s.height, s.width});
  for (int64_t c = 0; c < 10; ++c) {
    const int64_t row = (c / 5) * (s.height / 2) + 2, col = (c % 5) * (s.width / 5) + 1;
    templates[c].narrow(1, row, s.height / 3).narrow(2, col, s.width / 6).fill_(0.9);
  }
  torch::Tensor labels = torch::randint(10, {n}, gen, torch::kLong);
  torch::Tensor images = (templates.index_select(0, labels) +
                          0.1 * torch::rand({n, s.channels, s.height, s.width}, gen))
                             .clamp(0, 1);
  if (range == Range::kMinusOneOne) images = images * 2 - 1;
  return Batch{images, labels};
}

TrialConfig Config(const std::string& model, int64_t latent, int64_t width, int64_t depth = 0) {
  TrialConfig c;
  c.model = model;
  c.dataset = "mnist";
  c.latent_size = static_cast<int>(latent);
  c.width = static_cast<int>(width);
  c.depth = static_cast<int>(depth);
  c.trial_seed = 7;
  c.optimizer.lr = 1e-3;
  c.eval_samples = 64;
  return c;
}

std::unique_ptr<Trainer> Make(const TrialConfig& c, TrainerOptions options = {}) {
  auto bundle = BuildModel(c, *FindDataset(c.dataset));
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  auto trainer = MakeTrainer(*bundle, c, options);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  return std::move(*trainer);
}

// Batches for step `step` of a run: deterministic in (step).
std::vector<Batch> StepBatches(const Trainer& t, int64_t step, int64_t batch_size = 32) {
  std::vector<Batch> out;
  for (int i = 0; i < t.BatchesPerStep(); ++i) {
    out.push_back(
        Blobs(batch_size, t.bundle().image, 1000 + step * 16 + i, DataRange(t.bundle().objective)));
  }
  return out;
}

double Mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

TEST_F(TrainerTest, VaeLossFalls) {
  TrialConfig c = Config("vae-mlp", /*latent=*/8, /*width=*/64, /*depth=*/1);
  auto t = Make(c);
  std::vector<double> losses;
  for (int step = 0; step < 200; ++step) {
    auto m = t->Step(StepBatches(*t, step));
    ASSERT_TRUE(m.ok()) << m.status();
    losses.push_back(m->at("loss/total"));
    EXPECT_NEAR(m->at("loss/total"), m->at("loss/recon") + c.kl_weight * m->at("loss/kl"), 1e-3);
  }
  EXPECT_LT(Mean(losses, 190, 200), 0.6 * Mean(losses, 0, 10));
  EXPECT_EQ(t->step(), 200);

  Batch held_out = Blobs(100, t->bundle().image, 99);
  auto eval = t->Evaluate(held_out);
  ASSERT_TRUE(eval.ok()) << eval.status();
  for (const char* key : {"test/recon", "test/kl", "test/neg_elbo", "test/loss"}) {
    ASSERT_TRUE(eval->count(key)) << key;
    EXPECT_TRUE(std::isfinite(eval->at(key))) << key;
  }
  EXPECT_NEAR(eval->at("test/neg_elbo"), eval->at("test/recon") + eval->at("test/kl"), 1e-6);
  // Evaluation is repeatable (fixed noise stream) and leaves training state alone.
  auto again = t->Evaluate(held_out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(eval->at("test/neg_elbo"), again->at("test/neg_elbo"));
}

TEST_F(TrainerTest, VaeMseAndConvVaeTrain) {
  TrialConfig c = Config("vae-conv", /*latent=*/4, /*width=*/8, /*depth=*/2);
  c.recon_loss = "mse";
  auto t = Make(c);
  std::vector<double> losses;
  for (int step = 0; step < 40; ++step) {
    auto m = t->Step(StepBatches(*t, step, 16));
    ASSERT_TRUE(m.ok()) << m.status();
    losses.push_back(m->at("loss/total"));
  }
  EXPECT_LT(Mean(losses, 35, 40), Mean(losses, 0, 5));
  c.recon_loss = "l1";
  auto bundle = BuildModel(c, *FindDataset("mnist"));
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(MakeTrainer(*bundle, c).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, GanDiscriminatorLearnsEarlyAndLossesStayFinite) {
  TrialConfig c = Config("gan-mlp", /*latent=*/16, /*width=*/32, /*depth=*/2);
  auto t = Make(c);
  Batch held_out = Blobs(128, t->bundle().image, 99, Range::kMinusOneOne);
  auto before = t->Evaluate(held_out);
  ASSERT_TRUE(before.ok()) << before.status();
  // D first separates real images from the noise-initialised fakes; then the
  // generator catches up, so take the best accuracy of the first steps.
  double best_accuracy = 0;
  for (int step = 0; step < 30; ++step) {
    auto m = t->Step(StepBatches(*t, step));
    ASSERT_TRUE(m.ok()) << m.status();
    for (const char* key : {"loss/d", "loss/g", "d_real", "d_fake"}) {
      EXPECT_TRUE(std::isfinite(m->at(key))) << key;
    }
    EXPECT_GE(m->at("d_real"), 0.0);
    EXPECT_LE(m->at("d_real"), 1.0);
    auto eval = t->Evaluate(held_out);
    ASSERT_TRUE(eval.ok()) << eval.status();
    best_accuracy = std::max(best_accuracy, eval->at("test/d_accuracy"));
    EXPECT_GE(eval->at("test/jsd"), 0.0);
    EXPECT_LE(eval->at("test/jsd"), std::log(2.0) + 1e-9);
    EXPECT_FALSE(eval->count("test/wasserstein"));
  }
  EXPECT_GT(best_accuracy, before->at("test/d_accuracy") + 0.1);
  EXPECT_GT(best_accuracy, 0.8);
}

TEST_F(TrainerTest, DcganWithBatchNormTrains) {
  TrialConfig c = Config("dcgan", /*latent=*/8, /*width=*/8, /*depth=*/2);
  auto t = Make(c);
  for (int step = 0; step < 10; ++step) {
    auto m = t->Step(StepBatches(*t, step, 16));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_TRUE(std::isfinite(m->at("loss/d")) && std::isfinite(m->at("loss/g")));
  }
  auto samples = t->Generate(t->FixedNoise(5));
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(samples->sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
  EXPECT_TRUE(samples->device().is_cpu());
  EXPECT_GE(samples->min().item<double>(), -1.0);
  EXPECT_LE(samples->max().item<double>(), 1.0);
}

TEST_F(TrainerTest, WganClipsCriticWeightsEveryStep) {
  TrialConfig c = Config("wgan", /*latent=*/8, /*width=*/8, /*depth=*/2);
  c.critic_iters = 3;
  c.clip_value = 0.01;
  c.optimizer = OptimizerConfig{"rmsprop", 5e-3, 0.5, 0.999, 0.0, 0.0};
  auto t = Make(c);
  EXPECT_EQ(t->BatchesPerStep(), 3);
  for (int step = 0; step < 5; ++step) {
    auto m = t->Step(StepBatches(*t, step, 16));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_NEAR(m->at("wasserstein"), m->at("d_real") - m->at("d_fake"), 1e-9);
    for (const auto& p : t->Parameters(ParameterGroup::kCritic)) {
      EXPECT_LE(p.abs().max().item<double>(), c.clip_value + 1e-9);
    }
  }
  auto eval = t->Evaluate(Blobs(64, t->bundle().image, 5, Range::kMinusOneOne));
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_TRUE(eval->count("test/wasserstein"));
  EXPECT_FALSE(eval->count("test/jsd"));
  // Wrong number of batches for critic_iters 3.
  EXPECT_EQ(t->Step(StepBatches(*t, 0)[0]).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, WganGpPenaltyIsNonNegative) {
  TrialConfig c = Config("wgan-gp", /*latent=*/8, /*width=*/8, /*depth=*/2);
  c.critic_iters = 2;
  auto t = Make(c);
  for (int step = 0; step < 5; ++step) {
    auto m = t->Step(StepBatches(*t, step, 16));
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_TRUE(m->count("loss/gp"));
    EXPECT_GE(m->at("loss/gp"), 0.0);
    EXPECT_TRUE(std::isfinite(m->at("loss/d")));
  }
}

TEST_F(TrainerTest, ConditionalModelsUseLabels) {
  for (const char* model : {"cgan-mlp", "cwgan-conv"}) {
    TrialConfig c = Config(model, /*latent=*/8, /*width=*/8, /*depth=*/2);
    auto t = Make(c);
    for (int step = 0; step < 3; ++step) {
      auto m = t->Step(StepBatches(*t, step, 16));
      ASSERT_TRUE(m.ok()) << model << ": " << m.status();
    }
    // Labels are required.
    std::vector<Batch> unlabeled = StepBatches(*t, 9, 16);
    for (auto& b : unlabeled) b.labels = torch::Tensor();
    EXPECT_EQ(t->Step(unlabeled).status().code(), absl::StatusCode::kInvalidArgument) << model;
    // Generation follows the label: same z, different labels, different images.
    torch::Tensor z = t->FixedNoise(1).repeat({2, 1});
    auto images = t->Generate(z, torch::tensor({1, 7}, torch::kLong));
    ASSERT_TRUE(images.ok()) << images.status();
    EXPECT_FALSE(torch::equal((*images)[0], (*images)[1])) << model;
  }
}

TEST_F(TrainerTest, NanGuardRejectsHugeLearningRate) {
  TrialConfig c = Config("vae-mlp", /*latent=*/4, /*width=*/32, /*depth=*/1);
  c.optimizer = OptimizerConfig{"sgd", 1e30, 0.5, 0.999, 0.0, 0.0};
  auto t = Make(c);
  absl::Status failure;
  for (int step = 0; step < 10 && failure.ok(); ++step) {
    failure = t->Step(StepBatches(*t, step)).status();
  }
  EXPECT_EQ(failure.code(), absl::StatusCode::kFailedPrecondition) << failure;
  EXPECT_EQ(failure.message(), "non-finite loss/total at step " + std::to_string(t->step()));
}

TEST_F(TrainerTest, NanGuardRejectsNanInput) {
  TrialConfig c = Config("gan-mlp", /*latent=*/8, /*width=*/16, /*depth=*/1);
  auto t = Make(c);
  ASSERT_TRUE(t->Step(StepBatches(*t, 0)).ok());
  std::vector<Batch> poisoned = StepBatches(*t, 1);
  poisoned[0].images[0][0][0][0] = std::nan("");
  std::vector<torch::Tensor> before;
  for (const auto& p : t->Parameters(ParameterGroup::kAll)) before.push_back(p.clone());
  absl::Status status = t->Step(poisoned).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "non-finite loss/d at step 1");
  // No update was applied from the bad loss.
  auto after = t->Parameters(ParameterGroup::kAll);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i]));
}

std::vector<double> RunLosses(const TrialConfig& c, const char* key, int steps) {
  auto t = Make(c);
  std::vector<double> out;
  for (int step = 0; step < steps; ++step) {
    auto m = t->Step(StepBatches(*t, step, 16));
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) out.push_back(m->at(key));
  }
  return out;
}

TEST_F(TrainerTest, DeterministicUnderTrialSeed) {
  TrialConfig vae = Config("vae-mlp", /*latent=*/4, /*width=*/32, /*depth=*/1);
  TrialConfig gan = Config("cgan-mlp", /*latent=*/8, /*width=*/16, /*depth=*/1);
  for (const auto& [config, key] : {std::pair{vae, "loss/total"}, std::pair{gan, "loss/g"}}) {
    const auto a = RunLosses(config, key, 8);
    const auto b = RunLosses(config, key, 8);
    EXPECT_EQ(a, b) << config.model;
    TrialConfig other = config;
    other.trial_seed = 8;
    EXPECT_NE(a, RunLosses(other, key, 8)) << config.model;
  }
}

TEST_F(TrainerTest, RanksDrawDifferentNoise) {
  TrialConfig c = Config("vae-mlp", /*latent=*/4, /*width=*/32, /*depth=*/1);
  LocalGradientSync sync;
  auto r0 = Make(c, TrainerOptions{0, 2, &sync});
  auto r1 = Make(c, TrainerOptions{1, 2, &sync});
  // Same weights (BuildModel seeds from trial_seed), same batch, different eps.
  auto a = r0->Step(StepBatches(*r0, 0));
  auto b = r1->Step(StepBatches(*r1, 0));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->at("loss/total"), b->at("loss/total"));
  EXPECT_EQ(
      MakeTrainer(*BuildModel(c, *FindDataset("mnist")), c, TrainerOptions{2, 2}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

class CountingSync : public GradientSync {
 public:
  void AllReduceGradients(std::vector<torch::Tensor>& params) override {
    sizes.push_back(params.size());
    for (const auto& p : params) {
      if (!p.grad().defined()) ++undefined_grads;
    }
  }
  std::vector<size_t> sizes;
  int undefined_grads = 0;
};

TEST_F(TrainerTest, GradientSyncCalledOncePerBackward) {
  TrialConfig gan = Config("wgan-gp", /*latent=*/8, /*width=*/8, /*depth=*/2);
  gan.critic_iters = 3;
  CountingSync sync;
  auto t = Make(gan, TrainerOptions{0, 1, &sync});
  const size_t n_critic = t->Parameters(ParameterGroup::kCritic).size();
  const size_t n_gen = t->Parameters(ParameterGroup::kGenerator).size();
  ASSERT_TRUE(t->Step(StepBatches(*t, 0, 8)).ok());
  ASSERT_TRUE(t->Step(StepBatches(*t, 1, 8)).ok());
  EXPECT_EQ(sync.sizes, (std::vector<size_t>{n_critic, n_critic, n_critic, n_gen, n_critic,
                                             n_critic, n_critic, n_gen}));
  EXPECT_EQ(sync.undefined_grads, 0);

  CountingSync vae_sync;
  auto v = Make(Config("vae-mlp", 4, 16, 1), TrainerOptions{0, 1, &vae_sync});
  for (int step = 0; step < 3; ++step) ASSERT_TRUE(v->Step(StepBatches(*v, step)).ok());
  EXPECT_EQ(vae_sync.sizes, std::vector<size_t>(3, v->Parameters(ParameterGroup::kAll).size()));
  EXPECT_TRUE(v->Parameters(ParameterGroup::kCritic).empty());
}

TEST_F(TrainerTest, ClassifierLearnsAndTransfersToVaeEncoder) {
  TrialConfig c = Config("classifier-mlp", 0, /*width=*/32, /*depth=*/1);
  auto t = Make(c);
  for (int step = 0; step < 60; ++step) {
    auto m = t->Step(StepBatches(*t, step));
    ASSERT_TRUE(m.ok()) << m.status();
  }
  auto eval = t->Evaluate(Blobs(200, t->bundle().image, 77));
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_GT(eval->at("test/accuracy"), 0.9);
  EXPECT_EQ(t->Generate(t->FixedNoise(2)).status().code(), absl::StatusCode::kFailedPrecondition);

  // Transfer into a vae-mlp with the same hidden layer.
  auto vae = BuildModel(Config("vae-mlp", 4, 32, 1), *FindDataset("mnist"));
  ASSERT_TRUE(vae.ok());
  ASSERT_TRUE(InitEncoderFrom(t->bundle(), *vae).ok());
  auto src = t->bundle().classifier->named_parameters();
  auto dst = vae->vae->named_parameters();
  EXPECT_TRUE(torch::equal(src["layers.0.weight"], dst["encoder.0.weight"]));
  EXPECT_TRUE(torch::equal(src["layers.0.bias"], dst["encoder.0.bias"]));
  // A different width does not fit.
  auto wide = BuildModel(Config("vae-mlp", 4, 64, 1), *FindDataset("mnist"));
  ASSERT_TRUE(wide.ok());
  absl::Status mismatch = InitEncoderFrom(t->bundle(), *wide);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.message().find("Linear(784->32)"), std::string::npos) << mismatch;
  // Seed 001's pair matches (task 2-5).
  const DatasetInfo* fashion = FindDataset("fashion-mnist");
  auto classifier = BuildModelByName("seed001-classifier", *fashion);
  auto seed_vae = BuildModelByName("seed001-vae-mlp", *fashion, 64);
  ASSERT_TRUE(classifier.ok() && seed_vae.ok());
  EXPECT_TRUE(InitEncoderFrom(*classifier, *seed_vae).ok());
  EXPECT_EQ(InitEncoderFrom(*seed_vae, *classifier).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, FixedNoiseAndGenerateContracts) {
  TrialConfig c = Config("vae-mlp", /*latent=*/4, /*width=*/16, /*depth=*/1);
  auto t = Make(c);
  EXPECT_TRUE(torch::equal(t->FixedNoise(6), t->FixedNoise(6)));
  EXPECT_EQ(t->FixedNoise(6).sizes(), (std::vector<int64_t>{6, 4}));
  auto images = t->Generate(t->FixedNoise(6));
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_GE(images->min().item<double>(), 0.0);
  EXPECT_LE(images->max().item<double>(), 1.0);
  EXPECT_EQ(t->Generate(torch::zeros({2, 5})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DataRange(Objective::kGan), Range::kMinusOneOne);
  EXPECT_EQ(DataRange(Objective::kVae), Range::kZeroOne);
}

}  // namespace trainer_test
}  // namespace
}  // namespace gridrun::models
