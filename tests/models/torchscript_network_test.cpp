// TorchScript networks (models/torchscript_network.h): modules defined here
// with torch::jit (as torch.jit.save would write them from Python) load,
// train through their own tensors, resume exactly from a checkpoint, save
// back with their trained weights, and a module that breaks its contract or
// is not one is refused with a message naming the file and what was
// expected.
#include "models/torchscript_network.h"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "common/model_catalog.h"
#include "common/sha256.h"
#include "common/trial_config.h"
#include "models/checkpoint_state.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "modelspec/model_file.h"

namespace gridrun::models {
namespace {
namespace torchscript_network_test {

constexpr int64_t kLatent = 8;
constexpr int64_t kClasses = 10;
constexpr int64_t kPixels = 28 * 28;

std::string Saved(torch::jit::Module& m) {
  std::ostringstream out;
  m.save(out);
  return out.str();
}

// generator(z, one_hot) -> [B, 1, 28, 28]; a nested `head` module holds a
// parameter too (its checkpoint name is net.head.scale).
std::string GeneratorBytes(int64_t seed = 1) {
  torch::manual_seed(seed);
  torch::jit::Module head("Head");
  head.register_parameter("scale", torch::ones({1}), false);
  torch::jit::Module g("Generator");
  g.register_parameter("weight", torch::randn({kPixels, kLatent + kClasses}) * 0.1, false);
  g.register_parameter("bias", torch::zeros({kPixels}), false);
  g.register_module("head", head);
  g.define(R"(
def forward(self, z, one_hot):
    x = torch.cat([z, one_hot], 1)
    y = torch.tanh(torch.addmm(self.bias, x, self.weight.t()) * self.head.scale)
    return y.view(-1, 1, 28, 28)
)");
  return Saved(g);
}

// critic(image, one_hot) -> [B, outputs]
std::string CriticBytes(int64_t outputs = 1, int64_t seed = 2) {
  torch::manual_seed(seed);
  torch::jit::Module c("Critic");
  c.register_parameter("weight", torch::randn({outputs, kPixels + kClasses}) * 0.05, false);
  c.register_parameter("bias", torch::zeros({outputs}), false);
  c.define(R"(
def forward(self, image, one_hot):
    x = torch.cat([image.flatten(1), one_hot], 1)
    return torch.addmm(self.bias, x, self.weight.t())
)");
  return Saved(c);
}

constexpr char kModel[] = R"yaml(objective: wgan-gp
conditional: true
settings:
  latent_size: {default: 8, fixed: true}
generator: {torchscript: generator.pt}
critic: {torchscript: critic.pt}
)yaml";

struct Files {
  TorchScriptFiles bytes;
  std::string model_source;
};

Files MakeFiles(const std::string& generator, const std::string& critic) {
  Files f;
  const std::string g = Sha256Hex(generator), c = Sha256Hex(critic);
  f.bytes = {{g, generator}, {c, critic}};
  f.model_source =
      modelspec::WithTorchScriptHashes(kModel, {{"generator.pt", g}, {"critic.pt", c}});
  return f;
}

TrialConfig Config(const Files& files) {
  TrialConfig c;
  c.model = "ts.yaml";
  c.model_source = files.model_source;
  c.dataset = "mnist";
  c.trial_seed = 3;
  c.critic_iters = 2;
  c.optimizer = OptimizerConfig{"adam", 1e-3, 0.5, 0.9, 0.0, 0.0};
  return c;
}

std::vector<Batch> StepBatches(const Trainer& t, int64_t step) {
  std::vector<Batch> out;
  for (int i = 0; i < t.BatchesPerStep(); ++i) {
    at::Generator gen = at::detail::createCPUGenerator(700 + step * 8 + i);
    out.push_back(Batch{torch::rand({16, 1, 28, 28}, gen) * 2 - 1,
                        torch::randint(kClasses, {16}, gen, torch::kLong)});
  }
  return out;
}

std::vector<Metrics> RunSteps(Trainer& t, int64_t from, int64_t to) {
  std::vector<Metrics> out;
  for (int64_t step = from; step < to; ++step) {
    auto m = t.Step(StepBatches(t, step));
    EXPECT_TRUE(m.ok()) << m.status();
    if (m.ok()) out.push_back(*m);
  }
  return out;
}

std::unique_ptr<Trainer> Make(const Files& files) {
  const TrialConfig c = Config(files);
  auto bundle = BuildModel(c, *FindDataset("mnist"), files.bytes);
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  if (!bundle.ok()) return nullptr;
  auto trainer = MakeTrainer(*bundle, c);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  return std::move(*trainer);
}

class TorchScriptNetworkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { at::set_num_threads(1); }
};

TEST_F(TorchScriptNetworkTest, MirrorsTheModulesOwnTensorsUnderTheirNames) {
  auto net = LoadTorchScript(GeneratorBytes(), "generator.pt");
  ASSERT_TRUE(net.ok()) << net.status();
  auto params = (*net)->named_parameters();
  ASSERT_EQ(params.size(), 3u);
  EXPECT_TRUE(params.contains("weight"));
  EXPECT_TRUE(params.contains("head.scale"));
  // The same tensor, not a copy: an in-place update is what the script sees.
  torch::NoGradGuard no_grad;
  params["head.scale"].fill_(0);
  torch::Tensor out = (*net)->CallTensor({torch::randn({2, kLatent}), torch::zeros({2, kClasses})});
  EXPECT_TRUE(torch::equal(out, torch::zeros({2, 1, 28, 28})));
}

TEST_F(TorchScriptNetworkTest, TrainsAndResumesExactly) {
  const Files files = MakeFiles(GeneratorBytes(), CriticBytes());
  auto straight = Make(files);
  ASSERT_NE(straight, nullptr);
  const torch::Tensor before =
      straight->bundle().generator->named_parameters()["net.weight"].clone();
  const std::vector<Metrics> expected = RunSteps(*straight, 0, 4);
  EXPECT_FALSE(torch::equal(before, straight->bundle().generator->named_parameters()["net.weight"]))
      << "the optimizer did not move the scripted generator's weights";

  auto first = Make(files);
  RunSteps(*first, 0, 2);
  auto bytes = SaveCheckpointState(*first, CheckpointMeta{1, {}});
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto resumed = Make(files);
  ASSERT_TRUE(LoadCheckpointState(*bytes, *resumed).ok());
  const std::vector<Metrics> tail = RunSteps(*resumed, 2, 4);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0], expected[2]);
  EXPECT_EQ(tail[1], expected[3]);
  for (const auto& [role, module] : straight->bundle().Modules()) {
    auto other = role == "generator" ? resumed->bundle().generator->named_parameters()
                                     : resumed->bundle().critic->named_parameters();
    for (const auto& p : module->named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), other[p.key()])) << role << " " << p.key();
    }
  }
}

