// Model files built as LibTorch modules (models/model_builder.h): what the
// torch-free resolver infers (modelspec/model_resolve.h) is what the built
// modules do. For every built-in model and several sizes, the resolved layer
// table equals the table traced through the LibTorch modules; a user's file
// using every layer type builds and produces the inferred shapes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/layer_table.h"
#include "models/model_factory.h"
#include "modelspec/model_resolve.h"
#include "modelspec/zoo.h"

namespace gridrun::models {
namespace {
namespace model_file_test {

bool Fits(const ModelInfo& m, const DatasetInfo& d) {
  return m.fixed_channels == 0 || (m.fixed_channels == d.channels && m.fixed_size == d.height);
}

void ExpectResolvedEqualsTraced(std::shared_ptr<const modelspec::ModelFile> file,
                                const DatasetInfo& data, const modelspec::ModelSizes& sizes,
                                const std::string& what) {
  auto resolved = modelspec::ResolveModel(file, data, sizes);
  ASSERT_TRUE(resolved.ok()) << what << ": " << resolved.status();
  auto built = BuildModelFromFile(file, data, sizes.latent_size, sizes.width, sizes.depth);
  ASSERT_TRUE(built.ok()) << what << ": " << built.status();
  auto traced = LayerTable(*built);
  ASSERT_TRUE(traced.ok()) << what << ": " << traced.status();
  EXPECT_EQ(modelspec::ResolvedLayerTable(*resolved), *traced) << what;
  const modelspec::ParamCount count = resolved->TotalParams();
  const ParameterCount torch_count = built->Count();
  EXPECT_EQ(count.trainable, torch_count.trainable) << what;
}

TEST(ModelFile, EveryBuiltInModelTracesAsResolved) {
  for (const ModelInfo& m : ModelCatalog()) {
    for (const DatasetInfo& d : DatasetCatalog()) {
      if (!Fits(m, d)) continue;
      ExpectResolvedEqualsTraced(modelspec::FindZooFile(m.name), d, {},
                                 std::string(m.name) + " on " + std::string(d.name));
    }
  }
}

TEST(ModelFile, FamiliesTraceAsResolvedAtOtherSizes) {
  const modelspec::ModelSizes sizes[] = {{2, 16, 1}, {64, 8, 2}, {5, 24, 3}, {8, 4, 4}};
  for (const ModelInfo& m : ModelCatalog()) {
    if (m.is_preset) continue;
    for (const char* dataset : {"mnist", "cifar10"}) {
      for (modelspec::ModelSizes s : sizes) {
        if (!m.depth_adjustable) s.depth = 0;
        if (!m.latent_adjustable) s.latent_size = 0;
        ExpectResolvedEqualsTraced(modelspec::FindZooFile(m.name), *FindDataset(dataset), s,
                                   std::string(m.name) + " on " + dataset + " latent " +
                                       std::to_string(s.latent_size) + " width " +
                                       std::to_string(s.width) + " depth " +
                                       std::to_string(s.depth));
      }
    }
  }
}

// A conditional GAN using every layer type: Keras 'same' padding (odd and
// even totals), output_padding, pools, norms, Upsample, Unflatten,
// functional layers; label planes on the critic.
constexpr const char* kEveryLayer = R"yaml(
objective: wgan-gp
conditional: true
settings: {latent_size: 12, width: 8}
generator:
  layers:
    - Linear: {out_features: "${width * (image_height // 4) * (image_width // 4)}"}
    - BatchNorm1d
    - LeakyReLU: 0.2
    - Unflatten: {dim: 1, unflattened_size: ["${width}", "${image_height // 4}", "${image_width // 4}"]}
    - Upsample: {scale_factor: 2}
    - Conv2d: {out_channels: "${width}", kernel_size: 3, padding: same}
    - LayerNorm: [["${width}", "${image_height // 2}", "${image_width // 2}"]]
    - ConvTranspose2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}
    - Identity
    - Conv2d: {out_channels: "${channels}", kernel_size: 4, padding: same}
    - Sigmoid: {functional: true}
    - Tanh
critic:
  labels: planes
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 3, stride: 2, padding: same}
    - ReLU
    - MaxPool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
    - AvgPool2d: {kernel_size: 2}
    - Dropout: 0.1
    - Flatten
    - Reshape: ["${width * 16}"]     # 28 -> 14 -> 8 -> 4 and 32 -> 16 -> 8 -> 4
    - Linear: {out_features: 1}
)yaml";

TEST(ModelFile, EveryLayerTypeBuildsWithTheInferredShapes) {
  auto file = modelspec::ParseModelFile("every.yaml", kEveryLayer);
  ASSERT_TRUE(file.ok()) << file.status();
  for (const char* dataset : {"mnist", "cifar10"}) {
    const DatasetInfo& data = *FindDataset(dataset);
    ExpectResolvedEqualsTraced(*file, data, {}, std::string("every.yaml on ") + dataset);
    auto bundle = BuildModelFromFile(*file, data);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    ASSERT_TRUE(bundle->conditional);
    torch::Tensor z = torch::randn({3, 12});
    torch::Tensor labels = torch::tensor({0, 4, 9}, torch::kLong);
    torch::Tensor fake = bundle->generator->forward(z, labels);
    EXPECT_EQ(fake.sizes(), (std::vector<int64_t>{3, data.channels, data.height, data.width}));
    EXPECT_EQ(bundle->critic->forward(fake, labels).sizes(), (std::vector<int64_t>{3, 1}));
  }
}

TEST(ModelFile, FileErrorsSayWhichSizesFailed) {
  auto built = BuildModelByName("vae-conv", *FindDataset("mnist"), 4, 4, 5);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(std::string(built.status().message()),
            "model 'vae-conv' (latent_size 4, width 4, depth 5) on mnist: zoo/vae-conv.yaml: "
            "encoder layer 9 (Conv2d, line 17): the convolution makes the 1x1 input 0x0 (it must "
            "stay at least 1x1); its input is layer 8 output [B, 32, 1, 1]");
}

// A config carries a user's file as text (TrialConfig::model_source): the
// worker builds from it, never from a path.
TEST(ModelFile, BuildModelReadsTheConfigsSource) {
  TrialConfig config;
  config.model = "/nonexistent/every.yaml";
  config.model_source = kEveryLayer;
  config.latent_size = 12;
  config.width = 16;
  config.trial_seed = 3;
  auto bundle = BuildModel(config, *FindDataset("mnist"));
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->name, "every");
  // 12 layers, and the pad before the k4 'same' conv (an odd total: 3).
  EXPECT_EQ(bundle->generator->net()->size(), 13u);
  config.model_source = "objective: [";
  EXPECT_EQ(BuildModel(config, *FindDataset("mnist")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace model_file_test
}  // namespace
}  // namespace gridrun::models
