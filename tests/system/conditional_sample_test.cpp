// A trained conditional model draws the class it is asked for (issue 16,
// item 4): `gridrun local` trains the shipped conditional conv GAN
// (experiments/models/cgan_conv.yaml, width 32, latent 32) for two epochs
// of real MNIST (batch 32: 3,750 steps, about two minutes of one core); then
//   - `gridrun sample` (one row per class) decodes as a 10 x 10 grid, and the
//     evaluation classifier, briefly trained on real MNIST (> 95% test
//     accuracy), labels most images k in row k: at least 75 of 100, and k
//     is every row's most frequent class;
//   - `gridrun sample --label 3` draws mostly 3s.
// Skipped with a message when ../shared/data/mnist is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "models/eval_classifier.h"
#include "models/image_grid.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"

namespace gridrun::testing {
namespace {
namespace conditional_sample_test {

std::string RealDataDir() {
  const char* env = std::getenv("GRIDRUN_SHARED_DATA");
  return env != nullptr ? env : "";
}

bool HasRealMnist() {
  const std::string dir = RealDataDir();
  return !dir.empty() && std::filesystem::exists(dir + "/mnist/train-images-idx3-ubyte.gz");
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The rows x cols cells of a grid PNG of 28x28 gray images, as uint8
// [rows * cols, 1, 28, 28] in row-major order (models/image_grid.h: one
// pixel of border around and between cells).
torch::Tensor GridCells(const std::string& path, int rows, int cols) {
  absl::StatusOr<torch::Tensor> grid = models::DecodePng(FileBytes(path));
  EXPECT_TRUE(grid.ok()) << path << ": " << grid.status();
  if (!grid.ok()) return torch::Tensor();
  EXPECT_EQ(grid->sizes(), torch::IntArrayRef({1, rows * 29 + 1, cols * 29 + 1})) << path;
  if (grid->size(1) != rows * 29 + 1 || grid->size(2) != cols * 29 + 1) return torch::Tensor();
  std::vector<torch::Tensor> cells;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      cells.push_back(grid->slice(1, 1 + r * 29, 1 + r * 29 + 28).slice(2, 1 + c * 29, 1 + c * 29 + 28));
    }
  }
  return torch::stack(cells);
}

// Trains the conditional GAN into `db`; the output of `gridrun local`, or
// "" when it exited 0.
std::string TrainConditionalGan(const std::string& dir, const std::string& db) {
  std::ofstream(dir + "/spec.yaml") << "experiment: cgan-classes\n"
                                       "dataset: mnist\n"
                                       "model: "
                                    << SourceDir()
                                    << "/experiments/models/cgan_conv.yaml\n"
                                       "epochs: 2\n"
                                       "batch_size: 32\n"
                                       "test_size: 256\n"
                                       "eval_samples: 0\n"
                                       "width: 32\n"
                                       "latent_size: 32\n";
  ChildProcess local({BuildDir() + "/gridrun", "local", dir + "/spec.yaml", "--db", db,
                      "--data-dir", RealDataDir(), "--workers", "1", "--ui-listen", "off"});
  return local.Wait(std::chrono::minutes(10)) == 0 ? "" : local.output();
}

// Runs `gridrun sample` on the trained trial with `args`; fails the test
// unless it exits 0.
void Sample(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {BuildDir() + "/gridrun", "sample", "--db", db, "cgan-classes:0"});
  ChildProcess run(args);
  EXPECT_EQ(run.Wait(std::chrono::minutes(2)), 0) << run.output();
}

// One test, so that the GAN trains once (each ctest test is a process).
TEST(ConditionalSampleTest, EachRowAndChosenLabelIsClassifiedAsItsClass) {
  if (!HasRealMnist()) {
    GTEST_SKIP() << "real MNIST not found at " << RealDataDir()
                 << "/mnist (../shared/data beside the checkout)";
  }
  TempDir dir;
  const std::string db = dir.path() + "/runs.db";
  const std::string failed = TrainConditionalGan(dir.path(), db);
  ASSERT_EQ(failed, "") << "gridrun local did not train the conditional GAN";

  models::ClassifierTrainOptions options;  // seconds; about 97% on the test split
  options.epochs = 1;
  options.batch_size = 50;
  options.learning_rate = 2e-3;
  options.max_steps = 400;
  options.train_limit = 20000;
  options.test_limit = 1000;
  options.use_cache = false;  // the shared data dir is read-only
  models::ClassifierRecord record;
  absl::StatusOr<models::EvalClassifier> classifier =
      models::LoadOrTrainEvalClassifier("mnist", RealDataDir(), options, &record);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_GT(record.test_accuracy, 0.95);
  // The classifier's class of each image (uint8 [N, 1, 28, 28]).
  auto classes = [&](const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    return (*classifier)
        ->forward(models::ClassifierInput(images, models::Range::kMinusOneOne))
        .argmax(1);
  };

  // One row per class.
  const std::string rows_png = dir.path() + "/classes.png";
  Sample(db, {"--count", "10", "--seed", "4", "--out", rows_png});
  const torch::Tensor cells = GridCells(rows_png, 10, 10);
  ASSERT_TRUE(cells.defined());
  const torch::Tensor predicted = classes(cells).view({10, 10});
  const torch::Tensor wanted = torch::arange(10, torch::kLong).unsqueeze(1).expand({10, 10});
  std::ostringstream table;  // the classifier's labels, one grid row per line
  table << predicted;
  // Most images overall, and in every row k the most frequent class is k.
  const int64_t right = predicted.eq(wanted).sum().item<int64_t>();
  std::cout << right << " of 100 images classified as their row's class\n" << table.str() << "\n";
  EXPECT_GE(right, 75) << table.str();
  for (int k = 0; k < 10; ++k) {
    const torch::Tensor counts = torch::bincount(predicted[k], /*weights=*/{}, /*minlength=*/10);
    torch::Tensor others = counts.clone();
    others[k] = -1;
    EXPECT_GT(counts[k].item<int64_t>(), others.max().item<int64_t>())
        << "row " << k << ": class counts " << counts << "\n" << table.str();
  }

  // One chosen class.
  const std::string threes_png = dir.path() + "/threes.png";
  Sample(db, {"--label", "3", "--count", "16", "--out", threes_png});
  const torch::Tensor threes = GridCells(threes_png, 4, 4);
  ASSERT_TRUE(threes.defined());
  const torch::Tensor labels = classes(threes);
  std::ostringstream printed;
  printed << labels;
  EXPECT_GE(labels.eq(3).sum().item<int64_t>(), 12) << printed.str();
}

}  // namespace conditional_sample_test
}  // namespace
}  // namespace gridrun::testing
