// The model a trial trains, from its config alone: the text of the user's
// model file that the config carries (TrialConfig::model_source), else the
// built-in file of that name (zoo.h). The one place that rule is written:
// `gridrun validate -v`, the worker's builder (models/model_factory.h) and
// the dashboard's architecture view all go through it.
//
// Thread-safety: pure functions; the zoo is immutable.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/trial_config.h"
#include "modelspec/model_file.h"
#include "modelspec/model_resolve.h"

namespace gridrun::modelspec {

// The config's model file. INVALID_ARGUMENT: the model_source does not parse
// (ParseModelFile's message), or no built-in model has that name ("model:
// unknown model 'x'; allowed: ...").
absl::StatusOr<std::shared_ptr<const ModelFile>> ModelFileOfTrial(const TrialConfig& config);

// That file resolved for the config's data set and sizes
// (ResolveModelForTrial). INVALID_ARGUMENT also for an unknown data set.
absl::StatusOr<ResolvedModel> ResolveTrialModel(const TrialConfig& config,
                                                const ResolveLimits& limits = {});

}  // namespace gridrun::modelspec
