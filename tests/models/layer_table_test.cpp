// The layer tables of the presets against the seeds' printed tables.
#include "models/layer_table.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "common/model_catalog.h"
#include "models/model_factory.h"
#include "modelspec/zoo.h"

namespace gridrun::models {
namespace {
namespace layer_table_test {

ModelBundle Build(const char* model, const char* dataset) {
  auto b = BuildModelByName(model, *FindDataset(dataset));
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

std::string Section(const ModelBundle& b, const std::string& role) {
  auto sections = TraceLayers(b, b.image);
  EXPECT_TRUE(sections.ok()) << sections.status();
  for (const auto& s : *sections) {
    if (s.role == role) return FormatLayerTable(s);
  }
  ADD_FAILURE() << "no section " << role;
  return "";
}

// Seed 001, Task 1-1 (Fashion-MNIST DCGAN), verbatim rows and totals.
constexpr char kSeed001Generator[] = R"(Generator:

| Layer (type) | Output Shape | Param # |
|---|---|---|
| ConvTranspose2d-1 | [-1, 128, 7, 7] | 627,200 |
| BatchNorm2d-2 | [-1, 128, 7, 7] | 256 |
| LeakyReLU-3 | [-1, 128, 7, 7] | 0 |
| ConvTranspose2d-4 | [-1, 64, 14, 14] | 131,072 |
| BatchNorm2d-5 | [-1, 64, 14, 14] | 128 |
| LeakyReLU-6 | [-1, 64, 14, 14] | 0 |
| ConvTranspose2d-7 | [-1, 32, 28, 28] | 32,768 |
| BatchNorm2d-8 | [-1, 32, 28, 28] | 64 |
| LeakyReLU-9 | [-1, 32, 28, 28] | 0 |
| Conv2d-10 | [-1, 1, 28, 28] | 288 |
| Tanh-11 | [-1, 1, 28, 28] | 0 |

Total params: 791,776
Trainable params: 791,776
Non-trainable params: 0
)";

constexpr char kSeed001Discriminator[] = R"(Discriminator:

| Layer (type) | Output Shape | Param # |
|---|---|---|
| Conv2d-1 | [-1, 32, 28, 28] | 288 |
| BatchNorm2d-2 | [-1, 32, 28, 28] | 64 |
| LeakyReLU-3 | [-1, 32, 28, 28] | 0 |
| Conv2d-4 | [-1, 64, 14, 14] | 32,768 |
| BatchNorm2d-5 | [-1, 64, 14, 14] | 128 |
| LeakyReLU-6 | [-1, 64, 14, 14] | 0 |
| Conv2d-7 | [-1, 128, 7, 7] | 131,072 |
| BatchNorm2d-8 | [-1, 128, 7, 7] | 256 |
| LeakyReLU-9 | [-1, 128, 7, 7] | 0 |
| Conv2d-10 | [-1, 256, 3, 3] | 524,288 |
| BatchNorm2d-11 | [-1, 256, 3, 3] | 512 |
| LeakyReLU-12 | [-1, 256, 3, 3] | 0 |
| Conv2d-13 | [-1, 1, 1, 1] | 2,304 |

Total params: 691,680
Trainable params: 691,680
Non-trainable params: 0
)";

TEST(LayerTable, Seed001DcganMatchesThePrintedTables) {
  ModelBundle b = Build("seed001-dcgan", "fashion-mnist");
  EXPECT_EQ(Section(b, "generator"), kSeed001Generator);
  EXPECT_EQ(Section(b, "critic"), kSeed001Discriminator);
  auto all = LayerTable(b);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, std::string(kSeed001Generator) + "\n" + kSeed001Discriminator);
}

TEST(LayerTable, Seed004VaeTablesListTheSameRows) {
  // MLP VAE (Figure 1, left): functional ReLUs get no rows, as printed.
  const std::string mlp = Section(Build("seed004-vae-mlp", "mnist"), "vae");
  for (const char* row :
       {"| Linear-1 | [-1, 1024] | 803,840 |", "| Linear-2 | [-1, 512] | 524,800 |",
        "| Linear-3 | [-1, 256] | 131,328 |", "| Linear-4 | [-1, 5] | 1,285 |",
        "| Linear-5 | [-1, 5] | 1,285 |", "| Linear-6 | [-1, 256] | 1,536 |",
        "| Linear-7 | [-1, 512] | 131,584 |", "| Linear-8 | [-1, 1024] | 525,312 |",
        "| Linear-9 | [-1, 784] | 803,600 |", "Total params: 2,924,570"}) {
    EXPECT_NE(mlp.find(row), std::string::npos) << row << "\n" << mlp;
  }
  // Conv VAE (Figure 1, right), including its printed decoder shapes.
  const std::string conv = Section(Build("seed004-vae-conv", "cifar10"), "vae");
  for (const char* row :
       {"| Conv2d-1 | [-1, 64, 16, 16] | 3,136 |", "| Conv2d-2 | [-1, 128, 8, 8] | 131,200 |",
        "| Linear-3 | [-1, 5] | 10,245 |", "| Linear-4 | [-1, 5] | 10,245 |",
        "| Linear-5 | [-1, 2048] | 12,288 |", "| ConvTranspose2d-6 | [-1, 64, 64, 64] | 8,256 |",
        "| ConvTranspose2d-7 | [-1, 3, 128, 128] | 3,075 |",
        "| MaxPool2d-8 | [-1, 3, 32, 32] | 0 |", "Total params: 178,445"}) {
    EXPECT_NE(conv.find(row), std::string::npos) << row << "\n" << conv;
  }
}

TEST(LayerTable, Seed004WganTables) {
  // CIFAR-10 critic (torchsummary), with the Linear(1, 1) printed without a count.
  const std::string critic = Section(Build("seed004-wgan-cifar10", "cifar10"), "critic");
  for (const char* row :
       {"| Conv2d-1 | [-1, 64, 16, 16] | 3,136 |", "| Conv2d-6 | [-1, 256, 4, 4] | 524,544 |",
        "| Conv2d-9 | [-1, 1, 1, 1] | 4,097 |", "| Linear-10 | [-1, 1, 1, 1] | 2 |",
        "Total params: 663,747"}) {
    EXPECT_NE(critic.find(row), std::string::npos) << row << "\n" << critic;
  }
  // MNIST generator (Keras): BatchNormalization counts its moving statistics.
  const std::string keras = Section(Build("seed004-wgan-mnist", "mnist"), "generator");
  for (const char* row :
       {"| Linear-1 | [-1, 6272] | 319,872 |", "| Reshape-3 | [-1, 128, 7, 7] | 0 |",
        "| ConvTranspose2d-4 | [-1, 128, 14, 14] | 262,272 |",
        "| BatchNorm2d-5 | [-1, 128, 14, 14] | 512 |", "| Conv2d-10 | [-1, 1, 28, 28] | 6,273 |",
        "Total params: 851,713", "Trainable params: 851,201", "Non-trainable params: 512"}) {
    EXPECT_NE(keras.find(row), std::string::npos) << row << "\n" << keras;
  }
}

TEST(LayerTable, EveryPresetTracesAndRowsSumToTheTotal) {
  for (const ModelInfo& m : ModelCatalog()) {
    if (!m.is_preset) continue;
    const DatasetInfo* d = m.fixed_channels == 3 ? FindDataset("cifar10") : FindDataset("mnist");
    ModelBundle b = Build(std::string(m.name).c_str(), std::string(d->name).c_str());
    auto sections = TraceLayers(b, b.image);
    ASSERT_TRUE(sections.ok()) << m.name << ": " << sections.status();
    for (const auto& s : *sections) {
      int64_t sum = 0;
      for (const auto& row : s.rows) sum += row.params;
      EXPECT_EQ(sum, s.total.total()) << m.name << " " << s.role;
      EXPECT_EQ(s.rows.front().output_shape.front(), 2);
    }
  }
}

TEST(LayerTable, WrongInputShapeIsAnError) {
  ModelBundle b = Build("seed001-dcgan", "fashion-mnist");
  auto table = LayerTable(b, ImageShape{3, 32, 32});
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LayerTable, TracingLeavesTrainingStateAlone) {
  ModelBundle b = Build("seed001-dcgan", "fashion-mnist");
  auto bn = b.critic->named_buffers()["net.1.running_mean"].clone();
  ASSERT_TRUE(LayerTable(b).ok());
  EXPECT_TRUE(b.critic->is_training());
  EXPECT_TRUE(torch::equal(bn, b.critic->named_buffers()["net.1.running_mean"]));
}

TEST(LayerTable, WithThousands) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1000), "1,000");
  EXPECT_EQ(WithThousands(2924570), "2,924,570");
  EXPECT_EQ(WithThousands(-1234), "-1,234");
}

}  // namespace layer_table_test
}  // namespace
}  // namespace gridrun::models
