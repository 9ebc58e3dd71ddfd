#include "coordinator/grid_spec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model_catalog.h"
#include "tests/coordinator/alias_bombs.h"
#include "modelspec/zoo.h"

namespace gridrun::coordinator {
namespace {
namespace grid_spec_test {

const std::string kTopKeys =
    "experiment, dataset, model, epochs, batch_size, ranks, device, seed, latent_size, width, "
    "depth, kl_weight, recon_loss, critic_iters, clip_value, gp_weight, lr, optimizer, samples, "
    "train_size, test_size, eval_samples, init_encoder_from, init_from, search, scheduler, stop, "
    "keep_best, keep_trained, grid";
const std::string kAxes =
    "dataset, model, epochs, batch_size, ranks, device, seed, latent_size, width, depth, "
    "kl_weight, recon_loss, critic_iters, clip_value, gp_weight, train_size, test_size, "
    "eval_samples, init_encoder_from, lr, optimizer.name, optimizer.lr, optimizer.momentum, "
    "optimizer.weight_decay";
const std::string kNameRule = "a name matching [a-z0-9][a-z0-9._-]{0,63}";

// The first three lines of most cases; the case's own lines start at line 4.
constexpr char kVae[] = "experiment: e1\ndataset: mnist\nmodel: vae-mlp\n";
constexpr char kDcgan[] = "experiment: e1\ndataset: mnist\nmodel: dcgan\n";
constexpr char kWgan[] = "experiment: e1\ndataset: mnist\nmodel: wgan\n";

struct BadSpec {
  std::string name;
  std::string yaml;
  std::string error;  // the whole message
  int64_t max_trials = 10000;
};

void PrintTo(const BadSpec& c, std::ostream* os) { *os << c.name; }

class BadSpecTest : public testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, ReportsExactError) {
  const BadSpec& c = GetParam();
  GridLimits limits;
  limits.max_trials = c.max_trials;
  auto spec = ParseGridSpec(c.yaml, limits);
  ASSERT_FALSE(spec.ok()) << c.yaml;
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(spec.status().message()), c.error) << c.yaml;
}

std::string Cat(const std::string& a, const std::string& b) { return a + b; }

const BadSpec kBadSpecs[] = {
    // Wrong types.
    {"IntGivenReal", Cat(kVae, "epochs: 1.5\n"),
     "line 4: epochs: not an integer (got 1.5; allowed: 1..100000)"},
    {"IntGivenWord", Cat(kVae, "epochs: abc\n"),
     "line 4: epochs: not an integer (got abc; allowed: 1..100000)"},
    {"IntGivenBool", Cat(kVae, "batch_size: true\n"),
     "line 4: batch_size: not an integer (got true; allowed: 1..65536)"},
    {"IntGivenQuotedString", Cat(kVae, "ranks: \"2\"\n"),
     "line 4: ranks: not an integer (got \"2\"; allowed: 1..1024)"},
    {"RealGivenWord", Cat(kVae, "kl_weight: lots\n"),
     "line 4: kl_weight: not a number (got lots; allowed: >= 0)"},
    {"NullValue", Cat(kVae, "epochs:\n"), "line 4: epochs: no value (allowed: 1..100000)"},
    {"ListAtTopLevel", Cat(kVae, "kl_weight: [1, 0.5]\n"),
     "line 4: kl_weight: not a single value; to sweep it, list its values under grid "
     "(got [1, 0.5]; allowed: >= 0)"},
    {"RootNotAMap", "- a\n- b\n",
     "line 1: spec: not a map (got [a, b]; allowed: a map of settings)"},
    {"EmptyDocument", "# nothing here\n",
     "line 1: spec: empty document (allowed: a map of settings)"},
    // Out-of-range values.
    {"EpochsZero", Cat(kVae, "epochs: 0\n"),
     "line 4: epochs: out of range (got 0; allowed: 1..100000)"},
    {"DepthTooLarge", Cat(kVae, "depth: 9\n"),
     "line 4: depth: out of range (got 9; allowed: 1..8)"},
    {"NegativeSeed", Cat(kVae, "seed: -1\n"), "line 4: seed: out of range (got -1; allowed: >= 0)"},
    {"SeedOverflows", Cat(kVae, "seed: 99999999999999999999\n"),
     "line 4: seed: out of range (got 99999999999999999999; allowed: >= 0)"},
    {"NegativeKlWeight", Cat(kVae, "kl_weight: -0.5\n"),
     "line 4: kl_weight: out of range (got -0.5; allowed: >= 0)"},
    {"ZeroClipValue", Cat(kWgan, "clip_value: 0\n"),
     "line 4: clip_value: out of range (got 0; allowed: > 0)"},
    {"LrTooLarge", Cat(kVae, "lr: 11\n"),
     "line 4: lr: out of range (got 11; allowed: > 0 and <= 10)"},
    {"EvalSamplesTooLarge", Cat(kVae, "eval_samples: 100001\n"),
     "line 4: eval_samples: out of range (got 100001; allowed: 0..100000)"},
    {"UnknownDataset", "experiment: e1\ndataset: mnits\nmodel: vae-mlp\n",
     "line 2: dataset: unknown data set, did you mean 'mnist'? "
     "(got mnits; allowed: mnist, fashion-mnist, cifar10)"},
    {"UnknownModel", "experiment: e1\ndataset: mnist\nmodel: resnet\n",
     absl::StrCat("line 3: model: unknown model (got resnet; allowed: ", ModelNames(), ")")},
    {"UnknownDevice", Cat(kVae, "device: gpu\n"),
     "line 4: device: unknown value, did you mean 'cpu'? (got gpu; allowed: cpu, cuda)"},
    {"UnknownReconLoss", Cat(kVae, "recon_loss: l2\n"),
     "line 4: recon_loss: unknown value (got l2; allowed: bce, mse)"},
    {"InvalidExperimentName", "experiment: My Exp\ndataset: mnist\nmodel: vae-mlp\n",
     "line 1: experiment: invalid name (got My Exp; allowed: " + kNameRule + ")"},
    // Unknown keys.
    {"UnknownTopLevelKeyWithSuggestion", Cat(kVae, "optimiser: {name: adam}\n"),
     "line 4: optimiser: unknown key, did you mean 'optimizer'? (allowed: " + kTopKeys + ")"},
    {"UnknownTopLevelKey", Cat(kVae, "colour: blue\n"),
     "line 4: colour: unknown key (allowed: " + kTopKeys + ")"},
    {"UnknownOptimizerKey", Cat(kVae, "optimizer: {name: adam, beta: [0.5, 0.9]}\n"),
     "line 4: optimizer.beta: unknown key, did you mean 'betas'? "
     "(allowed: name, lr, betas, momentum, weight_decay)"},
    {"UnknownSamplesKey", Cat(kVae, "samples: {epoch: [1]}\n"),
     "line 4: samples.epoch: unknown key, did you mean 'epochs'? (allowed: epochs, count)"},
    {"UnknownAxis", Cat(kVae, "grid:\n  kl_wieght: [1]\n"),
     "line 5: grid.kl_wieght: unknown axis, did you mean 'kl_weight'? (allowed: " + kAxes + ")"},
    {"NotAnAxis", Cat(kVae, "grid:\n  samples: [1]\n"),
     "line 5: grid.samples: cannot be a grid axis (allowed: " + kAxes + ")"},
    // Grid shape.
    {"EmptyAxis", Cat(kVae, "grid:\n  kl_weight: []\n"),
     "line 5: grid.kl_weight: empty list (allowed: a non-empty list of values)"},
    {"AxisNotAList", Cat(kVae, "grid:\n  kl_weight: 0.5\n"),
     "line 5: grid.kl_weight: not a list (got 0.5; allowed: a non-empty list of values, "
     "each >= 0)"},
    {"NonScalarAxisValue", Cat(kVae, "grid:\n  latent_size: [2, [4, 8]]\n"),
     "line 5: grid.latent_size[1]: not a single value (got [4, 8]; allowed: 1..4096)"},
    {"BadAxisValue", Cat(kVae, "grid:\n  latent_size: [2, 64, 0]\n"),
     "line 5: grid.latent_size[2]: out of range (got 0; allowed: 1..4096)"},
    {"DuplicateAxisValue", Cat(kVae, "grid:\n  kl_weight: [0.5, 1, 5e-1]\n"),
     "line 5: grid.kl_weight[2]: duplicate value, same as grid.kl_weight[0] "
     "(got 0.5; allowed: distinct values)"},
    {"GridNotAMap", Cat(kVae, "grid: [1, 2]\n"),
     "line 4: grid: not a map (got [1, 2]; allowed: a map of axis: [values])"},
    {"TooManyTrials", Cat(kVae, "grid:\n  latent_size: [1, 2, 3, 4]\n  kl_weight: [1, 2, 3]\n"),
     "line 4: grid: too many trials (got 12 = latent_size 4 x kl_weight 3; allowed: at most 10)",
     10},
    // Duplicates.
    {"DuplicateKey", Cat(kVae, "epochs: 2\nepochs: 3\n"),
     "line 5: epochs: duplicate key (first at line 4)"},
    {"DuplicateAxis", Cat(kVae, "grid:\n  width: [1]\n  width: [2]\n"),
     "line 6: grid.width: duplicate key (first at line 5)"},
    {"DuplicateOptimizerKey", Cat(kVae, "optimizer:\n  lr: 0.1\n  lr: 0.2\n"),
     "line 6: optimizer.lr: duplicate key (first at line 5)"},
    {"TopLevelAndGrid", Cat(kVae, "kl_weight: 1\ngrid:\n  kl_weight: [0.5]\n"),
     "line 6: grid.kl_weight: already set by kl_weight at line 4 "
     "(allowed: a single value or a grid axis, not both)"},
    {"LrShorthandAndOptimizerLr", Cat(kVae, "lr: 0.001\noptimizer: {lr: 0.002}\n"),
     "line 5: optimizer.lr: already set by lr at line 4 (allowed: one of them, not both)"},
    // YAML syntax.
    {"UnclosedFlowList", Cat(kVae, "epochs: [1, 2\nbatch_size: 3\n"),
     "line 5, column 11: invalid YAML: end of sequence flow not found"},
    {"BadIndentation", Cat(kVae, "epochs: 1\n  batch_size: 2\n"),
     "line 5, column 13: invalid YAML: illegal map value"},
    // Required keys.
    {"MissingRequired", "dataset: mnist\n",
     absl::StrCat("line 1: experiment: missing (allowed: ", kNameRule, ")\n",
                  "line 1: model: missing (allowed: ", ModelNames(), ")")},
    // Model and data set.
    {"PresetShapeMismatch", "experiment: e1\ndataset: mnist\nmodel: seed004-gan-cifar10\n",
     "line 3: model: seed004-gan-cifar10 needs 3x32x32 images; dataset mnist has 1x28x28"},
    {"PresetShapeMismatchOnAxis",
     "experiment: e1\ndataset: cifar10\ngrid:\n  model: [dcgan, seed001-dcgan]\n",
     "line 4: grid.model[1]: seed001-dcgan needs 1x28x28 images; dataset cifar10 has 3x32x32"},
    {"PresetShapeMismatchOnDatasetAxis",
     "experiment: e1\nmodel: seed004-vae-conv\ngrid:\n  dataset: [cifar10, fashion-mnist]\n",
     "line 2: model: seed004-vae-conv needs 3x32x32 images; dataset fashion-mnist has 1x28x28"},
    // Hyperparameters the model does not use.
    {"KlWeightOnGan", Cat(kDcgan, "kl_weight: 0.5\n"),
     "line 4: kl_weight: not used by model dcgan, whose objective is gan (allowed: objective vae)"},
    {"CriticItersOnVae", Cat(kVae, "critic_iters: 2\n"),
     "line 4: critic_iters: not used by model vae-mlp, whose objective is vae "
     "(allowed: objectives gan, wgan, wgan-gp)"},
    {"ClipValueOnGan", Cat(kDcgan, "clip_value: 0.1\n"),
     "line 4: clip_value: not used by model dcgan, whose objective is gan "
     "(allowed: objective wgan)"},
    {"GpWeightOnWgan", Cat(kWgan, "gp_weight: 10\n"),
     "line 4: gp_weight: not used by model wgan, whose objective is wgan "
     "(allowed: objective wgan-gp)"},
    {"ReconLossOnGanAxis", Cat(kDcgan, "grid:\n  recon_loss: [bce, mse]\n"),
     "line 5: grid.recon_loss: not used by model dcgan, whose objective is gan "
     "(allowed: objective vae)"},
    {"DepthOnDcgan", Cat(kDcgan, "depth: 4\n"),
     "line 4: depth: not adjustable for model dcgan, fixed at 3"},
    {"WidthOnPreset", "experiment: e1\ndataset: mnist\nmodel: seed001-dcgan\nwidth: 64\n",
     "line 4: width: not adjustable for model seed001-dcgan, a preset with a fixed architecture"},
    {"LatentOnClassifier",
     "experiment: e1\ndataset: mnist\nmodel: classifier-mlp\nlatent_size: 8\n",
     "line 4: latent_size: not used by model classifier-mlp"},
    {"UnusedForOneModelOfAxis",
     "experiment: e1\ndataset: mnist\nkl_weight: 0.5\ngrid:\n  model: [vae-mlp, gan-mlp]\n",
     "line 3: kl_weight: not used by model gan-mlp, whose objective is gan "
     "(allowed: objective vae)"},
    {"InitEncoderFromNotAClassifier", Cat(kVae, "init_encoder_from: vae-conv\n"),
     "line 4: init_encoder_from: not a classifier model "
     "(got vae-conv; allowed: classifier-mlp, seed001-classifier)"},
    {"InitEncoderFromOnGan", Cat(kDcgan, "init_encoder_from: classifier-mlp\n"),
     "line 4: init_encoder_from: not used by model dcgan, whose objective is gan "
     "(allowed: objective vae)"},
    {"InitEncoderFromShapeMismatch",
     "experiment: e1\ndataset: cifar10\nmodel: vae-mlp\ninit_encoder_from: seed001-classifier\n",
     "line 4: init_encoder_from: seed001-classifier needs 1x28x28 images; "
     "dataset cifar10 has 3x32x32"},
    // Optimizer.
    {"UnknownOptimizerName", Cat(kVae, "optimizer: {name: adamw}\n"),
     "line 4: optimizer.name: unknown value, did you mean 'adam'? "
     "(got adamw; allowed: adam, rmsprop, sgd)"},
    {"OptimizerNotAMap", Cat(kVae, "optimizer: adam\n"),
     "line 4: optimizer: not a map (got adam; allowed: a map with keys name, lr, betas, "
     "momentum, weight_decay)"},
    {"BetasWrongLength", Cat(kVae, "optimizer: {betas: [0.5]}\n"),
     "line 4: optimizer.betas: not a list of two numbers "
     "(got [0.5]; allowed: [beta1, beta2], each >= 0 and < 1)"},
    {"BetaOutOfRange", Cat(kVae, "optimizer: {betas: [0.5, 1.0]}\n"),
     "line 4: optimizer.betas[1]: out of range (got 1.0; allowed: >= 0 and < 1)"},
    {"BetasWithSgd", Cat(kVae, "optimizer: {name: sgd, betas: [0.5, 0.9]}\n"),
     "line 4: optimizer.betas: not used by optimizer sgd (allowed: only with adam)"},
    {"BetasWithDefaultRmsprop", Cat(kWgan, "optimizer: {betas: [0.5, 0.9]}\n"),
     "line 4: optimizer.betas: not used by optimizer rmsprop, the default for model wgan "
     "(allowed: only with adam)"},
    {"MomentumWithDefaultAdam", Cat(kVae, "optimizer: {momentum: 0.9}\n"),
     "line 4: optimizer.momentum: not used by optimizer adam, the default for model vae-mlp "
     "(allowed: only with rmsprop, sgd)"},
    {"MomentumOutOfRange", Cat(kVae, "optimizer: {name: sgd, momentum: 1}\n"),
     "line 4: optimizer.momentum: out of range (got 1; allowed: >= 0 and < 1)"},
    // Samples.
    {"SampleEpochBeyondEpochs", Cat(kVae, "epochs: 20\nsamples: {epochs: [1, 10, 50]}\n"),
     "line 5: samples.epochs[2]: beyond epochs (got 50; allowed: 1..20)"},
    {"SampleEpochBeyondEpochsAxisValue",
     Cat(kVae, "samples: {epochs: [10]}\ngrid:\n  epochs: [10, 5]\n"),
     "line 4: samples.epochs[0]: beyond epochs (got 10; allowed: 1..5)"},
    {"SampleEpochsNotAList", Cat(kVae, "samples: {epochs: 5}\n"),
     "line 4: samples.epochs: not a list (got 5; allowed: a list of epochs, each 1..epochs)"},
    {"SampleEpochDuplicate", Cat(kVae, "epochs: 9\nsamples: {epochs: [1, 1]}\n"),
     "line 5: samples.epochs[1]: duplicate value, same as samples.epochs[0] "
     "(got 1; allowed: distinct values)"},
    {"SampleCountTooLarge", Cat(kVae, "samples: {count: 2000}\n"),
     "line 4: samples.count: out of range (got 2000; allowed: 1..1024)"},
    // Ranks.
    {"BatchSmallerThanRanks", Cat(kVae, "batch_size: 2\nranks: 4\n"),
     "line 4: batch_size: smaller than ranks (got 2; allowed: >= ranks = 4)"},
    {"RanksAboveDefaultBatch", Cat(kVae, "ranks: 128\n"),
     "line 4: ranks: more ranks than batch_size (got 128; allowed: <= batch_size = 64 "
     "(the default))"},
    {"BatchAxisValueSmallerThanRanks", Cat(kVae, "ranks: 8\ngrid:\n  batch_size: [64, 4]\n"),
     "line 6: grid.batch_size[1]: smaller than ranks (got 4; allowed: >= ranks = 8)"},
    // Everything at once, sorted by line.
    {"SeveralErrors",
     "experiment: Bad Name\n"
     "dataset: mnist\n"
     "model: dcgan\n"
     "epochs: 0\n"
     "kl_weight: 1\n"
     "grid:\n"
     "  width: []\n"
     "  lr: [0.1, 0.1]\n"
     "  batch_size: [x]\n",
     "line 1: experiment: invalid name (got Bad Name; allowed: " + kNameRule + ")\n" +
         "line 4: epochs: out of range (got 0; allowed: 1..100000)\n"
         "line 5: kl_weight: not used by model dcgan, whose objective is gan "
         "(allowed: objective vae)\n"
         "line 7: grid.width: empty list (allowed: a non-empty list of values)\n"
         "line 8: grid.lr[1]: duplicate value, same as grid.lr[0] "
         "(got 0.1; allowed: distinct values)\n"
         "line 9: grid.batch_size[0]: not an integer (got x; allowed: 1..65536)"},
    // Anchors, aliases and merge keys that expand to billions of nodes are
    // refused before the tree is walked, naming the limit.
    {"AliasesExpandingToBillionsOfNodes", test_specs::AliasBombSpec(),
     test_specs::TooManyNodesError(test_specs::AliasBombSpec())},
    {"MergeKeysExpandingToBillionsOfNodes", test_specs::MergeKeyBombSpec(),
     test_specs::TooManyNodesError(test_specs::MergeKeyBombSpec())},
};

INSTANTIATE_TEST_SUITE_P(All, BadSpecTest, testing::ValuesIn(kBadSpecs),
                         [](const testing::TestParamInfo<BadSpec>& info) {
                           return info.param.name;
                         });

TEST(GridSpecTest, TooManyTrialsAtTheDefaultLimit) {
  std::string seeds;
  for (int i = 0; i < 101; ++i) absl::StrAppend(&seeds, i == 0 ? "" : ", ", i);
  std::string widths;
  for (int i = 1; i <= 100; ++i) absl::StrAppend(&widths, i == 1 ? "" : ", ", i);
  const std::string yaml =
      absl::StrCat(kVae, "grid:\n  seed: [", seeds, "]\n  width: [", widths, "]\n");
  auto spec = ParseGridSpec(yaml);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(std::string(spec.status().message()),
            "line 4: grid: too many trials (got 10100 = seed 101 x width 100; "
            "allowed: at most 10000)");
}

TEST(GridSpecTest, HostileInputGivesShortErrors) {
  const std::string digits(1 << 20, '7');
  auto spec = ParseGridSpec(Cat(kVae, "epochs: " + digits + "\n"));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(
      std::string(spec.status().message()),
      "line 4: epochs: out of range (got " + std::string(57, '7') + "...; allowed: 1..100000)");

  spec = ParseGridSpec(Cat(kVae, std::string(1000, 'k') + ": 1\n"));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(std::string(spec.status().message()),
            "line 4: " + std::string(57, 'k') + "...: unknown key (allowed: " + kTopKeys + ")");

  spec = ParseGridSpec(Cat(kVae, "grid: " + std::string(100000, '[') + "\n"));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  // yaml-cpp stops at its nesting limit instead of overflowing the stack.
  EXPECT_EQ(std::string(spec.status().message()).rfind("line ", 0), 0u) << spec.status();
  EXPECT_NE(spec.status().message().find(": invalid YAML: "), absl::string_view::npos);
}

// Seconds `fn` takes.
template <typename Fn>
double SecondsFor(Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(GridSpecTest, AliasBombsAreRefusedInWellUnderASecond) {
  for (const std::string& yaml : {test_specs::AliasBombSpec(), test_specs::MergeKeyBombSpec()}) {
    EXPECT_LT(yaml.size(), 700u);
    absl::StatusOr<GridSpec> spec;
    EXPECT_LT(SecondsFor([&] { spec = ParseGridSpec(yaml); }), 0.5);
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(spec.status().message()), test_specs::TooManyNodesError(yaml));
  }
}

TEST(GridSpecTest, ModestAliasesStayAccepted) {
  auto spec = ParseGridSpec(
      "experiment: e1\nmodel: &m vae-mlp\n"
      "grid:\n  dataset: [mnist, cifar10]\n  latent_size: &l [2, 4]\n  width: *l\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial_count, 8);
}

TEST(GridSpecTest, AnAliasedCollectionInAnErrorIsShownShort) {
  // A value shown after "got" is cut at 60 characters; a repeated node is
  // shown once, with an anchor, then as aliases.
  std::string yaml = test_specs::AliasBombSpec();
  yaml.replace(yaml.find("grid:\n  latent_size: *j\n"), std::string::npos, "epochs: [*b]\n");
  auto spec = ParseGridSpec(yaml);
  ASSERT_FALSE(spec.ok());
  // Refused by the node limit already: the text expands to 10^9 nodes.
  EXPECT_EQ(std::string(spec.status().message()), test_specs::TooManyNodesError(yaml));
  spec = ParseGridSpec(std::string(kVae) + "l1: &l1 [[x, x, x, x, x, x, x, x, x, x], y]\n" +
                       "epochs: [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find(
                "line 5: epochs: not a single value; to sweep it, list its values under grid "
                "(got [&1 [[x, x, x, x, x, x, x, x, x, x], y], *1, *1, *1, *1, ...; "
                "allowed: 1..100000)"),
            absl::string_view::npos)
      << spec.status();
}

TEST(GridSpecTest, CrossFieldProblemsAreListedUpToALimit) {
  // 300 batch sizes below 1024 ranks: 300 x 1 pairs to report, at most 200
  // problems listed, then one line saying more were left out.
  std::string batches;
  for (int i = 1; i <= 300; ++i) absl::StrAppend(&batches, i == 1 ? "" : ", ", i);
  GridLimits limits;
  limits.max_trials = 1000;
  auto spec = ParseGridSpec(
      absl::StrCat(kVae, "ranks: 1024\ngrid:\n  batch_size: [", batches, "]\n"), limits);
  ASSERT_FALSE(spec.ok());
  const std::string message(spec.status().message());
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 200) << message;
  EXPECT_EQ(message.substr(message.rfind('\n') + 1),
            "... more problems not listed (at most 200 are)");
}

