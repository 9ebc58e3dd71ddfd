#include "coordinator/grid_expand.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/trial_config.h"
#include "coordinator/grid_spec.h"

namespace gridrun::coordinator {
namespace {
namespace grid_expand_test {

// Pinned results for "experiment: e1, dataset: mnist, model: vae-mlp".
constexpr int64_t kPinnedTrialSeed = 614810277667544175;
constexpr char kPinnedConfigSha256[] =
    "42a55d65d2c2f4c5d3bc95ab84126c7e6f0c335b5eb1ac8d6e40451d6c92ddf8";

GridSpec Parse(const std::string& yaml) {
  auto spec = ParseGridSpec(yaml);
  EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << yaml;
  return spec.ok() ? *spec : GridSpec{};
}

using Params = std::map<std::string, std::string>;

// The derivation documented in grid_expand.h, written out independently.
int64_t ExpectedTrialSeed(TrialConfig config) {
  config.trial_seed = 0;
  const std::string digest = Sha256Hex(absl::StrCat(config.seed, ":", ConfigSha256(config)));
  uint64_t bits = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(digest.substr(0, 16), &bits));
  return static_cast<int64_t>(bits & ((uint64_t{1} << 62) - 1));
}

TEST(GridExpandTest, NestedLoopOrderWithAxesInFileOrder) {
  // width is listed first, so it varies slowest even though it sorts last.
  const GridSpec spec = Parse(
      "experiment: e1\ndataset: mnist\nmodel: vae-mlp\n"
      "grid:\n  width: [100, 200]\n  latent_size: [2, 8, 16]\n");
  const std::vector<ExpandedTrial> trials = ExpandGrid(spec);
  ASSERT_EQ(trials.size(), 6u);
  const std::vector<Params> expected = {
      {{"width", "100"}, {"latent_size", "2"}},  {{"width", "100"}, {"latent_size", "8"}},
      {{"width", "100"}, {"latent_size", "16"}}, {{"width", "200"}, {"latent_size", "2"}},
      {{"width", "200"}, {"latent_size", "8"}},  {{"width", "200"}, {"latent_size", "16"}},
  };
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].params, expected[i]) << i;
    EXPECT_EQ(trials[i].config.width, std::stoi(expected[i].at("width")));
    EXPECT_EQ(trials[i].config.latent_size, std::stoi(expected[i].at("latent_size")));
    EXPECT_EQ(trials[i].config_sha256, ConfigSha256(trials[i].config));
  }
}

