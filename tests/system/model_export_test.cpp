// Every trained model out (issue 16, items 3 and 4): `gridrun local` trains
// one tiny conditional GAN from a model file on generated MNIST files; then
//   - `gridrun sample` writes PNG grids of the requested layouts (one row per
//     class, one class, an interpolation walk), and clear errors for bad
//     trials and labels;
//   - `gridrun export --models` writes the state dicts, model.py and a
//     manifest whose hashes match the files;
//   - Python (Debian's python3-torch, /usr/bin/python3) loads the generated
//     model.py and the exported weights and reproduces gridrun's own raw
//     sample output for the same z and labels (max abs difference < 1e-5);
//     skipped with a message where python3-torch is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "models/image_grid.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace model_export_test {

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A small conditional GAN; a functional layer, an Unflatten and BatchNorm
// exercise the generated source's child indices and buffers.
constexpr char kModel[] = R"(objective: gan
conditional: true
settings:
  latent_size: 8
  width: 8
generator:
  layers:
    - Linear: {out_features: "${width * (image_height // 4) * (image_width // 4)}", bias: false}
    - BatchNorm1d
    - ReLU
    - Unflatten: {dim: 1, unflattened_size: ["${width}", "${image_height // 4}", "${image_width // 4}"]}
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: {negative_slope: 0.2, functional: true}
    - ConvTranspose2d: {out_channels: "${channels}", kernel_size: 4, stride: 2, padding: 1}
    - Tanh
discriminator:
  labels: planes
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 3, stride: 2, padding: same}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)";

// The Python side of the round trip: prints "max_abs_diff <value>".
constexpr char kRoundTrip[] = R"(import sys, torch
sys.path.insert(0, sys.argv[1])
from model import Generator, Critic, LATENT_SIZE, NUM_CLASSES
G = Generator(); G.load_state_dict(torch.load(sys.argv[1] + '/generator.pt')); G.eval()
D = Critic(); D.load_state_dict(torch.load(sys.argv[1] + '/critic.pt')); D.eval()
raw = torch.load(sys.argv[2])
assert raw['z'].shape[1] == LATENT_SIZE and NUM_CLASSES == 10
with torch.no_grad():
    images = G(raw['z'], raw['labels'])
    scores = D(images, raw['labels'])
assert scores.shape == (images.shape[0], 1), scores.shape
print('max_abs_diff', (images - raw['images']).abs().max().item())
)";

bool PythonHasTorch() {
  ChildProcess probe({"/usr/bin/python3", "-c", "import torch"});
  return probe.Wait(std::chrono::minutes(1)) == 0;
}

class ModelExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fake_data::WriteFakeMnist(dir_->path() + "/data", /*n_train=*/256, /*n_test=*/64, /*seed=*/9);
    std::ofstream(dir_->path() + "/cgan.yaml") << kModel;
    std::ofstream(dir_->path() + "/spec.yaml") << "experiment: tiny-cgan\n"
                                                  "dataset: mnist\n"
                                                  "model: cgan.yaml\n"
                                                  "epochs: 1\n"
                                                  "batch_size: 64\n"
                                                  "eval_samples: 0\n";
    ChildProcess local({BuildDir() + "/gridrun", "local", dir_->path() + "/spec.yaml", "--db",
                        Db(), "--data-dir", dir_->path() + "/data", "--workers", "1",
                        "--ui-listen", "off"});
    trained_ = local.Wait(std::chrono::minutes(3)) == 0;
    EXPECT_TRUE(trained_) << local.output();
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override { ASSERT_TRUE(trained_) << "gridrun local did not train the trial"; }

  static std::string Db() { return dir_->path() + "/runs.db"; }
  static std::string Path(const std::string& name) { return dir_->path() + "/" + name; }

  // Runs gridrun with `args`; returns {exit code, output}.
  static std::pair<int, std::string> Gridrun(std::vector<std::string> args) {
    args.insert(args.begin(), BuildDir() + "/gridrun");
    ChildProcess run(args);
    const int code = run.Wait(std::chrono::minutes(2));
    return {code, run.output()};
  }

  // rows x cols of a grid PNG of 28x28 gray images.
  static void ExpectGrid(const std::string& path, int rows, int cols) {
    auto decoded = models::DecodePng(ReadBytes(path));
    ASSERT_TRUE(decoded.ok()) << path << ": " << decoded.status();
    EXPECT_EQ(decoded->sizes(), torch::IntArrayRef({1, rows * 29 + 1, cols * 29 + 1})) << path;
  }

  static TempDir* dir_;
  static bool trained_;
};
TempDir* ModelExportTest::dir_ = nullptr;
bool ModelExportTest::trained_ = false;

