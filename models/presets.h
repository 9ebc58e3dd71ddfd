// The seed studies' exact architectures (../shared/seeds), one builder per
// `seedNNN-*` entry of the model catalog, reproduced layer by layer so that
// their parameter counts equal the seeds' tables
// (../shared/SEED_PARAMETER_COUNTS.md; tests/models/param_count_test.cpp).
//
// Reading notes (details at each builder in presets.cpp):
//  - Final Sigmoid layers of BCE discriminators are applied inside the loss
//    (binary_cross_entropy_with_logits); they have no parameters.
//  - Keras seeds (004 GAN and WGAN for MNIST) print channels-last shapes; the
//    modules here are NCHW with the same layers and counts. Their BatchNorm
//    moving statistics count as Keras "non-trainable params"
//    (CountConvention::kKeras).
//  - Where a printout is ambiguous, the reading that reproduces its count and
//    the data set's image shape was chosen and is commented.
//
// Thread-safety: builders allocate fresh modules; no shared state.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "models/model_factory.h"

namespace gridrun::models {

// Builds the preset `info` (info.is_preset) with `latent_size` (the catalog
// default unless info.latent_adjustable) for `dataset`, which must have the
// preset's fixed shape (checked by the caller, BuildModel). num_classes comes
// from `dataset` for conditional presets. INVALID_ARGUMENT for a name that is
// not a preset.
absl::StatusOr<ModelBundle> BuildPreset(const ModelInfo& info, int64_t latent_size,
                                        const DatasetInfo& dataset);

}  // namespace gridrun::models