TEST(GridExpandTest, FillsEveryDefaultForAVae) {
  const std::vector<ExpandedTrial> trials =
      ExpandGrid(Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\n"));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_TRUE(trials[0].params.empty());
  TrialConfig expected;
  expected.experiment = "e1";
  expected.dataset = "mnist";
  expected.model = "vae-mlp";
  expected.epochs = 1;
  expected.batch_size = 64;
  expected.ranks = 1;
  expected.device = "cpu";
  expected.seed = 0;
  expected.latent_size = 20;
  expected.width = 500;
  expected.depth = 1;
  expected.kl_weight = 1.0;
  expected.recon_loss = "bce";
  expected.critic_iters = 1;
  expected.clip_value = 0.01;
  expected.gp_weight = 10.0;
  expected.optimizer = OptimizerConfig{"adam", 1e-3, 0.9, 0.999, 0.0, 0.0};
  expected.samples = SampleConfig{{1}, 64};
  expected.train_size = 0;
  expected.test_size = 0;
  expected.eval_samples = 1000;
  expected.init_encoder_from = "";
  expected.trial_seed = ExpectedTrialSeed(expected);
  EXPECT_EQ(trials[0].config, expected);
  EXPECT_EQ(trials[0].config_sha256, ConfigSha256(expected));
}

TEST(GridExpandTest, DefaultsFollowTheObjective) {
  struct Case {
    std::string model;
    std::string optimizer;
    double lr;
    double beta1;
    int critic_iters;
    int latent_size;
    int width;
    int depth;
  };
  const Case cases[] = {
      {"dcgan", "adam", 2e-4, 0.5, 1, 100, 64, 3},
      {"gan-mlp", "adam", 2e-4, 0.5, 1, 100, 256, 2},
      {"wgan", "rmsprop", 5e-5, 0.5, 5, 100, 64, 3},
      {"wgan-gp", "adam", 2e-4, 0.5, 5, 100, 64, 3},
      {"vae-conv", "adam", 1e-3, 0.9, 1, 16, 32, 2},
      {"classifier-mlp", "adam", 1e-3, 0.9, 1, 0, 500, 1},
      {"seed001-dcgan", "adam", 2e-4, 0.5, 1, 100, 0, 0},
      {"seed000-wgan", "rmsprop", 5e-5, 0.5, 5, 64, 0, 0},
  };
  for (const Case& c : cases) {
    const auto trials = ExpandGrid(
        Parse(absl::StrCat("experiment: e1\ndataset: mnist\nmodel: ", c.model, "\nepochs: 7\n")));
    ASSERT_EQ(trials.size(), 1u);
    const TrialConfig& config = trials[0].config;
    EXPECT_EQ(config.optimizer.name, c.optimizer) << c.model;
    EXPECT_EQ(config.optimizer.lr, c.lr) << c.model;
    EXPECT_EQ(config.optimizer.beta1, c.beta1) << c.model;
    EXPECT_EQ(config.optimizer.beta2, 0.999) << c.model;
    EXPECT_EQ(config.critic_iters, c.critic_iters) << c.model;
    EXPECT_EQ(config.latent_size, c.latent_size) << c.model;
    EXPECT_EQ(config.width, c.width) << c.model;
    EXPECT_EQ(config.depth, c.depth) << c.model;
    EXPECT_EQ(config.samples, (SampleConfig{{7}, 64})) << c.model;
  }
}

TEST(GridExpandTest, SpecValuesOverrideDefaults) {
  const auto trials = ExpandGrid(Parse(R"(experiment: override
dataset: cifar10
model: wgan
epochs: 30
batch_size: 256
ranks: 4
device: cuda
seed: 11
latent_size: 64
width: 32
critic_iters: 2
clip_value: 0.05
optimizer: {name: sgd, lr: 0.01, momentum: 0.9, weight_decay: 1e-4}
samples: {epochs: [30, 1, 10], count: 16}
train_size: 5000
test_size: 1000
eval_samples: 500
)"));
  ASSERT_EQ(trials.size(), 1u);
  const TrialConfig& c = trials[0].config;
  EXPECT_EQ(c.experiment, "override");
  EXPECT_EQ(c.dataset, "cifar10");
  EXPECT_EQ(c.model, "wgan");
  EXPECT_EQ(c.epochs, 30);
  EXPECT_EQ(c.batch_size, 256);
  EXPECT_EQ(c.ranks, 4);
  EXPECT_EQ(c.device, "cuda");
  EXPECT_EQ(c.seed, 11);
  EXPECT_EQ(c.latent_size, 64);
  EXPECT_EQ(c.width, 32);
  EXPECT_EQ(c.depth, 3);
  EXPECT_EQ(c.critic_iters, 2);
  EXPECT_EQ(c.clip_value, 0.05);
  EXPECT_EQ(c.optimizer, (OptimizerConfig{"sgd", 0.01, 0.5, 0.999, 0.9, 1e-4}));
  EXPECT_EQ(c.samples, (SampleConfig{{1, 10, 30}, 16}));
  EXPECT_EQ(c.train_size, 5000);
  EXPECT_EQ(c.test_size, 1000);
  EXPECT_EQ(c.eval_samples, 500);
}

TEST(GridExpandTest, TheDesignExample) {
  const auto trials = ExpandGrid(Parse(R"(experiment: vae-kl-sweep
dataset: fashion-mnist
model: vae-mlp
epochs: 20
batch_size: 128
optimizer: {name: adam, lr: 1.0e-3, betas: [0.5, 0.999]}
seed: 7
ranks: 2
samples: {epochs: [1, 5, 10, 20], count: 12}
init_encoder_from: classifier-mlp
grid:
  latent_size: [2, 64]
  kl_weight: [1.0, 0.7, 0.5, 0.4, 0.3, 0.25]
  width: [500]
)"));
  ASSERT_EQ(trials.size(), 12u);
  const std::vector<std::string> kl = {"1", "0.7", "0.5", "0.4", "0.3", "0.25"};
  for (size_t i = 0; i < trials.size(); ++i) {
    const Params expected = {
        {"latent_size", i < 6 ? "2" : "64"}, {"kl_weight", kl[i % 6]}, {"width", "500"}};
    EXPECT_EQ(trials[i].params, expected) << i;
    const TrialConfig& c = trials[i].config;
    EXPECT_EQ(c.latent_size, i < 6 ? 2 : 64);
    EXPECT_EQ(c.kl_weight, std::stod(kl[i % 6]));
    EXPECT_EQ(c.optimizer, (OptimizerConfig{"adam", 1e-3, 0.5, 0.999, 0.0, 0.0}));
    EXPECT_EQ(c.samples, (SampleConfig{{1, 5, 10, 20}, 12}));
    EXPECT_EQ(c.init_encoder_from, "classifier-mlp");
    EXPECT_EQ(c.seed, 7);
    EXPECT_EQ(c.ranks, 2);
  }
}

TEST(GridExpandTest, ModelAxisResolvesDefaultsPerTrial) {
  const auto trials =
      ExpandGrid(Parse("experiment: e1\nepochs: 3\ngrid:\n  model: [vae-mlp, dcgan]\n  dataset: "
                       "[mnist, cifar10]\n"));
  ASSERT_EQ(trials.size(), 4u);
  const std::vector<Params> expected = {
      {{"model", "vae-mlp"}, {"dataset", "mnist"}},
      {{"model", "vae-mlp"}, {"dataset", "cifar10"}},
      {{"model", "dcgan"}, {"dataset", "mnist"}},
      {{"model", "dcgan"}, {"dataset", "cifar10"}},
  };
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].params, expected[i]);
    EXPECT_EQ(trials[i].config.model, expected[i].at("model"));
    EXPECT_EQ(trials[i].config.dataset, expected[i].at("dataset"));
  }
  EXPECT_EQ(trials[0].config.optimizer.lr, 1e-3);
  EXPECT_EQ(trials[0].config.latent_size, 20);
  EXPECT_EQ(trials[3].config.optimizer.lr, 2e-4);
  EXPECT_EQ(trials[3].config.latent_size, 100);
}