TEST_F(TorchScriptNetworkTest, SavesTheTrainedWeightsBackAsTorchScript) {
  const Files files = MakeFiles(GeneratorBytes(), CriticBytes());
  auto trainer = Make(files);
  ASSERT_NE(trainer, nullptr);
  RunSteps(*trainer, 0, 2);
  TorchScriptNetPtr scripted = trainer->bundle().generator->scripted();
  ASSERT_NE(scripted, nullptr);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("gridrun-ts-" + std::to_string(::getpid()) + ".pt"))
                               .string();
  ASSERT_TRUE(SaveTorchScript(*scripted, path).ok());
  torch::jit::Module loaded = torch::jit::load(path);
  std::filesystem::remove(path);
  auto trained = scripted->named_parameters();
  for (const auto& p : loaded.named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value, trained[p.name])) << p.name;
  }
}

TEST_F(TorchScriptNetworkTest, RefusesABrokenContractNamingFileAndExpectation) {
  const Files files = MakeFiles(GeneratorBytes(), CriticBytes(/*outputs=*/7));
  auto bundle = BuildModel(Config(files), *FindDataset("mnist"), files.bytes);
  EXPECT_EQ(bundle.status().message(),
            "critic.pt: critic (image [2, 1, 28, 28], one_hot [2, 10]) must return one score per "
            "image ([2] or [2, 1]), returned [2, 7]");

  // The generator's z is 8 wide; a latent_size of 16 feeds it 16 + 10 columns.
  Files wide = MakeFiles(GeneratorBytes(), CriticBytes());
  const std::string from = "default: 8", to = "default: 16";
  wide.model_source.replace(wide.model_source.find(from), from.size(), to);
  auto wrong_z = BuildModel(Config(wide), *FindDataset("mnist"), wide.bytes);
  EXPECT_EQ(wrong_z.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(wrong_z.status().message())
                .rfind("generator.pt: generator (z [2, 16], one_hot [2, 10]) does not run: ", 0),
            0u)
      << wrong_z.status();
}

