// Layer-by-layer summaries of a ModelBundle in the seeds' torchsummary format:
//
//   | Layer (type) | Output Shape | Param # |
//   |---|---|---|
//   | Conv2d-1 | [-1, 32, 28, 28] | 288 |
//   ...
//   Total params: 691,680
//   Trainable params: 691,680
//   Non-trainable params: 0
//
// Output shapes come from a forward pass with a batch of 2 (like
// torchsummary), walking the children of each module's Sequential containers
// in order. Like torchsummary, parameter-free steps done as function calls
// (torch::nn::Functional children) get no row; rows are numbered per table.
// Keras presets (CountConvention::kKeras) print BatchNorm rows with their
// moving statistics, as Keras does. Used by `gridrun` tooling and tests to
// check the seed presets against their papers' tables.
//
// Thread-safety: runs the bundle's modules; same rules as the bundle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_factory.h"
#include "modelspec/model_resolve.h"

namespace gridrun::models {

struct LayerRow {
  std::string type;                   // "Conv2d", "BatchNorm2d", "LeakyReLU", ...
  std::vector<int64_t> output_shape;  // with the batch dimension (2)
  int64_t params = 0;                 // as printed (Keras: incl. moving stats)
  int64_t non_trainable = 0;
};

struct LayerTableSection {
  std::string role;   // "generator", "critic", "vae", "classifier"
  std::string title;  // "Generator", "Discriminator" (BCE) / "Critic", "VAE", "Classifier"
  std::vector<LayerRow> rows;
  ParameterCount total;
};

// Traces every module of `bundle` on inputs of shape `input` (the image
// shape for critics, encoders and classifiers; generators and decoders take
// [2, latent]). Modules are run in eval mode under no_grad and put back in
// the mode they were in; torch's default generator is not used. Errors:
// INVALID_ARGUMENT when the modules cannot run on `input` (message from
// torch).
absl::StatusOr<std::vector<LayerTableSection>> TraceLayers(const ModelBundle& bundle,
                                                           const ImageShape& input);

// One section as text (title line, blank line, table, blank line, totals).
std::string FormatLayerTable(const LayerTableSection& section);

// All sections of the bundle, separated by blank lines.
absl::StatusOr<std::string> LayerTable(const ModelBundle& bundle, const ImageShape& input);
absl::StatusOr<std::string> LayerTable(const ModelBundle& bundle);  // input = bundle.image

// 1234567 -> "1,234,567".
using modelspec::WithThousands;

}  // namespace gridrun::models