TEST(GridSpecTest, ACancelledParseStops) {
  GridLimits limits;
  limits.cancelled = [] { return true; };
  auto spec = ParseGridSpec(Cat(kVae, "grid:\n  latent_size: [1, 2]\n"), limits);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kCancelled);
}

TEST(GridSpecTest, AcceptsAGridExactlyAtTheLimit) {
  GridLimits limits;
  limits.max_trials = 4;
  auto spec = ParseGridSpec(Cat(kVae, "grid:\n  latent_size: [1, 2]\n  width: [3, 4]\n"), limits);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial_count, 4);
}

TEST(GridSpecTest, ParsesTheDesignExample) {
  const std::string yaml = R"(experiment: vae-kl-sweep        # unique name
dataset: fashion-mnist
model: vae-mlp
epochs: 20
batch_size: 128
optimizer: {name: adam, lr: 1.0e-3, betas: [0.5, 0.999]}
seed: 7
ranks: 2
samples: {epochs: [1, 5, 10, 20], count: 12}
grid:
  latent_size: [2, 64]
  kl_weight: [1.0, 0.7, 0.5, 0.4, 0.3, 0.25]
  width: [500]
)";
  auto spec = ParseGridSpec(yaml);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->experiment, "vae-kl-sweep");
  EXPECT_EQ(spec->trial_count, 12);
  const std::map<std::string, SpecValue> fixed = {
      {"dataset", std::string("fashion-mnist")},
      {"model", std::string("vae-mlp")},
      {"epochs", int64_t{20}},
      {"batch_size", int64_t{128}},
      {"optimizer.name", std::string("adam")},
      {"optimizer.lr", 1e-3},
      {"seed", int64_t{7}},
      {"ranks", int64_t{2}},
      {"samples.count", int64_t{12}},
  };
  EXPECT_EQ(spec->fixed, fixed);
  EXPECT_EQ(spec->betas, std::make_pair(0.5, 0.999));
  EXPECT_EQ(spec->sample_epochs, (std::vector<int>{1, 5, 10, 20}));
  ASSERT_EQ(spec->axes.size(), 3u);
  EXPECT_EQ(spec->axes[0], (GridAxis{"latent_size", "latent_size", {int64_t{2}, int64_t{64}}}));
  EXPECT_EQ(spec->axes[1], (GridAxis{"kl_weight", "kl_weight", {1.0, 0.7, 0.5, 0.4, 0.3, 0.25}}));
  EXPECT_EQ(spec->axes[2], (GridAxis{"width", "width", {int64_t{500}}}));
}

