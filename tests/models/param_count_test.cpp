// Exact parameter counts of every seed preset (../shared/SEED_PARAMETER_COUNTS.md
// and the seeds' layer definitions), plus the families that equal a preset.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ostream>
#include <set>
#include <string>

#include "common/model_catalog.h"
#include "models/model_factory.h"
#include "modelspec/zoo.h"

namespace gridrun::models {
namespace {
namespace param_count_test {

struct PresetCase {
  const char* model;
  const char* dataset;
  int64_t latent;     // 0 = catalog default
  const char* role;   // "generator", "critic", "vae", "classifier"
  int64_t total;      // as the seed prints it
  int64_t trainable;  // requires_grad parameters
};

// Totals as printed by the seeds (torchsummary, or Keras incl. BatchNorm
// moving statistics), or computed from the printed layer definitions where a
// seed printed none (000, 002, 003, 001 VAE).
const PresetCase kPresets[] = {
    // seed 000: conv critic 16-32-64 (kernels 6/5/4), mirrored generator, latent 64.
    {"seed000-wgan", "mnist", 0, "critic", 46'256, 46'256},
    {"seed000-wgan", "mnist", 0, "generator", 46'193, 46'193},
    // seed 001 (torchsummary tables).
    {"seed001-dcgan", "fashion-mnist", 0, "generator", 791'776, 791'776},
    {"seed001-dcgan", "fashion-mnist", 0, "critic", 691'680, 691'680},
    {"seed001-vae-mlp", "fashion-mnist", 2, "vae", 788'788, 788'788},
    {"seed001-vae-mlp", "fashion-mnist", 64, "vae", 881'912, 881'912},
    {"seed001-classifier", "fashion-mnist", 0, "classifier", 397'510, 397'510},
    // seed 002 (module printouts).
    {"seed002-dcgan", "mnist", 0, "generator", 1'098'816, 1'098'816},
    {"seed002-dcgan", "mnist", 0, "critic", 693'249, 693'249},
    {"seed002-cwgan", "mnist", 0, "generator", 1'139'776, 1'139'776},
    {"seed002-cwgan", "mnist", 0, "critic", 694'529, 694'529},
    // seed 003: 110 -> G, 794 -> D (layers of its reference [2]).
    {"seed003-cwgan-mlp", "fashion-mnist", 0, "generator", 1'488'912, 1'488'912},
    {"seed003-cwgan-mlp", "fashion-mnist", 0, "critic", 1'470'465, 1'470'465},
    // seed 004 (torchsummary and Keras tables; corrected totals).
    {"seed004-vae-mlp", "mnist", 0, "vae", 2'924'570, 2'924'570},
    {"seed004-vae-conv", "cifar10", 0, "vae", 178'445, 178'445},
    {"seed004-gan-mnist", "mnist", 0, "critic", 69'825, 69'825},
    {"seed004-gan-mnist", "mnist", 0, "generator", 1'164'289, 1'164'289},
    {"seed004-gan-cifar10", "cifar10", 0, "critic", 522'497, 522'497},
    {"seed004-gan-cifar10", "cifar10", 0, "generator", 1'466'115, 1'466'115},
    {"seed004-wgan-mnist", "mnist", 0, "generator", 851'713, 851'201},
    {"seed004-wgan-mnist", "mnist", 0, "critic", 70'337, 70'081},
    {"seed004-wgan-cifar10", "cifar10", 0, "critic", 663'747, 663'747},
    {"seed004-wgan-cifar10", "cifar10", 0, "generator", 1'069'379, 1'069'379},
};

// Readable ctest names ("GetParam() = seed001-dcgan generator").
void PrintTo(const PresetCase& c, std::ostream* os) { *os << c.model << " " << c.role; }

std::shared_ptr<torch::nn::Module> Role(const ModelBundle& b, const std::string& role) {
  for (const auto& [name, module] : b.Modules()) {
    if (name == role) return module;
  }
  return nullptr;
}

class ParamCount : public ::testing::TestWithParam<PresetCase> {};

TEST_P(ParamCount, MatchesSeed) {
  const PresetCase& c = GetParam();
  const DatasetInfo* dataset = FindDataset(c.dataset);
  ASSERT_NE(dataset, nullptr);
  auto bundle = BuildModelByName(c.model, *dataset, c.latent);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  auto module = Role(*bundle, c.role);
  ASSERT_NE(module, nullptr) << c.role;
  ParameterCount count = CountParameters(*module, bundle->count_convention);
  EXPECT_EQ(count.total(), c.total) << c.model << " " << c.role;
  EXPECT_EQ(count.trainable, c.trainable) << c.model << " " << c.role;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ParamCount, ::testing::ValuesIn(kPresets),
                         [](const ::testing::TestParamInfo<PresetCase>& info) {
                           std::string name = std::string(info.param.model) + "_" +
                                              info.param.role + "_" +
                                              std::to_string(info.param.latent);
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(ParamCount, EveryCatalogPresetIsCounted) {
  std::set<std::string> counted;
  for (const PresetCase& c : kPresets) counted.insert(c.model);
  for (const ModelInfo& m : ModelCatalog()) {
    if (m.is_preset) EXPECT_TRUE(counted.count(std::string(m.name))) << m.name;
  }
}

TEST(ParamCount, VaeMlpWidth500Depth1EqualsSeed001) {
  const DatasetInfo* fashion = FindDataset("fashion-mnist");
  auto family = BuildModelByName("vae-mlp", *fashion, /*latent_size=*/2, /*width=*/500,
                                 /*depth=*/1);
  ASSERT_TRUE(family.ok()) << family.status();
  EXPECT_EQ(family->Count().total(), 788'788);
  auto classifier = BuildModelByName("classifier-mlp", *fashion, 0, /*width=*/500, /*depth=*/1);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ(classifier->Count().total(), 397'510);
}

TEST(ParamCount, FamiliesFollowLatentAndWidth) {
  const DatasetInfo* mnist = FindDataset("mnist");
  // vae-mlp depth 2: 784-w-w-(2 heads) and back.
  auto vae = BuildModelByName("vae-mlp", *mnist, /*latent_size=*/8, /*width=*/100, /*depth=*/2);
  ASSERT_TRUE(vae.ok()) << vae.status();
  const int64_t expected = (784 * 100 + 100) + (100 * 100 + 100) + 2 * (100 * 8 + 8) +
                           (8 * 100 + 100) + (100 * 100 + 100) + (100 * 784 + 784);
  EXPECT_EQ(vae->Count().total(), expected);
  // gan-mlp depth 2, width 64: G 16-64-128-784, D 784-128-64-1.
  auto gan = BuildModelByName("gan-mlp", *mnist, /*latent_size=*/16, /*width=*/64, /*depth=*/2);
  ASSERT_TRUE(gan.ok()) << gan.status();
  EXPECT_EQ(CountParameters(*gan->generator).total(),
            (16 * 64 + 64) + (64 * 128 + 128) + (128 * 784 + 784));
  EXPECT_EQ(CountParameters(*gan->critic).total(), (784 * 128 + 128) + (128 * 64 + 64) + (64 + 1));
  // cgan-mlp adds the 10 label inputs to each first layer.
  auto cgan = BuildModelByName("cgan-mlp", *mnist, /*latent_size=*/16, /*width=*/64, /*depth=*/2);
  ASSERT_TRUE(cgan.ok()) << cgan.status();
  EXPECT_EQ(CountParameters(*cgan->generator).total() - CountParameters(*gan->generator).total(),
            10 * 64);
  EXPECT_EQ(CountParameters(*cgan->critic).total() - CountParameters(*gan->critic).total(),
            10 * 128);
}

TEST(ParamCount, KerasConventionAddsBatchNormMovingStatistics) {
  torch::nn::Sequential seq(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3)),
                            torch::nn::BatchNorm2d(8));
  EXPECT_EQ(CountParameters(*seq, CountConvention::kTorch).total(), 80 + 16);
  ParameterCount keras = CountParameters(*seq, CountConvention::kKeras);
  EXPECT_EQ(keras.trainable, 96);
  EXPECT_EQ(keras.non_trainable, 16);
}

}  // namespace param_count_test
}  // namespace
}  // namespace gridrun::models
