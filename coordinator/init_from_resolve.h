// Step 2 of the warm-start protocol (common/init_from.h): at submit, checks
// each trial's init_from source against the database and records its
// identity (the sha256 of the source's kept final checkpoint and of its
// config) in the trial's config, so the config hash changes with the
// source. Torch-free: networks are checked by name in the model files;
// layer shapes are checked by the worker when it copies (a mismatch fails
// the trial with both shapes named).
//
// Thread-safety: uses `store` from the calling thread only.
#pragma once

#include "absl/status/status.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {

// Rewrites experiment.trials[*].config_json / config_sha256 of the trials
// whose config has an init_from. INVALID_ARGUMENT (nothing stored), naming
// the source trial: no trial with that id; a trial that is not COMPLETE; one
// that keeps no checkpoint (retention removed its trained model); a network
// the source's model or this model does not have; init_from without a
// network between two different models.
absl::Status ResolveInitFrom(TrialStore& store, NewExperiment& experiment);

}  // namespace gridrun::coordinator