TEST(GridExpandTest, DefaultSampleEpochFollowsTheEpochsAxis) {
  const auto trials = ExpandGrid(
      Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\ngrid:\n  epochs: [5, 50]\n"));
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].config.samples.epochs, std::vector<int>{5});
  EXPECT_EQ(trials[1].config.samples.epochs, std::vector<int>{50});
}

TEST(GridExpandTest, ParamsUseCanonicalText) {
  const auto trials =
      ExpandGrid(Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\n"
                       "grid:\n  lr: [1.0e-3, 2E-4]\n  recon_loss: [mse]\n  train_size: [+100]\n"));
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].params,
            (Params{{"lr", "0.001"}, {"recon_loss", "mse"}, {"train_size", "100"}}));
  EXPECT_EQ(trials[1].params,
            (Params{{"lr", "0.0002"}, {"recon_loss", "mse"}, {"train_size", "100"}}));
  EXPECT_EQ(trials[0].config.optimizer.lr, 0.001);
  EXPECT_EQ(trials[1].config.optimizer.lr, 0.0002);
}

TEST(GridExpandTest, HashesIgnoreSpellingKeyOrderAndComments) {
  const std::string a =
      "experiment: same\ndataset: mnist\nmodel: vae-mlp\nepochs: 10\nlr: 0.001\n"
      "grid:\n  kl_weight: [1, 0.5]\n";
  const std::string b =
      "# the same spec, written differently\n"
      "model:    vae-mlp   # family\n"
      "optimizer:\n"
      "  lr: 1.0e-3\n"
      "grid: {kl_weight: [1.0, 5e-1]}\n"
      "epochs: 10\n"
      "dataset: mnist\n"
      "experiment: same\n";
  const NewExperiment x = ToNewExperiment(Parse(a), a);
  const NewExperiment y = ToNewExperiment(Parse(b), b);
  EXPECT_EQ(x.spec_sha256, y.spec_sha256);
  ASSERT_EQ(x.trials.size(), 2u);
  ASSERT_EQ(y.trials.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(x.trials[i].config_sha256, y.trials[i].config_sha256);
    EXPECT_EQ(x.trials[i].config_json, y.trials[i].config_json);
    EXPECT_EQ(x.trials[i].params, y.trials[i].params);
  }
  EXPECT_NE(x.spec_yaml, y.spec_yaml);  // stored as written
}

