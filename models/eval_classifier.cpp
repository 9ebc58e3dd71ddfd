#include "models/eval_classifier.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "models/torch_errors.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace gridrun::models {
namespace {

constexpr int kCacheVersion = 1;

// Seeds the default CPU generator and sets the intra-op thread count for its
// lifetime; restores both afterwards.
class ScopedTorchTrainingState {
 public:
  ScopedTorchTrainingState(uint64_t seed, int num_threads)
      : generator_(at::detail::getDefaultCPUGenerator()), saved_threads_(at::get_num_threads()) {
    {
      std::lock_guard<std::mutex> lock(generator_.mutex());
      saved_state_ = generator_.get_state();
      generator_.set_current_seed(seed);
    }
    at::set_num_threads(num_threads);
  }
  ~ScopedTorchTrainingState() {
    at::set_num_threads(saved_threads_);
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(saved_state_);
  }
  ScopedTorchTrainingState(const ScopedTorchTrainingState&) = delete;
  ScopedTorchTrainingState& operator=(const ScopedTorchTrainingState&) = delete;

 private:
  at::Generator generator_;
  torch::Tensor saved_state_;
  int saved_threads_;
};

// A unique temporary name next to `path`.
std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(path, ".tmp-", ::getpid(), "-", counter.fetch_add(1));
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = TempPathFor(path);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::Status SaveCache(EvalClassifier& classifier, const ClassifierRecord& record,
                       const std::string& cache_dir) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot create ", cache_dir, ": ", ec.message()));
  }
  const nlohmann::json json = {{"dataset", record.dataset},
                               {"version", kCacheVersion},
                               {"test_accuracy", record.test_accuracy},
                               {"test_images", record.test_images},
                               {"epochs", record.epochs},
                               {"steps", record.steps},
                               {"train_seconds", record.train_seconds}};
  RETURN_IF_ERROR(
      WriteFileAtomically(ClassifierRecordPath(cache_dir, record.dataset), json.dump(2) + "\n"));
  const std::string path = ClassifierCachePath(cache_dir, record.dataset);
  const std::string tmp = TempPathFor(path);
  try {
    torch::save(classifier, tmp);
  } catch (const std::exception& e) {
    std::filesystem::remove(tmp, ec);
    return absl::UnavailableError(absl::StrCat("cannot save ", tmp, ": ", TorchMessage(e)));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

// Loads the cached module; false (with a logged reason) if absent or broken.
bool LoadCache(const DatasetInfo& info, const std::string& cache_dir, EvalClassifier* out,
               ClassifierRecord* record) {
  const std::string dataset(info.name);
  const std::string path = ClassifierCachePath(cache_dir, dataset);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  EvalClassifier classifier = MakeEvalClassifier(info);
  try {
    torch::load(classifier, path);
  } catch (const std::exception& e) {
    spdlog::warn("eval classifier cache {} does not load ({}); retraining", path, TorchMessage(e));
    return false;
  }
  record->from_cache = true;
  std::ifstream f(ClassifierRecordPath(cache_dir, dataset));
  if (f) {
    const nlohmann::json json = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
    if (json.is_object()) {
      record->test_accuracy = json.value("test_accuracy", -1.0);
      record->test_images = json.value("test_images", int64_t{0});
      record->epochs = json.value("epochs", 0);
      record->steps = json.value("steps", int64_t{0});
      record->train_seconds = json.value("train_seconds", 0.0);
    }
  }
  *out = classifier;
  return true;
}

absl::StatusOr<EvalClassifier> Train(const DatasetInfo& info, const std::string& data_dir,
                                     const ClassifierTrainOptions& options,
                                     ClassifierRecord* record) {
  const std::string dataset(info.name);
  ASSIGN_OR_RETURN(const Dataset train,
                   LoadDataset(dataset, data_dir, Split::kTrain, options.train_limit));
  ASSIGN_OR_RETURN(const Dataset test,
                   LoadDataset(dataset, data_dir, Split::kTest, options.test_limit));
  if (train.size() < options.batch_size) {
    return absl::InvalidArgumentError(absl::StrCat("eval classifier: ", train.size(),
                                                   " training images, fewer than one batch of ",
                                                   options.batch_size));
  }
  const int epochs = options.epochs > 0 ? options.epochs : DefaultClassifierEpochs(dataset);
  const auto start = std::chrono::steady_clock::now();
  ScopedTorchTrainingState torch_state(options.seed, options.num_threads);
  EvalClassifier classifier = MakeEvalClassifier(info);
  classifier->train();
  torch::optim::Adam optimizer(classifier->parameters(),
                               torch::optim::AdamOptions(options.learning_rate));
  int64_t steps = 0;
  int epochs_run = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    if (options.max_steps > 0 && steps >= options.max_steps) break;
    if (epochs >= 2 && epoch == epochs - 1) {
      // Last epoch at a tenth of the rate: settles the weights (+0.1-0.2%).
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(options.learning_rate * 0.1);
      }
    }
    ASSIGN_OR_RETURN(const torch::Tensor shard,
                     ShardIndices(train.size(), options.batch_size, 0, 1, options.seed, epoch));
    BatchIterator batches(train, shard, Range::kMinusOneOne);
    torch::Tensor images;
    torch::Tensor labels;
    double loss_sum = 0;
    int64_t loss_count = 0;
    while (batches.Next(&images, &labels)) {
      if (options.max_steps > 0 && steps >= options.max_steps) break;
      optimizer.zero_grad();
      torch::Tensor loss =
          torch::nn::functional::cross_entropy(classifier->forward(images), labels);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++loss_count;
      ++steps;
    }
    ++epochs_run;
    spdlog::info("eval classifier {}: epoch {}/{} mean loss {:.4f} ({} steps, {:.1f} s)", dataset,
                 epoch + 1, epochs, loss_count > 0 ? loss_sum / loss_count : 0.0, steps,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  record->train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  classifier->eval();
  ASSIGN_OR_RETURN(const double accuracy, ClassifierAccuracy(classifier, test));
  record->test_accuracy = accuracy;
  record->test_images = test.size();
  record->epochs = epochs_run;
  record->steps = steps;
  spdlog::info("eval classifier {}: test accuracy {:.4f} on {} images after {:.1f} s", dataset,
               accuracy, test.size(), record->train_seconds);
  return classifier;
}

}  // namespace

