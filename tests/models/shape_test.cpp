// Every catalog entry builds for every data set it fits; families produce the
// data set's image shape for several latent sizes and widths; critics score
// one value per image.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/model_catalog.h"
#include "models/model_factory.h"
#include "modelspec/zoo.h"

namespace gridrun::models {
namespace {
namespace shape_test {

constexpr int64_t kBatch = 3;  // > 1 for BatchNorm in train mode

void ExpectImageShape(const torch::Tensor& t, const ImageShape& s, const std::string& what) {
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{kBatch, s.channels, s.height, s.width})) << what;
}

// Runs every module of `b` on a batch and checks the output shapes.
void CheckBundle(ModelBundle& b, const std::string& what) {
  const ImageShape& s = b.image;
  torch::Tensor images = torch::rand({kBatch, s.channels, s.height, s.width}) * 2 - 1;
  torch::Tensor labels = torch::tensor({0, 3, 9}, torch::kLong);
  if (b.is_gan()) {
    torch::Tensor z = torch::randn({kBatch, b.latent_size});
    torch::Tensor fake = b.generator->forward(z, b.conditional ? labels : torch::Tensor());
    ExpectImageShape(fake, s, what + " generator");
    torch::Tensor score = b.critic->forward(fake, b.conditional ? labels : torch::Tensor());
    EXPECT_EQ(score.sizes(), (std::vector<int64_t>{kBatch, 1})) << what << " critic";
  } else if (b.objective == Objective::kVae) {
    VaeOutput out = b.vae->forward(images.clamp(0, 1));
    ExpectImageShape(out.recon_logits, s, what + " recon");
    EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{kBatch, b.latent_size})) << what;
    EXPECT_EQ(out.logvar.sizes(), (std::vector<int64_t>{kBatch, b.latent_size})) << what;
    torch::Tensor decoded = b.vae->decode(torch::randn({kBatch, b.latent_size}));
    ExpectImageShape(decoded, s, what + " decode");
    EXPECT_GE(decoded.min().item<double>(), 0.0);
    EXPECT_LE(decoded.max().item<double>(), 1.0);
  } else {
    torch::Tensor logits = b.classifier->forward(images);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{kBatch, b.num_classes})) << what;
  }
}

bool Fits(const ModelInfo& m, const DatasetInfo& d) {
  return m.fixed_channels == 0 ||
         (m.fixed_channels == d.channels && m.fixed_size == d.height && m.fixed_size == d.width);
}

TEST(Shape, EveryCatalogEntryBuildsForEveryDatasetItFits) {
  for (const ModelInfo& m : ModelCatalog()) {
    int built = 0;
    for (const DatasetInfo& d : DatasetCatalog()) {
      auto b = BuildModelByName(m.name, d);
      if (!Fits(m, d)) {
        EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << m.name << d.name;
        continue;
      }
      ASSERT_TRUE(b.ok()) << m.name << " on " << d.name << ": " << b.status();
      EXPECT_EQ(b->objective, m.objective);
      EXPECT_EQ(b->conditional, m.conditional);
      CheckBundle(*b, std::string(m.name) + " on " + std::string(d.name));
      ++built;
    }
    EXPECT_GT(built, 0) << m.name;
  }
}

struct FamilyCase {
  const char* dataset;
  int64_t latent;
  int64_t width;
};

TEST(Shape, FamiliesFollowLatentAndWidth) {
  const FamilyCase cases[] = {{"mnist", 2, 16},
                              {"mnist", 64, 32},
                              {"cifar10", 8, 16},
                              {"cifar10", 100, 8},
                              {"fashion-mnist", 5, 24}};
  for (const ModelInfo& m : ModelCatalog()) {
    if (m.is_preset) continue;
    for (const FamilyCase& c : cases) {
      const DatasetInfo* d = FindDataset(c.dataset);
      auto b = BuildModelByName(m.name, *d, c.latent, c.width);
      const std::string what = std::string(m.name) + " " + c.dataset + " latent " +
                               std::to_string(c.latent) + " width " + std::to_string(c.width);
      ASSERT_TRUE(b.ok()) << what << ": " << b.status();
      if (m.objective != Objective::kClassifier) EXPECT_EQ(b->latent_size, c.latent) << what;
      CheckBundle(*b, what);
    }
  }
}

TEST(Shape, ConvFamiliesHandleEveryDepthThatFits) {
  const DatasetInfo* mnist = FindDataset("mnist");
  const DatasetInfo* cifar = FindDataset("cifar10");
  for (const char* name : {"vae-conv", "dcgan", "wgan-gp", "cwgan-conv"}) {
    for (int64_t depth : {1, 2, 3, 4}) {
      for (const DatasetInfo* d : {mnist, cifar}) {
        auto b = BuildModelByName(name, *d, /*latent_size=*/4, /*width=*/4, depth);
        ASSERT_TRUE(b.ok()) << name << " depth " << depth << ": " << b.status();
        CheckBundle(*b, std::string(name) + " depth " + std::to_string(depth));
      }
    }
    // 28 -> 14 -> 7 -> 3 -> 1 -> 0: depth 5 cannot fit.
    auto too_deep = BuildModelByName(name, *mnist, 4, 4, /*depth=*/5);
    EXPECT_EQ(too_deep.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(too_deep.status().message().find("depth 5"), std::string::npos) << too_deep.status();
  }
}

TEST(Shape, RejectsBadRequests) {
  const DatasetInfo* mnist = FindDataset("mnist");
  EXPECT_EQ(BuildModelByName("no-such-model", *mnist).status().code(),
            absl::StatusCode::kInvalidArgument);
  // seed000 fixes its latent size at 64.
  auto fixed = BuildModelByName("seed000-wgan", *mnist, /*latent_size=*/32);
  EXPECT_EQ(fixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(fixed.status().message().find("latent_size"), std::string::npos);
  // Presets have no width.
  EXPECT_EQ(BuildModelByName("seed001-dcgan", *mnist, 0, /*width=*/64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildModelByName("vae-mlp", *mnist, 8, /*width=*/-1, /*depth=*/0).ok(), true);
}

TEST(Shape, BuildIsDeterministicUnderSeed) {
  const DatasetInfo* mnist = FindDataset("mnist");
  auto a = BuildModelByName("dcgan", *mnist, 8, 8, 0, /*seed=*/5);
  auto b = BuildModelByName("dcgan", *mnist, 8, 8, 0, /*seed=*/5);
  auto c = BuildModelByName("dcgan", *mnist, 8, 8, 0, /*seed=*/6);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto pa = a->generator->parameters(), pb = b->generator->parameters(),
       pc = c->generator->parameters();
  EXPECT_TRUE(torch::equal(pa[0], pb[0]));
  EXPECT_FALSE(torch::equal(pa[0], pc[0]));
}

}  // namespace shape_test
}  // namespace
}  // namespace gridrun::models
