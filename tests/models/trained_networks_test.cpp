// models/trained_networks.h: a checkpoint's modules read without a trainer,
// state dict files, and warm starts (TrialConfig::init_from): a VAE whose
// encoder starts from a trained classifier's first layer has exactly those
// weights at step 0; a continued model starts from every final weight of
// its source; bad warm starts are clear errors that change nothing.
#include "models/trained_networks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/init_from.h"
#include "common/model_catalog.h"
#include "common/sha256.h"
#include "common/trial_config.h"
#include "models/checkpoint_state.h"
#include "models/trainer.h"

namespace gridrun::models {
namespace {
namespace trained_networks_test {

TrialConfig Config(const std::string& model, int latent, int width, int depth) {
  TrialConfig c;
  c.model = model;
  c.dataset = "mnist";
  c.latent_size = latent;
  c.width = width;
  c.depth = depth;
  c.trial_seed = 5;
  c.optimizer = OptimizerConfig{"adam", 1e-2, 0.5, 0.999, 0.0, 0.0};
  return c;
}

ModelBundle Build(const TrialConfig& c) {
  auto bundle = BuildModel(c, *FindDataset(c.dataset));
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  return *bundle;
}

// A trainer of `c` after two steps on random batches, and its checkpoint.
struct Trained {
  std::unique_ptr<Trainer> trainer;
  std::string bytes;
};
Trained Train(const TrialConfig& c) {
  Trained t;
  auto trainer = MakeTrainer(Build(c), c);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  t.trainer = std::move(*trainer);
  for (int step = 0; step < 2; ++step) {
    std::vector<Batch> batches;
    for (int i = 0; i < t.trainer->BatchesPerStep(); ++i) {
      at::Generator gen = at::detail::createCPUGenerator(100 + step * 8 + i);
      torch::Tensor images = torch::rand({8, 1, 28, 28}, gen);
      if (DataRange(t.trainer->bundle().objective) == Range::kMinusOneOne) images = images * 2 - 1;
      batches.push_back(Batch{images, torch::randint(10, {8}, gen, torch::kLong)});
    }
    EXPECT_TRUE(t.trainer->Step(batches).ok());
  }
  auto bytes = SaveCheckpointState(*t.trainer, CheckpointMeta{2, {}});
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  t.bytes = *bytes;
  return t;
}

std::string InitJson(const std::string& network, const std::string& into, int64_t layers,
                     const std::string& bytes) {
  InitFrom f;
  f.trial = 7;
  f.network = network;
  f.into = into;
  f.layers = layers;
  f.checkpoint_sha256 = Sha256Hex(bytes);
  return InitFromToJson(f);
}

NamedTensors Snapshot(const torch::nn::Module& m) {
  NamedTensors out;
  for (const auto& [name, t] : ModuleTensors(m)) out[name] = t.clone();
  return out;
}

void ExpectEqualTensors(const NamedTensors& a, const NamedTensors& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << what << " " << name;
    EXPECT_TRUE(torch::equal(t, b.at(name))) << what << " " << name;
  }
}

TEST(TrainedNetworksTest, CheckpointModulesHoldEveryTensorOfTheTrainer) {
  Trained source = Train(Config("dcgan", 8, 8, 2));
  auto modules = ReadCheckpointModules(source.bytes);
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_EQ(modules->model, "dcgan");
  EXPECT_EQ(modules->step, 2);
  for (const auto& [role, module] : source.trainer->bundle().Modules()) {
    ExpectEqualTensors(ModuleTensors(*module), modules->modules.at(role), role);
  }
  EXPECT_EQ(ReadCheckpointModules("not a checkpoint").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(TrainedNetworksTest, StateDictFileLoadsBackAsADictOfEveryTensor) {
  Trained source = Train(Config("dcgan", 8, 8, 2));
  const auto& generator = *source.trainer->bundle().generator;
  auto bytes = StateDictFileBytes(generator);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  // The zip format of torch.save (what Python's torch.load reads).
  EXPECT_EQ(bytes->substr(0, 2), "PK");
  const c10::IValue loaded = torch::pickle_load(std::vector<char>(bytes->begin(), bytes->end()));
  ASSERT_TRUE(loaded.isGenericDict());
  NamedTensors read;
  for (const auto& entry : loaded.toGenericDict()) {
    read[entry.key().toStringRef()] = entry.value().toTensor();
  }
  ExpectEqualTensors(ModuleTensors(generator), read, "generator");
  EXPECT_TRUE(read.count("net.1.running_mean")) << "BatchNorm buffers belong to the state dict";
}

TEST(TrainedNetworksTest, VaeEncoderStartsFromTheClassifiersFirstLayer) {
  Trained classifier = Train(Config("classifier-mlp", 0, 32, 2));
  TrialConfig vae_config = Config("vae-mlp", 4, 32, 2);
  ModelBundle vae = Build(vae_config);
  const NamedTensors before = Snapshot(*vae.vae);
  ASSERT_TRUE(ApplyInitFrom(InitJson("classifier", "encoder", 1, classifier.bytes),
                            classifier.bytes, vae)
                  .ok());
  const NamedTensors after = Snapshot(*vae.vae);
  const NamedTensors source = Snapshot(*classifier.trainer->bundle().classifier);
  EXPECT_TRUE(torch::equal(after.at("encoder.0.weight"), source.at("layers.0.weight")));
  EXPECT_TRUE(torch::equal(after.at("encoder.0.bias"), source.at("layers.0.bias")));
  // Only the first layer: the second keeps its fresh weights, and so does
  // everything else.
  for (const auto& [name, t] : before) {
    if (name.rfind("encoder.0.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(t, after.at(name))) << name;
  }
  EXPECT_FALSE(torch::equal(after.at("encoder.2.weight"), source.at("layers.2.weight")));
}

TEST(TrainedNetworksTest, AContinuedModelStartsFromEveryFinalWeight) {
  const TrialConfig c = Config("dcgan", 8, 8, 2);
  Trained source = Train(c);
  ModelBundle continued = Build(c);
  ASSERT_TRUE(ApplyInitFrom(InitJson("", "", 0, source.bytes), source.bytes, continued).ok());
  for (const auto& [role, module] : source.trainer->bundle().Modules()) {
    for (const auto& [other_role, other] : continued.Modules()) {
      if (other_role == role) ExpectEqualTensors(Snapshot(*module), Snapshot(*other), role);
    }
  }
}

TEST(TrainedNetworksTest, BadWarmStartsAreClearErrorsAndChangeNothing) {
  Trained classifier = Train(Config("classifier-mlp", 0, 32, 1));
  const std::string& bytes = classifier.bytes;
  ModelBundle vae = Build(Config("vae-mlp", 4, 16, 1));  // 16 units: does not fit 32
  const NamedTensors before = Snapshot(*vae.vae);
  auto expect_error = [&](const std::string& json, std::string_view data, absl::StatusCode code,
                          const std::string& words) {
    absl::Status s = ApplyInitFrom(json, data, vae);
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_NE(s.message().find(words), std::string::npos) << s;
    EXPECT_EQ(s.message().rfind("init_from", 0), 0u) << s;
  };
  expect_error(InitJson("classifier", "encoder", 1, bytes), bytes,
               absl::StatusCode::kInvalidArgument,
               "layer 1 of the source's classifier (bias [32], weight [32, 784]) does not fit "
               "layer 1 of this model's encoder (bias [16], weight [16, 784])");
  expect_error(InitJson("generator", "encoder", 1, bytes), bytes,
               absl::StatusCode::kInvalidArgument, "has no generator");
  expect_error(InitJson("classifier", "critic", 1, bytes), bytes,
               absl::StatusCode::kInvalidArgument, "has no critic");
  expect_error(InitJson("classifier", "decoder", 5, bytes), bytes,
               absl::StatusCode::kInvalidArgument, "layers: 5, but the source's classifier has 2");
  expect_error(InitJson("", "", 0, bytes), bytes, absl::StatusCode::kInvalidArgument,
               "has no vae");
  expect_error(InitJson("classifier", "encoder", 1, "other bytes"), bytes,
               absl::StatusCode::kDataLoss, "the checkpoint has sha256");
  expect_error(InitJson("classifier", "encoder", 1, bytes), "error: trial 7 keeps no checkpoint",
               absl::StatusCode::kFailedPrecondition, "could not be fetched (trial 7 keeps no");
  expect_error(InitJson("classifier", "encoder", 1, "garbage"), "garbage",
               absl::StatusCode::kDataLoss, "not a trainer checkpoint");
  ExpectEqualTensors(before, Snapshot(*vae.vae), "vae after failed warm starts");
}

}  // namespace trained_networks_test
}  // namespace
}  // namespace gridrun::models
