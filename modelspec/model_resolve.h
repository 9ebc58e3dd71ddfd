// Resolving a model file for one trial: every size expression evaluated with
// the trial's settings and the data set, every shape inferred through every
// network, every parameter counted -- without LibTorch. The coordinator
// resolves each combination of a grid's values before it stores anything;
// the worker builds LibTorch modules from the same resolution
// (models/model_builder.h), so what was validated is what trains.
//
// Thread-safety: pure functions over immutable inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "modelspec/layer_types.h"
#include "modelspec/model_file.h"

namespace gridrun::modelspec {

// The grid settings a file reads; 0 takes the file's default.
struct ModelSizes {
  int64_t latent_size = 0;
  int64_t width = 0;
  int64_t depth = 0;
};

struct ResolveLimits {
  // A model with more parameters (all networks together) is refused.
  int64_t max_parameters = 1'000'000'000;
  // A layer output with more values per image is refused.
  int64_t max_activation_values = int64_t{1} << 28;
};

struct ResolvedLayer {
  const LayerType* type = nullptr;
  LayerArgs args;           // every argument, defaults and inferred ones included
  bool functional = false;  // applied as a function call: no layer-table row
  int line = 0;             // where the file wrote it
  Shape input;
  Shape output;
  ParamCount params;
};

struct ResolvedNetwork {
  std::string role;    // generator | critic | encoder | decoder | classifier
  std::string input;   // vector | spatial | image | flat
  std::string labels;  // "" | planes | vector
  std::string output;  // "" | score | mean
  Shape input_shape;   // what the first layer receives (labels included)
  std::vector<ResolvedLayer> layers;  // empty for a TorchScript network
  // A TorchScript network (model_file.h): no layers are resolved here (its
  // shapes are checked by running it, models/torchscript_network.h), and it
  // counts no parameters towards ResolveLimits::max_parameters.
  std::string torchscript;         // the path as written; "" : a layer list
  std::string torchscript_sha256;  // "" when the file gave none
};

struct ResolvedModel {
  std::shared_ptr<const ModelFile> file;
  int64_t latent_size = 0;  // 0 for classifiers
  int64_t num_classes = 0;  // the data set's
  int64_t label_classes = 0;  // num_classes when conditional, else 0
  Shape image;              // {C, H, W}
  std::vector<ResolvedNetwork> networks;  // in the file's order
  // VAE: the mean and log-variance heads, Linear(features, latent_size).
  ResolvedLayer z_mean;
  ResolvedLayer z_logvar;

  const ResolvedNetwork* Network(std::string_view role) const;
  ParamCount TotalParams() const;
};

// Resolves `file` for `data` and `sizes`. INVALID_ARGUMENT naming the file,
// the network, the layer (1-based, after repeats are expanded), its type and
// line, and the mismatch, e.g.
//   "gan.yaml: critic layer 4 (Conv2d, line 12): expects 64 input channels,
//    gets 32 from layer 3 output [B, 32, 14, 14]"
// and for bad expressions ("out_channels: ${width // (depth - 3)}: division
// by zero"), sizes below their minimum, a generator or decoder that does not
// produce the data set's image, a critic without one score per image, heads
// that do not match latent_size, and models over `limits`.
absl::StatusOr<ResolvedModel> ResolveModel(std::shared_ptr<const ModelFile> file,
                                           const DatasetInfo& data, const ModelSizes& sizes,
                                           const ResolveLimits& limits = {});

// ResolveModel for one trial's settings, after the rules a catalog row sets:
// the data set fits the file's `data:` shape, a conditional model's data set
// has classes, a fixed setting keeps its default, a preset takes no width
// or depth. Sizes <= 0 take the file's defaults. Errors (INVALID_ARGUMENT)
// name the setting ("latent_size: 'seed000-wgan' fixes it at 64, got 32"),
// or start "model 'NAME' (latent_size L, width W, depth D) on DATA: " before
// ResolveModel's message.
absl::StatusOr<ResolvedModel> ResolveModelForTrial(std::shared_ptr<const ModelFile> file,
                                                   const DatasetInfo& data, ModelSizes sizes,
                                                   const ResolveLimits& limits = {});

// The torchsummary-style tables of a resolved model, exactly as
// models/layer_table.h prints a built one: one section per module
// (Generator, Discriminator / Critic, VAE, Classifier).
std::string ResolvedLayerTable(const ResolvedModel& model);

// "1234567" -> "1,234,567".
std::string WithThousands(int64_t value);

}  // namespace gridrun::modelspec
