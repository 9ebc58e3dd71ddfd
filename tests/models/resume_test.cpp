// Checkpoint state: N steps, save, load into a fresh trainer, M steps gives
// exactly the losses and parameters of N + M uninterrupted steps (CPU, one
// thread).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/model_catalog.h"
#include "common/trial_config.h"
#include "models/checkpoint_state.h"
#include "models/model_factory.h"
#include "models/trainer.h"

namespace gridrun::models {
namespace {
namespace resume_test {

class ResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { at::set_num_threads(1); }
};

// Deterministic batches for step `step`: images in the model's range.
std::vector<Batch> StepBatches(const Trainer& t, int64_t step) {
  std::vector<Batch> out;
  const ImageShape& s = t.bundle().image;
  for (int i = 0; i < t.BatchesPerStep(); ++i) {
    at::Generator gen = at::detail::createCPUGenerator(500 + step * 8 + i);
    torch::Tensor images = torch::rand({16, s.channels, s.height, s.width}, gen);
    if (DataRange(t.bundle().objective) == Range::kMinusOneOne) images = images * 2 - 1;
    out.push_back(Batch{images, torch::randint(10, {16}, gen, torch::kLong)});
  }
  return out;
}

TrialConfig Config(const std::string& model, int latent, int width, int depth) {
  TrialConfig c;
  c.model = model;
  c.dataset = "mnist";
  c.latent_size = latent;
  c.width = width;
  c.depth = depth;
  c.trial_seed = 11;
  c.optimizer = OptimizerConfig{"adam", 2e-3, 0.5, 0.999, 0.0, 0.0};
  return c;
}

std::unique_ptr<Trainer> Make(const TrialConfig& c) {
  auto bundle = BuildModel(c, *FindDataset(c.dataset));
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  auto trainer = MakeTrainer(*bundle, c);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  return std::move(*trainer);
}

std::vector<Metrics> Run(Trainer& t, int64_t from, int64_t to) {
  std::vector<Metrics> out;
  for (int64_t step = from; step < to; ++step) {
    auto m = t.Step(StepBatches(t, step));
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) out.push_back(*m);
  }
  return out;
}

// Every parameter and buffer (BatchNorm statistics) of every module.
void ExpectSameState(const Trainer& a, const Trainer& b) {
  auto ma = a.bundle().Modules(), mb = b.bundle().Modules();
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    auto pa = ma[i].second->named_parameters(), pb = mb[i].second->named_parameters();
    for (const auto& item : pa) {
      EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << ma[i].first << " " << item.key();
    }
    auto ba = ma[i].second->named_buffers(), bb = mb[i].second->named_buffers();
    for (const auto& item : ba) {
      EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << ma[i].first << " " << item.key();
    }
  }
}

void CheckResume(const TrialConfig& c, int64_t n, int64_t m) {
  auto straight = Make(c);
  std::vector<Metrics> expected = Run(*straight, 0, n + m);

  auto first = Make(c);
  Run(*first, 0, n);
  CheckpointMeta meta{/*epoch=*/3, {{"batch", 117}, {"shard_seed", -5}}};
  auto bytes = SaveCheckpointState(*first, meta);
  ASSERT_TRUE(bytes.ok()) << bytes.status();

  auto resumed = Make(c);
  auto loaded = LoadCheckpointState(*bytes, *resumed);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, meta);
  EXPECT_EQ(resumed->step(), n);
  std::vector<Metrics> tail = Run(*resumed, n, n + m);
  ASSERT_EQ(tail.size(), static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i)
    EXPECT_EQ(tail[i], expected[n + i]) << c.model << " step " << n + i;
  ExpectSameState(*straight, *resumed);
}

TEST_F(ResumeTest, VaeResumesExactly) { CheckResume(Config("vae-mlp", 4, 32, 1), 3, 3); }

TEST_F(ResumeTest, DcganWithBatchNormAndAdamResumesExactly) {
  CheckResume(Config("dcgan", 8, 8, 2), 3, 3);
}

TEST_F(ResumeTest, ConditionalWganGpWithCriticItersResumesExactly) {
  TrialConfig c = Config("cwgan-conv", 8, 4, 2);
  c.critic_iters = 2;
  CheckResume(c, 2, 2);
}

TEST_F(ResumeTest, DropoutPresetResumesExactly) {
  // seed 003's critic has Dropout: torch's default generator is reseeded per step.
  TrialConfig c = Config("seed003-cwgan-mlp", 0, 0, 0);
  c.dataset = "fashion-mnist";
  CheckResume(c, 2, 2);
}

TEST_F(ResumeTest, RejectsForeignAndCorruptCheckpoints) {
  auto vae = Make(Config("vae-mlp", 4, 32, 1));
  auto bytes = SaveCheckpointState(*vae, CheckpointMeta{});
  ASSERT_TRUE(bytes.ok()) << bytes.status();

  auto other_model = Make(Config("vae-conv", 4, 8, 2));
  EXPECT_EQ(LoadCheckpointState(*bytes, *other_model).status().code(),
            absl::StatusCode::kFailedPrecondition);
  TrialConfig reseeded = Config("vae-mlp", 4, 32, 1);
  reseeded.trial_seed = 12;
  auto other_seed = Make(reseeded);
  EXPECT_EQ(LoadCheckpointState(*bytes, *other_seed).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(LoadCheckpointState("not a checkpoint", *vae).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(LoadCheckpointState(bytes->substr(0, bytes->size() / 2), *vae).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(SaveCheckpointState(*vae, CheckpointMeta{0, {{"bad\nkey", 1}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace resume_test
}  // namespace
}  // namespace gridrun::models