TEST(GridExpandTest, HashChangesWhenAnyHyperparameterChanges) {
  const std::string base = "experiment: e1\ndataset: mnist\nmodel: vae-mlp\n";
  const std::string base_hash = ExpandGrid(Parse(base))[0].config_sha256;
  const std::vector<std::string> changes = {
      "dataset: fashion-mnist",
      "model: vae-conv",
      "epochs: 2",
      "batch_size: 32",
      "ranks: 2",
      "device: cuda",
      "seed: 1",
      "latent_size: 21",
      "width: 499",
      "depth: 2",
      "kl_weight: 0.99",
      "recon_loss: mse",
      "lr: 0.002",
      "optimizer: {name: sgd}",
      "optimizer: {betas: [0.5, 0.999]}",
      "optimizer: {weight_decay: 0.1}",
      "samples: {count: 63}",
      "samples: {epochs: []}",
      "train_size: 100",
      "test_size: 100",
      "eval_samples: 999",
      "init_encoder_from: classifier-mlp",
  };
  std::set<std::string> hashes = {base_hash};
  for (const std::string& change : changes) {
    std::string yaml = base;
    // Replace the line that sets the same key, or append.
    const std::string key = change.substr(0, change.find(':') + 1);
    if (const size_t at = yaml.find("\n" + key); at != std::string::npos) {
      yaml.replace(at + 1, yaml.find('\n', at + 1) - at - 1, change);
    } else {
      yaml += change + "\n";
    }
    const auto trials = ExpandGrid(Parse(yaml));
    ASSERT_EQ(trials.size(), 1u) << yaml;
    EXPECT_TRUE(hashes.insert(trials[0].config_sha256).second) << change;
  }
}

TEST(GridExpandTest, HashAndSeedIgnoreTheExperimentName) {
  const std::string a = "experiment: first\ndataset: mnist\nmodel: dcgan\nseed: 3\n";
  const std::string b = "experiment: second\ndataset: mnist\nmodel: dcgan\nseed: 3\n";
  const NewExperiment x = ToNewExperiment(Parse(a), a);
  const NewExperiment y = ToNewExperiment(Parse(b), b);
  EXPECT_NE(x.spec_sha256, y.spec_sha256);
  EXPECT_EQ(x.trials[0].config_sha256, y.trials[0].config_sha256);
  EXPECT_EQ(ExpandGrid(Parse(a))[0].config.trial_seed, ExpandGrid(Parse(b))[0].config.trial_seed);
}