TEST(GridSpecTest, RealFieldsAcceptIntegersAndExponents) {
  auto spec = ParseGridSpec(Cat(kVae, "kl_weight: 1\nlr: 1e-3\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->fixed.at("kl_weight"), SpecValue(1.0));
  EXPECT_EQ(spec->fixed.at("optimizer.lr"), SpecValue(0.001));
}

TEST(GridSpecTest, LrAxisSweepsTheOptimizerLearningRate) {
  auto spec = ParseGridSpec(Cat(kVae, "grid:\n  lr: [1.0e-3, 2e-4]\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->axes.size(), 1u);
  EXPECT_EQ(spec->axes[0], (GridAxis{"lr", "optimizer.lr", {0.001, 0.0002}}));
}

TEST(GridSpecTest, SampleEpochsAreSorted) {
  auto spec = ParseGridSpec(Cat(kVae, "epochs: 10\nsamples: {epochs: [10, 1, 5]}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->sample_epochs, (std::vector<int>{1, 5, 10}));
}

TEST(GridSpecTest, EmptyGridIsOneTrial) {
  auto spec = ParseGridSpec(Cat(kVae, "grid:\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial_count, 1);
  EXPECT_TRUE(spec->axes.empty());
}

TEST(GridSpecTest, ModelSpecificSettingsAreAcceptedWhereUsed) {
  EXPECT_TRUE(ParseGridSpec(Cat(kWgan, "critic_iters: 5\nclip_value: 0.01\n")).ok());
  EXPECT_TRUE(ParseGridSpec(Cat(kDcgan, "critic_iters: 2\nwidth: 32\n")).ok());
  EXPECT_TRUE(
      ParseGridSpec("experiment: e\ndataset: cifar10\nmodel: wgan-gp\ngp_weight: 5\n").ok());
  EXPECT_TRUE(ParseGridSpec(Cat(kVae,
                                "init_encoder_from: seed001-classifier\n"
                                "kl_weight: 0.5\nrecon_loss: mse\ndepth: 2\n"))
                  .ok());
  EXPECT_TRUE(ParseGridSpec(Cat(kVae, "optimizer: {name: sgd, momentum: 0.9}\n")).ok());
  EXPECT_TRUE(ParseGridSpec("experiment: e\ndataset: fashion-mnist\nmodel: seed001-dcgan\n").ok());
}

TEST(GridSpecTest, CanonicalJsonIgnoresSpelling) {
  auto a = ParseGridSpec(
      "experiment: e1\ndataset: mnist\nmodel: vae-mlp\nlr: 0.001\ngrid:\n  kl_weight: [1, 0.5]\n");
  auto b = ParseGridSpec(
      "# comment\nmodel: vae-mlp\noptimizer:\n  lr: 1.0e-3\nexperiment: e1\n"
      "grid: {kl_weight: [1.0, 5e-1]}\ndataset:   mnist\n");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->canonical_json, b->canonical_json);
  EXPECT_EQ(a->canonical_json,
            R"({"experiment":"e1","grid":[{"axis":"kl_weight","values":[1.0,0.5]}],)"
            R"("settings":{"dataset":"mnist","model":"vae-mlp","optimizer.lr":0.001}})");
}

TEST(GridSpecTest, SpecValueText) {
  EXPECT_EQ(SpecValueText(int64_t{64}), "64");
  EXPECT_EQ(SpecValueText(0.001), "0.001");
  EXPECT_EQ(SpecValueText(2e-4), "0.0002");
  EXPECT_EQ(SpecValueText(1e-4), "0.0001");
  EXPECT_EQ(SpecValueText(1e-5), "1e-05");
  EXPECT_EQ(SpecValueText(1.5e-5), "1.5e-05");
  EXPECT_EQ(SpecValueText(123456.5), "123456.5");
  EXPECT_EQ(SpecValueText(1e15), "1000000000000000");
  EXPECT_EQ(SpecValueText(1e16), "1e+16");
  EXPECT_EQ(SpecValueText(0.0), "0");
  EXPECT_EQ(SpecValueText(-0.5), "-0.5");
  EXPECT_EQ(SpecValueText(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(SpecValueText(1.0), "1");
  EXPECT_EQ(SpecValueText(0.25), "0.25");
  EXPECT_EQ(SpecValueText(std::string("mse")), "mse");
}

TEST(GridSpecTest, DefaultsPerObjective) {
  EXPECT_EQ(DefaultOptimizer(Objective::kGan), (OptimizerConfig{"adam", 2e-4, 0.5, 0.999}));
  EXPECT_EQ(DefaultOptimizer(Objective::kWganGp), (OptimizerConfig{"adam", 2e-4, 0.5, 0.999}));
  EXPECT_EQ(DefaultOptimizer(Objective::kWgan).name, "rmsprop");
  EXPECT_EQ(DefaultOptimizer(Objective::kWgan).lr, 5e-5);
  EXPECT_EQ(DefaultOptimizer(Objective::kVae), (OptimizerConfig{"adam", 1e-3, 0.9, 0.999}));
  EXPECT_EQ(DefaultOptimizer(Objective::kClassifier), (OptimizerConfig{"adam", 1e-3, 0.9, 0.999}));
  EXPECT_EQ(DefaultCriticIters(Objective::kWgan), 5);
  EXPECT_EQ(DefaultCriticIters(Objective::kWganGp), 5);
  EXPECT_EQ(DefaultCriticIters(Objective::kGan), 1);
  EXPECT_EQ(DefaultCriticIters(Objective::kVae), 1);
}

}  // namespace grid_spec_test
}  // namespace
}  // namespace gridrun::coordinator
