// The evaluation classifier: a small LeNet-style CNN trained once per data
// set and used to score generated images (models/quality_metrics.h: feature
// Fréchet distance, mode coverage, class KL).
//
// Architecture (for 1x28x28 and 3x32x32 inputs):
//   conv 3x3 C->32, pad 1, ReLU, maxpool 2
//   conv 3x3 32->64, pad 1, ReLU, maxpool 2
//   linear 64*(S/4)^2 -> 128, ReLU          <- features(x), 128-d
//   dropout 0.25 (training only), linear 128 -> num_classes   <- forward(x)
// (No BatchNorm: LibTorch 1.13's CPU BatchNorm made a training step 1.4-2x
// slower for no needed accuracy.)
//
// Input convention: float images in [-1, 1] (Normalize(u8, kMinusOneOne));
// ClassifierInput converts uint8 and [0, 1] images.
//
// LoadOrTrainEvalClassifier trains deterministically (fixed seed, seeded
// permutation shuffling, fixed thread count) and caches the result as
// <cache_dir>/classifier-<dataset>-v1.pt (torch::save of the module) with a
// JSON record of its test accuracy beside it; later calls load the cache.
//
// Thread-safety: an EvalClassifier is not thread-safe (one thread uses it).
// LoadOrTrainEvalClassifier temporarily changes process-wide torch state
// while it trains (intra-op thread count, the default CPU generator's seed;
// both are restored afterwards): do not train other torch models in the same
// process at the same time.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "models/dataset.h"

namespace gridrun::models {

class EvalClassifierImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kFeatureDim = 128;

  // channels 1 or 3; image_size 28 or 32 (any multiple of 4 works).
  EvalClassifierImpl(int64_t channels = 1, int64_t image_size = 28, int64_t num_classes = 10);

  // x: float [N, C, S, S] in [-1, 1]. Returns the penultimate activations
  // [N, kFeatureDim] (after ReLU).
  torch::Tensor features(const torch::Tensor& x);
  // Class logits [N, num_classes].
  torch::Tensor forward(const torch::Tensor& x);
  // The last layer alone: logits from features(x) (in eval mode,
  // classify(features(x)) == forward(x); dropout is skipped here).
  torch::Tensor classify(const torch::Tensor& features);

  int64_t channels() const { return channels_; }
  int64_t image_size() const { return image_size_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  int64_t channels_;
  int64_t image_size_;
  int64_t num_classes_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(EvalClassifier);

// An untrained classifier shaped for `info`.
EvalClassifier MakeEvalClassifier(const DatasetInfo& info);

// Images in the classifier's convention: uint8 (0..255, `range` ignored) ->
// [-1, 1]; float in kZeroOne -> x * 2 - 1; float in kMinusOneOne -> as is.
// The result is float32 on the input's device.
torch::Tensor ClassifierInput(const torch::Tensor& images, Range range);

struct ClassifierTrainOptions {
  int epochs = 0;               // 0: DefaultClassifierEpochs(dataset)
  int64_t batch_size = 64;      // training batch
  double learning_rate = 1e-3;  // Adam; a tenth of it in the last epoch when epochs >= 2
  uint64_t seed = 1;
  int num_threads = 2;      // at::set_num_threads while training (>= 1)
  int64_t train_limit = 0;  // first N training images (0 = all)
  int64_t test_limit = 0;   // first N test images for the accuracy (0 = all)
  int64_t max_steps = 0;    // stop after this many optimizer steps (0 = no cap)
  std::string cache_dir;    // "" = ClassifierCacheDirs(data_dir, ...)
  bool use_cache = true;    // false: neither read nor write the cache
};

// Epochs that reach the benchmark targets (>= 99% MNIST, >= 90%
// Fashion-MNIST test accuracy): 3 for mnist, 5 for fashion-mnist, 10 for
// cifar10.
int DefaultClassifierEpochs(const std::string& dataset);

// What LoadOrTrainEvalClassifier did.
struct ClassifierRecord {
  std::string dataset;
  std::string path;           // cache file loaded or written ("" if none)
  bool from_cache = false;    // loaded rather than trained
  double test_accuracy = -1;  // fraction in [0, 1]; -1 if unknown
  int64_t test_images = 0;
  int epochs = 0;
  int64_t steps = 0;
  double train_seconds = 0;
  bool cache_written = false;  // trained and saved (false when saving failed)
};

// Cache file paths for `dataset`: <dir>/classifier-<dataset>-v1.pt / .json.
std::string ClassifierCachePath(const std::string& cache_dir, const std::string& dataset);
std::string ClassifierRecordPath(const std::string& cache_dir, const std::string& dataset);

// Where the cache is looked for, in order: options.cache_dir alone when set;
// otherwise <data_dir>/.gridrun-cache, then (for read-only data dirs, such as
// a shared copy of the data sets)
// ${XDG_CACHE_HOME:-$HOME/.cache}/gridrun/eval-classifiers/<first 16 hex
// digits of sha256(absolute data_dir)>, so different data dirs never share a
// cache.
std::vector<std::string> ClassifierCacheDirs(const std::string& data_dir,
                                             const ClassifierTrainOptions& options);

// Returns the evaluation classifier for `dataset`, in eval() mode on CPU:
// loaded from the first cache dir holding a cache that loads, otherwise
// trained on the data set's training split (see ClassifierTrainOptions),
// evaluated on its test split, and saved (temporary file, then rename, so
// concurrent callers never see a partial file) in the first cache dir that
// accepts it. A cache that fails to load is retrained and replaced. Failing to
// write every cache dir is not an error: it is logged and reported as
// record->cache_written = false.
// Errors: INVALID_ARGUMENT for an unknown data set or bad options; the
// LoadDataset errors when training data is missing or corrupt; INTERNAL if
// torch fails while training.
absl::StatusOr<EvalClassifier> LoadOrTrainEvalClassifier(const std::string& dataset,
                                                         const std::string& data_dir,
                                                         const ClassifierTrainOptions& options = {},
                                                         ClassifierRecord* record = nullptr);

// Fraction of `data` the classifier labels correctly (eval mode, no grad,
// batches of `batch_size`). INVALID_ARGUMENT for an empty set or a shape the
// classifier does not take; INTERNAL on torch errors.
absl::StatusOr<double> ClassifierAccuracy(EvalClassifier& classifier, const Dataset& data,
                                          int64_t batch_size = 1000);

}  // namespace gridrun::models
