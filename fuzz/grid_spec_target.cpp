// Fuzz target: the grid-spec parser and grid expansion.
#include <set>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"
#include "fuzz/fuzz_targets.h"

namespace gridrun::fuzz {

int GridSpecOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  // A small trial limit keeps each input fast; the limit check itself is
  // part of what is fuzzed.
  coordinator::GridLimits limits;
  limits.max_trials = 256;
  absl::StatusOr<coordinator::GridSpec> spec = coordinator::ParseGridSpec(yaml, limits);
  if (!spec.ok()) {
    FuzzCheck(spec.status().code() == absl::StatusCode::kInvalidArgument,
              absl::StrCat("ParseGridSpec returned ", spec.status().ToString()));
    FuzzCheck(!spec.status().message().empty(), "ParseGridSpec error without a message");
    return 0;
  }
  FuzzCheck(spec->trial_count >= 1 && spec->trial_count <= limits.max_trials,
            absl::StrCat("trial_count ", spec->trial_count, " outside 1..", limits.max_trials));
  const std::vector<coordinator::ExpandedTrial> trials = coordinator::ExpandGrid(*spec);
  FuzzCheck(static_cast<int64_t>(trials.size()) == spec->trial_count,
            absl::StrCat("ExpandGrid gave ", trials.size(), " trials, spec says ",
                         spec->trial_count));
  // Axis values are distinct, so every trial's resolved config must differ.
  std::set<std::string> hashes;
  for (const coordinator::ExpandedTrial& trial : trials) hashes.insert(trial.config_sha256);
  FuzzCheck(hashes.size() == trials.size(), "two trials of one grid have the same config");
  const coordinator::NewExperiment experiment = coordinator::ToNewExperiment(*spec, yaml);
  FuzzCheck(experiment.trials.size() == trials.size(), "ToNewExperiment lost trials");
  (void)coordinator::SummarizeGrid(*spec);
  // Parsing is deterministic: the same text gives the same spec.
  absl::StatusOr<coordinator::GridSpec> again = coordinator::ParseGridSpec(yaml, limits);
  FuzzCheck(again.ok() && *again == *spec, "ParseGridSpec is not deterministic");
  return 0;
}

}  // namespace gridrun::fuzz
