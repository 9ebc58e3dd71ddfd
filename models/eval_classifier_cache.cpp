// The evaluation classifier's cross-process training lock and per-process
// cache (models/eval_classifier_cache.h).
#include "models/eval_classifier_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>
#include <tuple>
#include <utility>

#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace gridrun::models {
namespace {

// An exclusive flock on a file for its lifetime; holds nothing if the file
// cannot be created or locked.
class ScopedFileLock {
 public:
  explicit ScopedFileLock(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      spdlog::warn("cannot open the lock file {} ({}); going on without it", path,
                   std::strerror(errno));
      return;
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      spdlog::warn("cannot lock {} ({}); going on without it", path, std::strerror(errno));
      break;
    }
  }
  ~ScopedFileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  ScopedFileLock(const ScopedFileLock&) = delete;
  ScopedFileLock& operator=(const ScopedFileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

std::string ClassifierLockPath(const std::string& data_dir, const std::string& dataset) {
  return data_dir + "/.gridrun-cache/classifier-" + dataset + ".lock";
}

absl::StatusOr<EvalClassifier> LoadOrTrainEvalClassifierLocked(
    const std::string& dataset, const std::string& data_dir, const ClassifierTrainOptions& options,
    ClassifierRecord* record) {
  ScopedFileLock lock(ClassifierLockPath(data_dir, dataset));
  return LoadOrTrainEvalClassifier(dataset, data_dir, options, record);
}

absl::StatusOr<QualityScorer*> CachedQualityScorer(const std::string& dataset,
                                                   const std::string& data_dir,
                                                   const Dataset& test) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::string, int64_t>, QualityScorer> cache;
  std::lock_guard<std::mutex> guard(mutex);
  auto key = std::make_tuple(dataset, data_dir, test.size());
  auto it = cache.find(key);
  if (it != cache.end()) return &it->second;
  ClassifierTrainOptions options;
  options.num_threads = at::get_num_threads();
  ClassifierRecord record;
  QualityScorer scorer;
  ASSIGN_OR_RETURN(scorer.classifier,
                   LoadOrTrainEvalClassifierLocked(dataset, data_dir, options, &record));
  if (!record.from_cache) {
    spdlog::info("trained the {} evaluation classifier in {:.1f} s (test accuracy {:.4f})", dataset,
                 record.train_seconds, record.test_accuracy);
  }
  ASSIGN_OR_RETURN(scorer.real, RealFeatureStats(scorer.classifier, test.images,
                                                 Range::kZeroOne));  // uint8 -> [0,1]
  return &(cache[key] = std::move(scorer));
}

}  // namespace gridrun::models
