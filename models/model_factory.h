// Builds the model a TrialConfig names, as a ModelBundle of the modules its
// objective trains: a built-in model file (modelspec/zoo.h: a family sized by
// latent_size / width / depth, or an exact seed preset) or the user's model
// file whose text the config carries (TrialConfig::model_source). Both go
// through the one builder, models/model_builder.h.
//
// Contract with the catalog (modelspec/zoo.h): every catalog entry builds for
// every data set it fits (tests/models/shape_test.cpp).
// Thread-safety: BuildModel reseeds torch's default generator (initial weights
// are a function of the config); call it from one thread at a time. A bundle
// is owned by one trainer thread.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "common/trial_config.h"
#include "models/networks.h"
#include "modelspec/model_file.h"

namespace gridrun::models {

// How a seed printed its parameter counts. torchsummary (PyTorch) counts
// weights and biases; Keras also counts BatchNorm's moving mean and variance
// as "non-trainable params". The module is the same either way.
enum class CountConvention { kTorch, kKeras };

struct ParameterCount {
  int64_t trainable = 0;      // requires_grad parameters
  int64_t non_trainable = 0;  // Keras: BatchNorm running mean + var; torch: frozen params
  int64_t total() const { return trainable + non_trainable; }
};

// Counts `module`'s parameters (recursively) the way `convention` prints them.
ParameterCount CountParameters(const torch::nn::Module& module,
                               CountConvention convention = CountConvention::kTorch);

// The modules of one model. Exactly the members of its objective are set:
//   kVae: vae;  kGan / kWgan / kWganGp: generator + critic;  kClassifier: classifier.
struct ModelBundle {
  std::string name;  // catalog name, e.g. "seed001-dcgan"
  Objective objective = Objective::kVae;
  bool conditional = false;
  int64_t latent_size = 0;  // 0 for classifiers
  int64_t num_classes = 0;  // the data set's classes
  ImageShape image;
  CountConvention count_convention = CountConvention::kTorch;

  Vae vae{nullptr};
  Generator generator{nullptr};
  Critic critic{nullptr};
  Classifier classifier{nullptr};

  bool is_gan() const {
    return objective == Objective::kGan || objective == Objective::kWgan ||
           objective == Objective::kWganGp;
  }
  // The set modules by role: "vae"; "generator" and "critic"; "classifier".
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> Modules() const;
  // Sum over Modules().
  ParameterCount Count() const;
  // Moves every module to `device`.
  void To(const torch::Device& device);
};

// The bytes of the TorchScript files a model file names (modelspec/
// model_file.h), by sha256 hex. The worker fetches them from the
// coordinator (worker/torchscript_cache.h); tests and tools read them.
using TorchScriptFiles = std::map<std::string, std::string>;

// Builds config.model for `dataset` (config.model_source when set: the text
// of the user's model file). Seeds torch's default generator with
// config.trial_seed first, so equal configs get equal initial weights (on
// every rank of a data-parallel trial). latent_size / width / depth of 0 take
// the file's default. Errors (INVALID_ARGUMENT, naming the field): unknown
// model; a model file that does not parse; a preset on a data set of another
// shape; a latent size or width on a preset that fixes it; sizes the file
// cannot build (the message names the sizes, then the file's own error).
// A TorchScript network's bytes come from `torchscript` by the hash the
// text names (INVALID_ARGUMENT when absent, or when the module does not load
// or breaks its contract: models/torchscript_network.h).
absl::StatusOr<ModelBundle> BuildModel(const TrialConfig& config, const DatasetInfo& dataset,
                                       const TorchScriptFiles& torchscript = {});

// Same, by built-in name and sizes (tests, tools): sizes <= 0 take the default.
absl::StatusOr<ModelBundle> BuildModelByName(std::string_view model, const DatasetInfo& dataset,
                                             int64_t latent_size = 0, int64_t width = 0,
                                             int64_t depth = 0, int64_t seed = 0);

// Same, for a parsed model file.
absl::StatusOr<ModelBundle> BuildModelFromFile(std::shared_ptr<const modelspec::ModelFile> file,
                                               const DatasetInfo& dataset, int64_t latent_size = 0,
                                               int64_t width = 0, int64_t depth = 0,
                                               int64_t seed = 0,
                                               const TorchScriptFiles& torchscript = {});

// Transfer (seed 001, task 2-5, TrialConfig::init_encoder_from): copies the
// hidden Linear layers of a trained classifier (`classifier-mlp`,
// `seed001-classifier`) into the first Linear layers of an MLP VAE encoder, in
// order. INVALID_ARGUMENT when `source` is not a classifier, `target` not a
// VAE, the encoder has fewer Linear layers, or a shape differs (the message
// names the layer and both shapes). Call before building the trainer or at
// any time: the copy is in place, so optimizers keep their parameters.
absl::Status InitEncoderFrom(const ModelBundle& source, ModelBundle& target);

}  // namespace gridrun::models
