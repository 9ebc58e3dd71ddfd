// The 13 seed presets built by the C++ code gridrun had before model files
// (bench/baselines/compiled_presets.cpp), the baseline that
// bench/model_file_bench.cpp times the zoo files against. Not part of
// gridrun. Thread-safety: as models/model_factory.h.
#pragma once

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "models/model_factory.h"

namespace gridrun::bench::compiled {

// The preset `info` names, built as the pre-model-file code built it (the
// caller seeds torch first). INVALID_ARGUMENT for a name that is not a preset.
absl::StatusOr<models::ModelBundle> BuildCompiledPreset(const ModelInfo& info, int64_t latent_size,
                                                        const DatasetInfo& dataset);

}  // namespace gridrun::bench::compiled