EvalClassifierImpl::EvalClassifierImpl(int64_t channels, int64_t image_size, int64_t num_classes)
    : channels_(channels), image_size_(image_size), num_classes_(num_classes) {
  const int64_t side = image_size / 4;
  conv1_ = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 32, /*kernel_size=*/3).padding(1)));
  conv2_ = register_module(
      "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, /*kernel_size=*/3).padding(1)));
  fc1_ = register_module("fc1", torch::nn::Linear(64 * side * side, kFeatureDim));
  dropout_ = register_module("dropout", torch::nn::Dropout(/*p=*/0.25));
  fc2_ = register_module("fc2", torch::nn::Linear(kFeatureDim, num_classes));
}

torch::Tensor EvalClassifierImpl::features(const torch::Tensor& x) {
  torch::Tensor h = torch::max_pool2d(torch::relu(conv1_->forward(x)), /*kernel_size=*/2);
  h = torch::max_pool2d(torch::relu(conv2_->forward(h)), /*kernel_size=*/2);
  return torch::relu(fc1_->forward(h.flatten(1)));
}

torch::Tensor EvalClassifierImpl::forward(const torch::Tensor& x) {
  return fc2_->forward(dropout_->forward(features(x)));
}

torch::Tensor EvalClassifierImpl::classify(const torch::Tensor& features) {
  return fc2_->forward(features);
}

EvalClassifier MakeEvalClassifier(const DatasetInfo& info) {
  return EvalClassifier(info.channels, info.height, info.num_classes);
}

torch::Tensor ClassifierInput(const torch::Tensor& images, Range range) {
  if (images.scalar_type() == torch::kUInt8) {
    return images.to(torch::kFloat32).div(127.5).sub_(1.0);
  }
  torch::Tensor x = images.to(torch::kFloat32);
  if (range == Range::kZeroOne) return x.mul(2.0).sub_(1.0);
  return x;
}

int DefaultClassifierEpochs(const std::string& dataset) {
  if (dataset == "mnist") return 3;
  if (dataset == "fashion-mnist") return 5;
  return 10;
}

std::string ClassifierCachePath(const std::string& cache_dir, const std::string& dataset) {
  return (std::filesystem::path(cache_dir) /
          absl::StrCat("classifier-", dataset, "-v", kCacheVersion, ".pt"))
      .string();
}

std::string ClassifierRecordPath(const std::string& cache_dir, const std::string& dataset) {
  return (std::filesystem::path(cache_dir) /
          absl::StrCat("classifier-", dataset, "-v", kCacheVersion, ".json"))
      .string();
}

