// The built-in models as files (modelspec/zoo.h): every file parses and
// resolves, without LibTorch, to the seeds' printed parameter counts; the
// catalog rows come from the files. tests/models/model_file_test.cpp checks
// the same resolutions against the LibTorch modules built from them.
#include "modelspec/zoo.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "modelspec/model_resolve.h"

namespace gridrun::modelspec {
namespace {
namespace zoo_test {

bool Fits(const ModelInfo& m, const DatasetInfo& d) {
  return m.fixed_channels == 0 || (m.fixed_channels == d.channels && m.fixed_size == d.height);
}

int64_t NetworkParams(const ResolvedModel& model, const std::string& role) {
  int64_t total = 0;
  if (role == "vae") {
    for (const char* r : {"encoder", "decoder"}) total += NetworkParams(model, r);
    return total + model.z_mean.params.trainable + model.z_logvar.params.trainable;
  }
  for (const ResolvedLayer& l : model.Network(role)->layers) {
    total += l.params.trainable + (model.file->keras_counts ? l.params.keras_non_trainable : 0);
  }
  return total;
}

TEST(Zoo, EveryFileResolvesForEveryDataSetItFits) {
  ASSERT_EQ(ModelCatalog().size(), 22u);
  for (const ModelInfo& m : ModelCatalog()) {
    auto file = FindZooFile(m.name);
    ASSERT_NE(file, nullptr) << m.name;
    int resolved = 0;
    for (const DatasetInfo& d : DatasetCatalog()) {
      if (!Fits(m, d)) continue;
      auto r = ResolveModel(file, d, {});
      ASSERT_TRUE(r.ok()) << m.name << " on " << d.name << ": " << r.status();
      ++resolved;
    }
    EXPECT_GT(resolved, 0) << m.name;
  }
}

// The seeds' printed counts (../shared/SEED_PARAMETER_COUNTS.md), torch-free.
TEST(Zoo, PresetsResolveToTheSeedsParameterCounts) {
  const struct {
    const char* model;
    const char* role;
    int64_t params;
  } kCounts[] = {
      {"seed000-wgan", "critic", 46256},          {"seed000-wgan", "generator", 46193},
      {"seed001-dcgan", "generator", 791776},     {"seed001-dcgan", "critic", 691680},
      {"seed002-dcgan", "generator", 1098816},    {"seed002-dcgan", "critic", 693249},
      {"seed002-cwgan", "generator", 1139776},    {"seed002-cwgan", "critic", 694529},
      {"seed003-cwgan-mlp", "generator", 1488912}, {"seed003-cwgan-mlp", "critic", 1470465},
      {"seed004-vae-mlp", "vae", 2924570},        {"seed004-vae-conv", "vae", 178445},
      {"seed004-gan-mnist", "critic", 69825},     {"seed004-gan-mnist", "generator", 1164289},
      {"seed004-gan-cifar10", "critic", 522497},  {"seed004-gan-cifar10", "generator", 1466115},
      {"seed004-wgan-mnist", "generator", 851713}, {"seed004-wgan-mnist", "critic", 70337},
      {"seed004-wgan-cifar10", "critic", 663747}, {"seed004-wgan-cifar10", "generator", 1069379},
  };
  for (const auto& c : kCounts) {
    const ModelInfo* info = FindModel(c.model);
    ASSERT_NE(info, nullptr) << c.model;
    const DatasetInfo* data = info->fixed_channels == 3 ? FindDataset("cifar10") : FindDataset("mnist");
    auto r = ResolveModel(FindZooFile(c.model), *data, {});
    ASSERT_TRUE(r.ok()) << c.model << ": " << r.status();
    EXPECT_EQ(NetworkParams(*r, c.role), c.params) << c.model << " " << c.role;
  }
}

TEST(Zoo, CatalogRowsComeFromTheFiles) {
  const ModelInfo* seed000 = FindModel("seed000-wgan");
  ASSERT_NE(seed000, nullptr);
  EXPECT_TRUE(seed000->is_preset);
  EXPECT_EQ(seed000->objective, Objective::kWgan);
  EXPECT_EQ(seed000->default_latent_size, 64);
  EXPECT_FALSE(seed000->latent_adjustable);
  EXPECT_EQ(seed000->fixed_channels, 1);
  EXPECT_EQ(seed000->fixed_size, 28);
  const ModelInfo* dcgan = FindModel("dcgan");
  ASSERT_NE(dcgan, nullptr);
  EXPECT_FALSE(dcgan->is_preset);
  EXPECT_EQ(dcgan->default_width, 64);
  EXPECT_EQ(dcgan->default_depth, 3);
  EXPECT_TRUE(dcgan->width_adjustable);
  EXPECT_FALSE(dcgan->depth_adjustable);
  const ModelInfo* cwgan = FindModel("cwgan-conv");
  ASSERT_NE(cwgan, nullptr);
  EXPECT_TRUE(cwgan->conditional);
  EXPECT_EQ(cwgan->objective, Objective::kWganGp);
  EXPECT_EQ(FindModel("no-such-model"), nullptr);
  EXPECT_EQ(FindZooFile("no-such-model"), nullptr);
}

// The families are families: their sizes follow the grid's settings.
TEST(Zoo, FamiliesFollowTheirSettings) {
  const DatasetInfo* mnist = FindDataset("mnist");
  auto narrow = ResolveModel(FindZooFile("vae-mlp"), *mnist, {8, 100, 2});
  auto wide = ResolveModel(FindZooFile("vae-mlp"), *mnist, {8, 200, 2});
  ASSERT_TRUE(narrow.ok() && wide.ok());
  // 784*w + w + w*w + w (encoder), 2 * (w*8 + 8) (heads), 8*w + w + w*w + w + w*784 + 784.
  auto expected = [](int64_t w) {
    return 784 * w + w + w * w + w + 2 * (w * 8 + 8) + 8 * w + w + w * w + w + w * 784 + 784;
  };
  EXPECT_EQ(narrow->TotalParams().trainable, expected(100));
  EXPECT_EQ(wide->TotalParams().trainable, expected(200));
  // dcgan on cifar10 at depth 3: 32 -> 16 -> 8 -> 4; the critic's last kernel is 4x4.
  auto dcgan = ResolveModel(FindZooFile("dcgan"), *FindDataset("cifar10"), {100, 8, 0});
  ASSERT_TRUE(dcgan.ok()) << dcgan.status();
  const auto& critic = dcgan->Network("critic")->layers;
  EXPECT_EQ(critic.back().input, (Shape{32, 4, 4}));
  EXPECT_EQ(ListArg(critic.back().args, "kernel_size"), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(dcgan->Network("generator")->layers.back().output, (Shape{3, 32, 32}));
}

TEST(Zoo, TooDeepIsAnErrorNamingTheLayer) {
  auto r = ResolveModel(FindZooFile("vae-conv"), *FindDataset("mnist"), {4, 4, 5});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            "zoo/vae-conv.yaml: encoder layer 9 (Conv2d, line 17): the convolution makes the 1x1 "
            "input 0x0 (it must stay at least 1x1); its input is layer 8 output [B, 32, 1, 1]");
}

}  // namespace zoo_test
}  // namespace
}  // namespace gridrun::modelspec
