// Model files with TorchScript networks (modelspec/model_file.h,
// `torchscript: PATH`): parsing, the hash map gridrun appends, and
// resolution (no layers: the module is checked by running it, in models/).
#include <gtest/gtest.h>

#include <string>

#include "modelspec/model_file.h"
#include "modelspec/model_resolve.h"

namespace gridrun::modelspec {
namespace {
namespace torchscript_model_file_test {

constexpr char kGan[] = R"yaml(objective: wgan-gp
conditional: true
settings:
  latent_size: {default: 16, fixed: true}
generator:
  torchscript: nets/generator.pt
critic:
  torchscript: critic.pt
)yaml";

const std::string kShaG(64, 'a');
const std::string kShaC(64, 'b');

std::string Error(const std::string& text) {
  auto file = ParseModelFile("ts.yaml", text);
  return file.ok() ? "parsed" : std::string(file.status().message());
}

TEST(TorchScriptModelFileTest, ParsesNetworksWithoutLayers) {
  auto file = ParseModelFile("ts.yaml", kGan);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE((*file)->HasTorchScript());
  ASSERT_EQ((*file)->networks.size(), 2u);
  EXPECT_EQ((*file)->Network("generator")->torchscript, "nets/generator.pt");
  EXPECT_EQ((*file)->Network("critic")->torchscript, "critic.pt");
  EXPECT_EQ((*file)->Network("critic")->torchscript_sha256, "");
}

TEST(TorchScriptModelFileTest, AppendedHashesNameEachFile) {
  const std::string text =
      WithTorchScriptHashes(kGan, {{"nets/generator.pt", kShaG}, {"critic.pt", kShaC}});
  EXPECT_EQ(text.rfind(kGan, 0), 0u) << "the user's text comes first, unchanged";
  auto file = ParseModelFile("ts.yaml", text);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->Network("generator")->torchscript_sha256, kShaG);
  EXPECT_EQ((*file)->Network("critic")->torchscript_sha256, kShaC);
  // A text without a trailing newline gets one first.
  std::string no_newline = kGan;
  no_newline.pop_back();
  auto again = ParseModelFile("ts.yaml", WithTorchScriptHashes(no_newline, {{"critic.pt", kShaC}}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->Network("critic")->torchscript_sha256, kShaC);
  EXPECT_EQ(WithTorchScriptHashes(kGan, {}), kGan);
}

TEST(TorchScriptModelFileTest, RefusesMalformedDeclarations) {
  EXPECT_EQ(Error(std::string(kGan) + "torchscript_sha256: {critic.pt: 1234}\n"),
            "ts.yaml: line 9: torchscript_sha256.critic.pt: expects 64 lower-case hex digits");
  EXPECT_EQ(Error(std::string(kGan) + "torchscript_sha256: {other.pt: " + kShaC + "}\n"),
            "ts.yaml: line 9: torchscript_sha256: no network is torchscript: other.pt");
  EXPECT_EQ(Error(R"yaml(objective: gan
settings: {latent_size: 8}
generator: {torchscript: g.pt, input: spatial}
critic: {torchscript: c.pt}
)yaml"),
            "ts.yaml: line 3: generator: a torchscript network takes no other key (got 'input')");
  EXPECT_EQ(Error(R"yaml(objective: classifier
classifier: {torchscript: c.pt}
)yaml"),
            "ts.yaml: line 2: classifier: torchscript is for generators, critics, encoders and "
            "decoders");
  EXPECT_EQ(Error(R"yaml(objective: vae
settings: {latent_size: 8}
encoder: {torchscript: e.pt}
heads: {bias: false}
decoder: {torchscript: d.pt}
)yaml"),
            "ts.yaml: line 4: heads: a TorchScript encoder returns (mu, logvar) itself");
  EXPECT_EQ(Error(R"yaml(objective: gan
settings: {latent_size: 8}
generator: {torchscript: ""}
critic: {torchscript: c.pt}
)yaml"),
            "ts.yaml: line 3: generator.torchscript: empty path");
}

TEST(TorchScriptModelFileTest, ResolvesWithoutLayersAndShowsTheFileInTheTable) {
  auto file = ParseModelFile("ts.yaml", WithTorchScriptHashes(kGan, {{"critic.pt", kShaC}}));
  ASSERT_TRUE(file.ok()) << file.status();
  auto resolved = ResolveModelForTrial(*file, *FindDataset("mnist"), {});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->latent_size, 16);
  EXPECT_EQ(resolved->label_classes, 10);
  const ResolvedNetwork* critic = resolved->Network("critic");
  ASSERT_NE(critic, nullptr);
  EXPECT_TRUE(critic->layers.empty());
  EXPECT_EQ(critic->torchscript, "critic.pt");
  EXPECT_EQ(critic->torchscript_sha256, kShaC);
  EXPECT_EQ(resolved->TotalParams().trainable, 0);
  const std::string table = ResolvedLayerTable(*resolved);
  EXPECT_NE(table.find("generator: TorchScript module nets/generator.pt"), std::string::npos)
      << table;
  EXPECT_NE(table.find("critic: TorchScript module critic.pt"), std::string::npos) << table;
  // latent_size is fixed: the scripted module's input cannot follow a grid.
  auto other = ResolveModelForTrial(*file, *FindDataset("mnist"), {32, 0, 0});
  EXPECT_FALSE(other.ok());
}

TEST(TorchScriptModelFileTest, VaeMayMixAScriptedDecoderWithALayerEncoder) {
  auto file = ParseModelFile("vae.yaml", R"yaml(objective: vae
settings: {latent_size: 8}
encoder:
  input: flat
  layers: [{Linear: {out_features: 32}}, ReLU]
decoder: {torchscript: d.pt}
)yaml");
  ASSERT_TRUE(file.ok()) << file.status();
  auto resolved = ResolveModelForTrial(*file, *FindDataset("mnist"), {});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->Network("encoder")->layers.size(), 2u);
  EXPECT_EQ(resolved->Network("decoder")->torchscript, "d.pt");
}

}  // namespace torchscript_model_file_test
}  // namespace
}  // namespace gridrun::modelspec