TEST_F(TorchScriptNetworkTest, RefusesBytesThatAreNotTorchScriptOrAreMissing) {
  auto not_one = LoadTorchScript("PK\x03\x04 certainly not a module", "g.pt");
  EXPECT_EQ(not_one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(not_one.status().message())
                .rfind("g.pt: not a TorchScript module (save one with torch.jit.save): ", 0),
            0u)
      << not_one.status();

  Files files = MakeFiles(GeneratorBytes(), CriticBytes());
  const std::string critic_sha = Sha256Hex(CriticBytes());
  files.bytes.erase(critic_sha);
  auto missing = BuildModel(Config(files), *FindDataset("mnist"), files.bytes);
  EXPECT_EQ(missing.status().message(),
            "ts.yaml: critic critic.pt (sha256 " + critic_sha + "): its bytes were not provided");
}

// A VAE whose encoder (image -> (mu, logvar)) and decoder (z -> logits)
// are both TorchScript, latent size 4.
std::string EncoderBytes(bool tuple = true) {
  torch::manual_seed(5);
  torch::jit::Module e("Encoder");
  e.register_parameter("weight", torch::randn({8, kPixels}) * 0.01, false);
  e.define(tuple ? R"(
def forward(self, image):
    h = torch.mm(image.flatten(1), self.weight.t())
    return h[:, :4], h[:, 4:]
)"
                 : R"(
def forward(self, image):
    return torch.mm(image.flatten(1), self.weight.t())
)");
  return Saved(e);
}

std::string DecoderBytes() {
  torch::manual_seed(6);
  torch::jit::Module d("Decoder");
  d.register_parameter("weight", torch::randn({kPixels, 4}) * 0.1, false);
  d.define(R"(
def forward(self, z):
    return torch.mm(z, self.weight.t()).view(-1, 1, 28, 28)
)");
  return Saved(d);
}

TEST_F(TorchScriptNetworkTest, TrainsAVaeOfTwoScriptedNetworks) {
  auto config_for = [](const std::string& encoder, const std::string& decoder,
                       TorchScriptFiles* files) {
    const std::string e = Sha256Hex(encoder), d = Sha256Hex(decoder);
    *files = {{e, encoder}, {d, decoder}};
    TrialConfig c;
    c.model = "vae.yaml";
    c.model_source = modelspec::WithTorchScriptHashes(
        "objective: vae\nsettings: {latent_size: {default: 4, fixed: true}}\n"
        "encoder: {torchscript: e.pt}\ndecoder: {torchscript: d.pt}\n",
        {{"e.pt", e}, {"d.pt", d}});
    c.dataset = "mnist";
    c.trial_seed = 3;
    c.optimizer = OptimizerConfig{"adam", 1e-3, 0.9, 0.999, 0.0, 0.0};
    return c;
  };
  TorchScriptFiles files;
  const TrialConfig c = config_for(EncoderBytes(), DecoderBytes(), &files);
  auto bundle = BuildModel(c, *FindDataset("mnist"), files);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->vae->latent_size(), 4);
  ASSERT_NE(bundle->vae->scripted_encoder(), nullptr);
  ASSERT_NE(bundle->vae->scripted_decoder(), nullptr);
  auto trainer = MakeTrainer(*bundle, c);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  const torch::Tensor before =
      (*trainer)->bundle().vae->named_parameters()["decoder.weight"].clone();
  at::Generator gen = at::detail::createCPUGenerator(9);
  for (int step = 0; step < 2; ++step) {
    auto m = (*trainer)->Step(Batch{torch::rand({16, 1, 28, 28}, gen),
                                    torch::randint(kClasses, {16}, gen, torch::kLong)});
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_TRUE(std::isfinite(m->at("loss/total")));
  }
  EXPECT_FALSE(
      torch::equal(before, (*trainer)->bundle().vae->named_parameters()["decoder.weight"]));

  // An encoder that returns one tensor instead of (mu, logvar).
  const TrialConfig bad = config_for(EncoderBytes(/*tuple=*/false), DecoderBytes(), &files);
  EXPECT_EQ(BuildModel(bad, *FindDataset("mnist"), files).status().message(),
            "e.pt: encoder (image [2, 1, 28, 28]) must return a tuple (mu [2, 4], logvar [2, 4]), "
            "returned Tensor");
}

}  // namespace torchscript_network_test
}  // namespace
}  // namespace gridrun::models