TEST(GridExpandTest, TrialSeedsAreDistinctAndStable) {
  const GridSpec spec = Parse(
      "experiment: seeds\ndataset: mnist\nmodel: vae-mlp\nseed: 7\n"
      "grid:\n  kl_weight: [1, 0.5, 0.25]\n  latent_size: [2, 4]\n");
  const auto trials = ExpandGrid(spec);
  ASSERT_EQ(trials.size(), 6u);
  std::set<int64_t> seeds;
  for (const ExpandedTrial& t : trials) {
    EXPECT_EQ(t.config.trial_seed, ExpectedTrialSeed(t.config));
    EXPECT_GE(t.config.trial_seed, 0);
    EXPECT_LT(t.config.trial_seed, int64_t{1} << 62);
    seeds.insert(t.config.trial_seed);
  }
  EXPECT_EQ(seeds.size(), trials.size());
  // Same spec, same seeds (a second expansion is identical).
  const auto again = ExpandGrid(spec);
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(again[i].config, trials[i].config);
    EXPECT_EQ(again[i].config_sha256, trials[i].config_sha256);
  }
  // A changed derivation (or TrialConfig JSON) must be noticed: it changes
  // the seeds of trials that were already run and breaks result reuse.
  const auto single = ExpandGrid(Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\n"));
  EXPECT_EQ(single[0].config.trial_seed, kPinnedTrialSeed);
  EXPECT_EQ(single[0].config_sha256, kPinnedConfigSha256);
}

TEST(GridExpandTest, ToNewExperimentCarriesEverything) {
  const std::string yaml =
      "experiment: carry\ndataset: mnist\nmodel: vae-mlp\nranks: 2\ndevice: cuda\n"
      "grid:\n  latent_size: [2, 64]\n";
  const GridSpec spec = Parse(yaml);
  const NewExperiment experiment = ToNewExperiment(spec, yaml);
  EXPECT_EQ(experiment.name, "carry");
  EXPECT_EQ(experiment.spec_yaml, yaml);
  EXPECT_EQ(experiment.spec_sha256, Sha256Hex(spec.canonical_json));
  const auto trials = ExpandGrid(spec);
  ASSERT_EQ(experiment.trials.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const NewTrial& t = experiment.trials[i];
    EXPECT_EQ(t.number, static_cast<int64_t>(i));
    EXPECT_EQ(t.config_json, ToCanonicalJson(trials[i].config));
    EXPECT_EQ(t.config_sha256, trials[i].config_sha256);
    EXPECT_EQ(t.params, trials[i].params);
    EXPECT_EQ(t.ranks, 2);
    EXPECT_EQ(t.device, "cuda");
    auto parsed = TrialConfigFromJson(t.config_json);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, trials[i].config);
    EXPECT_EQ(ConfigSha256(*parsed), t.config_sha256);
  }
}

TEST(GridExpandTest, Summary) {
  EXPECT_EQ(SummarizeGrid(Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\n")), "1 trial");
  EXPECT_EQ(SummarizeGrid(Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\n"
                                "grid:\n  latent_size: [2, 64]\n  kl_weight: [1.0, 0.5, 2.5e-1]\n"
                                "  recon_loss: [mse]\n")),
            "6 trials\n"
            "  latent_size: 2, 64 (2 values)\n"
            "  kl_weight: 1, 0.5, 0.25 (3 values)\n"
            "  recon_loss: mse (1 value)");
  EXPECT_EQ(SummarizeGrid(Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\n"
                                "grid:\n  seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n")),
            "12 trials\n  seed: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (12 values)");
}

TEST(GridExpandTest, ACancelCheckStopsTheExpansion) {
  std::string seeds;
  for (int i = 0; i < 200; ++i) absl::StrAppend(&seeds, i == 0 ? "" : ", ", i);
  const GridSpec spec =
      Parse("experiment: e1\ndataset: mnist\nmodel: vae-mlp\ngrid:\n  seed: [" + seeds + "]\n");
  int polls = 0;
  auto stopped = ExpandGrid(spec, [&] { return ++polls > 2; });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(stopped.status().message(),
            "grid expansion stopped after 128 trials: the caller cancelled");
  auto experiment = ToNewExperiment(spec, "yaml", [] { return true; });
  EXPECT_EQ(experiment.status().code(), absl::StatusCode::kCancelled);
  // A check that never fires changes nothing.
  auto all = ExpandGrid(spec, [] { return false; });
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 200u);
  EXPECT_EQ((*all)[199].config_sha256, ExpandGrid(spec)[199].config_sha256);
}

}  // namespace grid_expand_test
}  // namespace
}  // namespace gridrun::coordinator