std::vector<std::string> ClassifierCacheDirs(const std::string& data_dir,
                                             const ClassifierTrainOptions& options) {
  if (!options.cache_dir.empty()) return {options.cache_dir};
  std::vector<std::string> dirs = {(std::filesystem::path(data_dir) / ".gridrun-cache").string()};
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base;
  if (xdg != nullptr && xdg[0] != '\0') {
    base = xdg;
  } else if (home != nullptr && home[0] != '\0') {
    base = std::string(home) + "/.cache";
  }
  if (!base.empty()) {
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(data_dir, ec);
    if (ec) absolute = data_dir;
    const std::string key = Sha256Hex(absolute.lexically_normal().string()).substr(0, 16);
    dirs.push_back((std::filesystem::path(base) / "gridrun" / "eval-classifiers" / key).string());
  }
  return dirs;
}

absl::StatusOr<EvalClassifier> LoadOrTrainEvalClassifier(const std::string& dataset,
                                                         const std::string& data_dir,
                                                         const ClassifierTrainOptions& options,
                                                         ClassifierRecord* record) {
  const DatasetInfo* info = FindDataset(dataset);
  if (info == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dataset '", dataset, "'; allowed: ", DatasetNames()));
  }
  if (options.batch_size < 1 || options.num_threads < 1 || options.learning_rate <= 0 ||
      options.epochs < 0 || options.train_limit < 0 || options.test_limit < 0 ||
      options.max_steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "eval classifier options: need batch_size >= 1, num_threads >= 1, learning_rate > 0 and "
        "non-negative epochs/limits/max_steps; got batch_size=",
        options.batch_size, " num_threads=", options.num_threads,
        " learning_rate=", options.learning_rate, " epochs=", options.epochs));
  }
  ClassifierRecord local_record;
  ClassifierRecord& rec = record != nullptr ? *record : local_record;
  rec = ClassifierRecord{};
  rec.dataset = dataset;
  const std::vector<std::string> cache_dirs = ClassifierCacheDirs(data_dir, options);
  try {
    if (options.use_cache) {
      for (const std::string& cache_dir : cache_dirs) {
        EvalClassifier cached{nullptr};
        if (LoadCache(*info, cache_dir, &cached, &rec)) {
          rec.path = ClassifierCachePath(cache_dir, dataset);
          cached->eval();
          return cached;
        }
      }
    }
    ASSIGN_OR_RETURN(EvalClassifier trained, Train(*info, data_dir, options, &rec));
    if (options.use_cache) {
      for (const std::string& cache_dir : cache_dirs) {
        absl::Status saved = SaveCache(trained, rec, cache_dir);
        if (saved.ok()) {
          rec.cache_written = true;
          rec.path = ClassifierCachePath(cache_dir, dataset);
          break;
        }
        spdlog::warn("eval classifier for {} not cached in {}: {}", dataset, cache_dir,
                     saved.ToString());
      }
    }
    return trained;
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("eval classifier for ", dataset, ": torch error: ", TorchMessage(e)));
  }
}

absl::StatusOr<double> ClassifierAccuracy(EvalClassifier& classifier, const Dataset& data,
                                          int64_t batch_size) {
  if (data.size() == 0 || batch_size < 1) {
    return absl::InvalidArgumentError("classifier accuracy: empty data set or batch size < 1");
  }
  if (data.images.size(1) != classifier->channels() ||
      data.images.size(2) != classifier->image_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "classifier accuracy: images are ", data.images.size(1), "x", data.images.size(2), "x",
        data.images.size(3), " but the classifier takes ", classifier->channels(), "x",
        classifier->image_size(), "x", classifier->image_size()));
  }
  try {
    torch::NoGradGuard no_grad;
    const bool was_training = classifier->is_training();
    classifier->eval();
    int64_t correct = 0;
    for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
      const int64_t end = std::min(begin + batch_size, data.size());
      const torch::Tensor x =
          ClassifierInput(data.images.slice(0, begin, end), Range::kMinusOneOne);
      const torch::Tensor predicted = classifier->forward(x).argmax(1);
      correct += predicted.eq(data.labels.slice(0, begin, end)).sum().item<int64_t>();
    }
    classifier->train(was_training);
    return static_cast<double>(correct) / static_cast<double>(data.size());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("classifier accuracy: torch error: ", TorchMessage(e)));
  }
}

}  // namespace gridrun::models