TEST_F(ModelExportTest, SampleWritesTheRequestedLayoutsAndRefusesBadInputs) {
  auto [code, out] = Gridrun({"sample", "--db", Db(), "tiny-cgan:0", "--count", "5", "--out",
                              Path("classes.png")});
  ASSERT_EQ(code, 0) << out;
  ExpectGrid(Path("classes.png"), 10, 5);  // one row per class

  std::tie(code, out) = Gridrun({"sample", "--db", Db(), "1", "--label", "3", "--count", "7",
                                 "--out", Path("threes.png")});
  ASSERT_EQ(code, 0) << out;
  ExpectGrid(Path("threes.png"), 3, 3);  // 7 images, as square as possible

  std::tie(code, out) = Gridrun({"sample", "--db", Db(), "tiny-cgan:0", "--label", "1",
                                 "--interpolate", "--seed", "4", "--to-seed", "9", "--count", "6",
                                 "--out", Path("walk.png")});
  ASSERT_EQ(code, 0) << out;
  ExpectGrid(Path("walk.png"), 1, 6);

  // Bad inputs: clear errors, nothing written.
  std::tie(code, out) = Gridrun({"sample", "--db", Db(), "999", "--out", Path("x.png")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("no trial with id 999"), std::string::npos) << out;
  std::tie(code, out) = Gridrun({"sample", "--db", Db(), "tiny-cgan:4", "--out", Path("x.png")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("no trial 4"), std::string::npos) << out;
  std::tie(code, out) =
      Gridrun({"sample", "--db", Db(), "tiny-cgan:0", "--label", "10", "--out", Path("x.png")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("--label 10: mnist has classes 0 to 9"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(Path("x.png")));
  std::tie(code, out) =
      Gridrun({"export", "--db", Db(), "tiny-cgan", "--models", Path("m2"), "--trial", "3"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("has no trial 3"), std::string::npos) << out;
  std::tie(code, out) = Gridrun({"export", "--db", Db(), "tiny-cgan"});
  EXPECT_EQ(code, 2) << "neither --out nor --models is a usage error";
  EXPECT_NE(out.find("--models DIR"), std::string::npos) << out;
}

TEST_F(ModelExportTest, ExportedGeneratorReproducesGridrunSamplesInPython) {
  const std::string models = Path("models");
  auto [code, out] = Gridrun({"export", "--db", Db(), "tiny-cgan", "--models", models});
  ASSERT_EQ(code, 0) << out;
  const std::string trial_dir = models + "/trial-0";
  for (const char* file : {"generator.pt", "critic.pt", "model.py", "config.json"}) {
    EXPECT_TRUE(std::filesystem::exists(trial_dir + "/" + file)) << file << "\n" << out;
  }
  const auto manifest = nlohmann::json::parse(ReadBytes(trial_dir + "/manifest.json"));
  EXPECT_EQ(manifest["experiment"]["name"], "tiny-cgan");
  EXPECT_EQ(manifest["trial"]["state"], "COMPLETE");
  EXPECT_EQ(manifest["config"]["model"], "cgan.yaml");
  EXPECT_EQ(manifest["config_sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(manifest["metrics"].contains("loss/g")) << manifest.dump();
  for (const char* file : {"generator.pt", "critic.pt", "model.py"}) {
    EXPECT_EQ(manifest["files"][file]["sha256"], Sha256Hex(ReadBytes(trial_dir + "/" + file)))
        << file;
  }

  std::tie(code, out) = Gridrun({"sample", "--db", Db(), "tiny-cgan:0", "--count", "4", "--seed",
                                 "11", "--out", Path("rt.png"), "--raw", Path("rt.pt")});
  ASSERT_EQ(code, 0) << out;
  if (!PythonHasTorch()) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import torch (Debian's python3-torch is not "
                    "installed): the Python half of the round trip is skipped";
  }
  std::ofstream(Path("round_trip.py")) << kRoundTrip;
  ChildProcess python({"/usr/bin/python3", Path("round_trip.py"), trial_dir, Path("rt.pt")});
  ASSERT_EQ(python.Wait(std::chrono::minutes(2)), 0) << python.output();
  const size_t at = python.output().find("max_abs_diff ");
  ASSERT_NE(at, std::string::npos) << python.output();
  const double diff = std::stod(python.output().substr(at + 13));
  EXPECT_LT(diff, 1e-5) << python.output();
  std::cout << "python: " << python.output();
}

}  // namespace model_export_test
}  // namespace
}  // namespace gridrun::testing
