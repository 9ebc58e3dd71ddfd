#include "models/eval_classifier.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/models/fake_data.h"

namespace gridrun::models {
namespace {
namespace eval_classifier_test {

using fake_data::ScopedTempDir;

// Short training on fake data: enough to learn the class patterns.
ClassifierTrainOptions FastOptions(const std::string& cache_dir) {
  ClassifierTrainOptions options;
  options.epochs = 2;
  options.batch_size = 32;
  options.max_steps = 40;
  options.num_threads = 1;
  options.cache_dir = cache_dir;
  return options;
}

bool SameParameters(EvalClassifier& a, EvalClassifier& b) {
  const auto pa = a->named_parameters();
  const auto pb = b->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa) {
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  }
  return true;
}

TEST(EvalClassifierTest, ShapesForBothImageSizes) {
  EvalClassifier mnist = MakeEvalClassifier(*FindDataset("mnist"));
  mnist->eval();
  const torch::Tensor x = torch::rand({4, 1, 28, 28}) * 2 - 1;
  EXPECT_EQ(mnist->features(x).sizes(), (std::vector<int64_t>{4, EvalClassifierImpl::kFeatureDim}));
  EXPECT_EQ(mnist->forward(x).sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_TRUE(torch::allclose(mnist->classify(mnist->features(x)), mnist->forward(x)));

  EvalClassifier cifar = MakeEvalClassifier(*FindDataset("cifar10"));
  EXPECT_EQ(cifar->channels(), 3);
  EXPECT_EQ(cifar->image_size(), 32);
  EXPECT_EQ(cifar->forward(torch::zeros({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));
}

TEST(EvalClassifierTest, ClassifierInputConvertsToMinusOneOne) {
  const torch::Tensor u8 = torch::tensor({0, 255}, torch::kUInt8);
  EXPECT_TRUE(torch::allclose(ClassifierInput(u8, Range::kZeroOne), torch::tensor({-1.0f, 1.0f})));
  const torch::Tensor zero_one = torch::tensor({0.0f, 0.5f, 1.0f});
  EXPECT_TRUE(torch::allclose(ClassifierInput(zero_one, Range::kZeroOne),
                              torch::tensor({-1.0f, 0.0f, 1.0f})));
  EXPECT_TRUE(torch::equal(ClassifierInput(zero_one, Range::kMinusOneOne), zero_one));
}

TEST(EvalClassifierTest, TrainsOnFakeDataThenLoadsTheCache) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 640, 200, /*seed=*/5);
  const std::string cache_dir = dir.path() + "/cache";
  ClassifierRecord first;
  absl::StatusOr<EvalClassifier> trained =
      LoadOrTrainEvalClassifier("mnist", dir.path(), FastOptions(cache_dir), &first);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(first.cache_written);
  EXPECT_EQ(first.steps, 40);
  EXPECT_EQ(first.test_images, 200);
  EXPECT_GT(first.test_accuracy, 0.9);
  EXPECT_FALSE((*trained)->is_training());
  EXPECT_EQ(first.path, cache_dir + "/classifier-mnist-v1.pt");
  ASSERT_TRUE(std::filesystem::exists(first.path));
  std::ifstream json_file(ClassifierRecordPath(cache_dir, "mnist"));
  const nlohmann::json json = nlohmann::json::parse(json_file);
  EXPECT_DOUBLE_EQ(json.at("test_accuracy").get<double>(), first.test_accuracy);
  // No temporary files are left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 2);

  ClassifierRecord second;
  absl::StatusOr<EvalClassifier> loaded =
      LoadOrTrainEvalClassifier("mnist", dir.path(), FastOptions(cache_dir), &second);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(second.from_cache);
  EXPECT_DOUBLE_EQ(second.test_accuracy, first.test_accuracy);
  EXPECT_EQ(second.steps, 40);
  EXPECT_FALSE((*loaded)->is_training());
  EXPECT_TRUE(SameParameters(*trained, *loaded));
  absl::StatusOr<Dataset> test = LoadDataset("mnist", dir.path(), Split::kTest);
  ASSERT_TRUE(test.ok());
  absl::StatusOr<double> accuracy = ClassifierAccuracy(*loaded, *test);
  ASSERT_TRUE(accuracy.ok()) << accuracy.status();
  EXPECT_DOUBLE_EQ(*accuracy, first.test_accuracy);
}

TEST(EvalClassifierTest, TrainingIsDeterministicAndRestoresTorchState) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 320, 50, 6);
  ClassifierTrainOptions options = FastOptions("");
  options.use_cache = false;
  options.max_steps = 10;

  torch::manual_seed(123);
  const torch::Tensor expected_next = torch::rand({4});
  torch::manual_seed(123);
  const int threads = at::get_num_threads();
  ClassifierRecord record;
  absl::StatusOr<EvalClassifier> a =
      LoadOrTrainEvalClassifier("mnist", dir.path(), options, &record);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_next)) << "default generator restored";
  EXPECT_EQ(at::get_num_threads(), threads);
  EXPECT_TRUE(record.path.empty());
  EXPECT_FALSE(record.cache_written);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/.gridrun-cache"));

  absl::StatusOr<EvalClassifier> b = LoadOrTrainEvalClassifier("mnist", dir.path(), options);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(SameParameters(*a, *b));
  options.seed = 2;
  absl::StatusOr<EvalClassifier> c = LoadOrTrainEvalClassifier("mnist", dir.path(), options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(SameParameters(*a, *c));
}

