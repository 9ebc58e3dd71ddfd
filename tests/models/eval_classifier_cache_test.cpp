// The evaluation classifier's cross-process lock and per-process scorer cache
// (models/eval_classifier_cache.h).
#include "models/eval_classifier_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/models/fake_data.h"

namespace gridrun::models {
namespace {
namespace eval_classifier_cache_test {

using fake_data::ScopedTempDir;

ClassifierTrainOptions FewSteps() {
  ClassifierTrainOptions options;
  options.epochs = 1;
  options.batch_size = 32;
  options.max_steps = 3;
  options.num_threads = 1;
  return options;
}

// Sets XDG_CACHE_HOME for its lifetime (the user-cache fallback of
// ClassifierCacheDirs), then restores it.
class ScopedXdgCacheHome {
 public:
  explicit ScopedXdgCacheHome(const std::string& dir) {
    const char* old = std::getenv("XDG_CACHE_HOME");
    had_ = old != nullptr;
    if (had_) saved_ = old;
    setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  }
  ~ScopedXdgCacheHome() {
    if (had_) {
      setenv("XDG_CACHE_HOME", saved_.c_str(), 1);
    } else {
      unsetenv("XDG_CACHE_HOME");
    }
  }

 private:
  bool had_ = false;
  std::string saved_;
};

TEST(EvalClassifierCacheTest, LockPathIsInTheDataDirsCache) {
  EXPECT_EQ(ClassifierLockPath("/data", "mnist"), "/data/.gridrun-cache/classifier-mnist.lock");
}

TEST(EvalClassifierCacheTest, ScorerIsTrainedOnceAndReusedPerTestSet) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), /*n_train=*/128, /*n_test=*/40, /*seed=*/5);
  absl::StatusOr<Dataset> test = LoadDataset("mnist", dir.path(), Split::kTest, 0);
  ASSERT_TRUE(test.ok()) << test.status();
  absl::StatusOr<QualityScorer*> first = CachedQualityScorer("mnist", dir.path(), *test);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE(*first, nullptr);
  EXPECT_TRUE(std::filesystem::exists(ClassifierLockPath(dir.path(), "mnist")));
  EXPECT_TRUE(
      std::filesystem::exists(ClassifierCachePath(dir.path() + "/.gridrun-cache", "mnist")));
  EXPECT_EQ((*first)->real.count, test->size());
  EXPECT_EQ((*first)->real.mean.size(0), EvalClassifierImpl::kFeatureDim);

  absl::StatusOr<QualityScorer*> again = CachedQualityScorer("mnist", dir.path(), *test);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);

  // Another test set size is another entry (its real statistics differ).
  absl::StatusOr<Dataset> smaller = LoadDataset("mnist", dir.path(), Split::kTest, 20);
  ASSERT_TRUE(smaller.ok()) << smaller.status();
  absl::StatusOr<QualityScorer*> other = CachedQualityScorer("mnist", dir.path(), *smaller);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(*other, *first);
  EXPECT_EQ((*other)->real.count, 20);
}

TEST(EvalClassifierCacheTest, ErrorsAreReturnedAndNotCached) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), /*n_train=*/64, /*n_test=*/20, /*seed=*/6);
  absl::StatusOr<Dataset> test = LoadDataset("mnist", dir.path(), Split::kTest, 0);
  ASSERT_TRUE(test.ok()) << test.status();
  const std::string empty_dir = dir.path() + "/no-data";
  std::filesystem::create_directories(empty_dir);
  absl::StatusOr<QualityScorer*> missing = CachedQualityScorer("mnist", empty_dir, *test);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  // The data arrives: the next call trains instead of repeating the error.
  fake_data::WriteFakeMnist(empty_dir, /*n_train=*/64, /*n_test=*/20, /*seed=*/6);
  absl::StatusOr<QualityScorer*> found = CachedQualityScorer("mnist", empty_dir, *test);
  EXPECT_TRUE(found.ok()) << found.status();
}

TEST(EvalClassifierCacheTest, TrainingWaitsWhileAnotherProcessHoldsTheLock) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), /*n_train=*/64, /*n_test=*/20, /*seed=*/7);
  const std::string lock_path = ClassifierLockPath(dir.path(), "mnist");
  std::filesystem::create_directories(dir.path() + "/.gridrun-cache");
  // A second open file description conflicts like another process would.
  const int holder = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  ASSERT_GE(holder, 0);
  ASSERT_EQ(::flock(holder, LOCK_EX), 0);

  std::atomic<bool> done{false};
  absl::Status result = absl::UnknownError("not run");
  std::thread trainer([&] {
    result = LoadOrTrainEvalClassifierLocked("mnist", dir.path(), FewSteps()).status();
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(done) << "trained while the lock was held";
  ::close(holder);  // releases the lock
  trainer.join();
  EXPECT_TRUE(done);
  EXPECT_TRUE(result.ok()) << result;
}

TEST(EvalClassifierCacheTest, UnusableLockDirIsNotAnError) {
  ScopedTempDir dir;
  const std::string data_dir = dir.path() + "/data";
  fake_data::WriteFakeMnist(data_dir, /*n_train=*/64, /*n_test=*/20, /*seed=*/8);
  // A file where <data_dir>/.gridrun-cache would go, as in a read-only data
  // dir (root ignores permissions): no lock file, the user cache instead.
  fake_data::WriteFileBytes(data_dir + "/.gridrun-cache", "in the way");
  ScopedXdgCacheHome xdg(dir.path() + "/xdg");
  ClassifierRecord record;
  absl::StatusOr<EvalClassifier> classifier =
      LoadOrTrainEvalClassifierLocked("mnist", data_dir, FewSteps(), &record);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_TRUE(record.cache_written);
  EXPECT_EQ(record.path.rfind(dir.path() + "/xdg/", 0), 0u) << record.path;
}

}  // namespace eval_classifier_cache_test
}  // namespace
}  // namespace gridrun::models
