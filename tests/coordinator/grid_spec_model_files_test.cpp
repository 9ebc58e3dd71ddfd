// Grid specs naming model files (coordinator/grid_spec.h "Models"): the
// files' texts come with the spec, every combination of the grid's sizes is
// resolved before anything is accepted, and each trial carries its file's
// text, so its config hash changes with the architecture.
#include <gtest/gtest.h>

#include <string>

#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"

namespace gridrun::coordinator {
namespace {
namespace grid_spec_model_files_test {

constexpr const char* kGan = R"yaml(objective: wgan-gp
conditional: true
settings: {latent_size: 16, width: 32}
generator:
  layers:
    - Linear: {out_features: "${width * 7 * 7}"}
    - LeakyReLU: 0.2
    - Reshape: ["${width}", 7, 7]
    - ConvTranspose2d: {out_channels: "${width // 2}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  labels: planes
  layers:
    - Conv2d: {out_channels: "${width - 8}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml";

constexpr const char* kSpec = R"yaml(experiment: file-gan
dataset: mnist
model: models/gan.yaml
epochs: 1
grid:
  width: [32, 64]
  latent_size: [16, 64]
)yaml";

ModelFileTexts Files(const std::string& text = kGan) { return {{"models/gan.yaml", text}}; }

std::string ErrorOf(const std::string& spec, const ModelFileTexts& files) {
  auto parsed = ParseGridSpec(spec, {}, files);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : std::string(parsed.status().message());
}

TEST(GridSpecModelFiles, TrialsCarryTheFileAndItsDefaults) {
  auto spec = ParseGridSpec(kSpec, {}, Files());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->model_files, Files());
  const auto trials = ExpandGrid(*spec);
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& t : trials) {
    EXPECT_EQ(t.config.model, "models/gan.yaml");
    EXPECT_EQ(t.config.model_source, kGan);
    EXPECT_EQ(t.config.critic_iters, 5);  // wgan-gp's default, from the file's objective
    EXPECT_NE(ToCanonicalJson(t.config).find("model_source"), std::string::npos);
  }
  EXPECT_EQ(trials[3].config.width, 64);
  EXPECT_EQ(trials[3].config.latent_size, 64);
}

TEST(GridSpecModelFiles, AChangedLayerIsADifferentTrialAnUnchangedFileTheSame) {
  auto a = ParseGridSpec(kSpec, {}, Files());
  auto b = ParseGridSpec(kSpec, {}, Files());
  std::string changed = kGan;
  changed.replace(changed.find("LeakyReLU: 0.2"), 14, "LeakyReLU: 0.1");
  auto c = ParseGridSpec(kSpec, {}, Files(changed));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->canonical_json, b->canonical_json);
  EXPECT_NE(a->canonical_json, c->canonical_json);
  const auto ta = ExpandGrid(*a), tb = ExpandGrid(*b), tc = ExpandGrid(*c);
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].config_sha256, tb[i].config_sha256);
    EXPECT_NE(ta[i].config_sha256, tc[i].config_sha256);
  }
}

TEST(GridSpecModelFiles, BuiltInModelsKeepTheirHashes) {
  // No model_source key in a built-in model's config (config_hash_pin_test
  // pins the hashes themselves).
  auto spec = ParseGridSpec("experiment: x\ndataset: mnist\nmodel: dcgan\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(ToCanonicalJson(ExpandGrid(*spec)[0].config).find("model_source"), std::string::npos);
  EXPECT_EQ(spec->canonical_json.find("model_files"), std::string::npos);
}

TEST(GridSpecModelFiles, AGridValueThatBreaksTheFileRefusesTheWholeGrid) {
  std::string spec = kSpec;
  spec.replace(spec.find("width: [32, 64]"), 15, "width: [32, 8, 64]");
  EXPECT_EQ(ErrorOf(spec, Files()),
            "line 3: model: model models/gan.yaml with latent_size 16, width 8 on mnist does not "
            "build: models/gan.yaml: critic layer 1 (Conv2d, line 16): out_channels: "
            "${width - 8} = 0; must be >= 1");
}

TEST(GridSpecModelFiles, EveryDataSetIsChecked) {
  const std::string spec = "experiment: file-gan\nmodel: models/gan.yaml\ngrid:\n"
                           "  dataset: [mnist, cifar10]\n";
  const std::string error = ErrorOf(spec, Files());
  EXPECT_NE(error.find("with latent_size 16, width 32 on cifar10 does not build: "
                       "models/gan.yaml: generator: output [B, 1, 28, 28] is not the data "
                       "set's image [B, 3, 32, 32]"),
            std::string::npos)
      << error;
}

TEST(GridSpecModelFiles, MissingAndBrokenFilesAreNamed) {
  EXPECT_EQ(ErrorOf(kSpec, {}),
            "line 3: model: model file 'models/gan.yaml' was not sent with the spec (gridrun "
            "submit, local and validate read it relative to the spec file)");
  EXPECT_EQ(ErrorOf(kSpec, Files("objective: gann\n")),
            "line 3: model: models/gan.yaml: line 1: objective: unknown value 'gann', did you "
            "mean 'gan'? (allowed: vae, gan, wgan, wgan-gp, classifier)");
}

TEST(GridSpecModelFiles, SettingsTheFileDoesNotReadAreRefused) {
  std::string spec = kSpec;
  spec += "  depth: [1, 2]\n";
  EXPECT_EQ(ErrorOf(spec, Files()), "line 8: grid.depth: not used by model models/gan.yaml");
}

TEST(GridSpecModelFiles, AModelAxisMixesFilesAndBuiltIns) {
  const std::string spec = "experiment: mix\ndataset: mnist\nwidth: 32\ngrid:\n"
                           "  model: [models/gan.yaml, cwgan-conv]\n";
  auto parsed = ParseGridSpec(spec, {}, Files());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const auto trials = ExpandGrid(*parsed);
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].config.model_source, kGan);
  EXPECT_EQ(trials[1].config.model_source, "");
}

TEST(GridSpecModelFiles, ModelsOverTheParameterLimitAreRefused) {
  GridLimits limits;
  limits.max_model_parameters = 100'000;
  auto parsed = ParseGridSpec(kSpec, limits, Files());
  ASSERT_FALSE(parsed.ok());
  const std::string message(parsed.status().message());
  EXPECT_EQ(message.rfind("line 3: model: model models/gan.yaml with latent_size 16, width 64 on "
                          "mnist does not build: models/gan.yaml: the model has 138,874 "
                          "parameters, over the limit of 100,000\n",
                          0),
            0u)
      << message;
}

TEST(GridSpecModelFiles, StructureOnlyNeedsNoFiles) {
  GridLimits limits;
  limits.structure_only = true;
  auto spec = ParseGridSpec(kSpec, limits);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->axes.size(), 2u);
  EXPECT_EQ(spec->axes[0].name, "width");
}

}  // namespace grid_spec_model_files_test
}  // namespace
}  // namespace gridrun::coordinator