TEST(EvalClassifierTest, BrokenCacheIsRetrainedAndReplaced) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 320, 50, 7, {true, "fashion-mnist"});
  ClassifierTrainOptions options = FastOptions("");  // default: <data_dir>/.gridrun-cache
  options.max_steps = 5;
  const std::string path = ClassifierCachePath(dir.path() + "/.gridrun-cache", "fashion-mnist");
  fake_data::WriteFileBytes(path, "not a torch archive");
  ClassifierRecord record;
  absl::StatusOr<EvalClassifier> trained =
      LoadOrTrainEvalClassifier("fashion-mnist", dir.path(), options, &record);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_FALSE(record.from_cache);
  EXPECT_TRUE(record.cache_written);
  EXPECT_EQ(record.path, path);
  absl::StatusOr<EvalClassifier> loaded =
      LoadOrTrainEvalClassifier("fashion-mnist", dir.path(), options, &record);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(record.from_cache);
  EXPECT_TRUE(SameParameters(*trained, *loaded));
}

TEST(EvalClassifierTest, UnwritableCacheIsNotAnError) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 100, 20, 8);
  fake_data::WriteFileBytes(dir.path() + "/blocker", "a file, not a directory");
  ClassifierTrainOptions options = FastOptions(dir.path() + "/blocker/cache");
  options.max_steps = 2;
  ClassifierRecord record;
  absl::StatusOr<EvalClassifier> trained =
      LoadOrTrainEvalClassifier("mnist", dir.path(), options, &record);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_FALSE(record.cache_written);
}

TEST(EvalClassifierTest, ReadOnlyDataDirFallsBackToTheUserCache) {
  ScopedTempDir dir;
  const std::string data_dir = dir.path() + "/data";
  fake_data::WriteFakeMnist(data_dir, 100, 20, 10);
  // A file where <data_dir>/.gridrun-cache would go makes the data dir's cache
  // unusable, as a read-only data dir would (root ignores permissions).
  fake_data::WriteFileBytes(data_dir + "/.gridrun-cache", "in the way");
  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old != nullptr ? old : "";
  setenv("XDG_CACHE_HOME", (dir.path() + "/xdg").c_str(), 1);
  ClassifierTrainOptions options = FastOptions("");
  options.max_steps = 3;
  const std::vector<std::string> dirs = ClassifierCacheDirs(data_dir, options);
  ClassifierRecord first;
  absl::StatusOr<EvalClassifier> trained =
      LoadOrTrainEvalClassifier("mnist", data_dir, options, &first);
  ClassifierRecord second;
  absl::StatusOr<EvalClassifier> loaded =
      LoadOrTrainEvalClassifier("mnist", data_dir, options, &second);
  if (old != nullptr) {
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  } else {
    unsetenv("XDG_CACHE_HOME");
  }
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], data_dir + "/.gridrun-cache");
  EXPECT_EQ(dirs[1].rfind(dir.path() + "/xdg/gridrun/eval-classifiers/", 0), 0u) << dirs[1];
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_TRUE(first.cache_written);
  EXPECT_EQ(first.path, ClassifierCachePath(dirs[1], "mnist"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.path, first.path);
  EXPECT_TRUE(SameParameters(*trained, *loaded));
  // An explicit cache dir is the only one.
  EXPECT_EQ(ClassifierCacheDirs(data_dir, FastOptions("/x")), std::vector<std::string>{"/x"});
}

TEST(EvalClassifierTest, CifarShapedTrainingWorks) {
  ScopedTempDir dir;
  fake_data::WriteFakeCifar10(dir.path(), 200, 9);
  ClassifierTrainOptions options = FastOptions("");
  options.use_cache = false;
  options.epochs = 5;  // 6 steps per epoch
  options.max_steps = 30;
  ClassifierRecord record;
  absl::StatusOr<EvalClassifier> trained =
      LoadOrTrainEvalClassifier("cifar10", dir.path(), options, &record);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_EQ(record.steps, 30);
  EXPECT_GT(record.test_accuracy, 0.5);
}

TEST(EvalClassifierTest, Errors) {
  ScopedTempDir dir;
  EXPECT_EQ(LoadOrTrainEvalClassifier("svhn", dir.path()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadOrTrainEvalClassifier("mnist", dir.path()).status().code(),
            absl::StatusCode::kNotFound);
  ClassifierTrainOptions bad;
  bad.batch_size = 0;
  EXPECT_EQ(LoadOrTrainEvalClassifier("mnist", dir.path(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  fake_data::WriteFakeMnist(dir.path(), 10, 10, 1);
  ClassifierTrainOptions big_batch = FastOptions(dir.path() + "/cache");
  big_batch.batch_size = 64;  // more than the 10 training images
  EXPECT_EQ(LoadOrTrainEvalClassifier("mnist", dir.path(), big_batch).status().code(),
            absl::StatusCode::kInvalidArgument);

  EvalClassifier mnist = MakeEvalClassifier(*FindDataset("mnist"));
  absl::StatusOr<Dataset> cifar_shaped = [&] {
    fake_data::WriteFakeCifar10(dir.path(), 5, 1);
    return LoadDataset("cifar10", dir.path(), Split::kTest);
  }();
  ASSERT_TRUE(cifar_shaped.ok());
  EXPECT_EQ(ClassifierAccuracy(mnist, *cifar_shaped).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EvalClassifierTest, DefaultEpochs) {
  EXPECT_EQ(DefaultClassifierEpochs("mnist"), 3);
  EXPECT_EQ(DefaultClassifierEpochs("fashion-mnist"), 5);
  EXPECT_EQ(DefaultClassifierEpochs("cifar10"), 10);
}

}  // namespace eval_classifier_test
}  // namespace
}  // namespace gridrun::models
