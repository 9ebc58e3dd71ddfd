// Grid expansion: a validated GridSpec (coordinator/grid_spec.h) becomes the
// list of trials the coordinator stores.
//
// Random and sobol searches: each sampled point (GridSpec::sampled_points)
// is crossed with the product of the list axes below, the point varying
// slowest; the sampled values are ordinary settings and params.
//
// Order: the cartesian product of the axes, axes in the order the YAML file
// lists them, the last axis varying fastest (like nested for-loops), trials
// numbered from 0. With a scheduler (ASHA, median rule) that order is then
// shuffled by search::ShuffledOrder(trial count, search seed) and the trials
// numbered in the new order, which is the order they are leased in: an
// asynchronous scheduler judges each arrival at a rung against those so far,
// so the first arrivals should be a fair sample of the grid. Each trial's TrialConfig is fully resolved: every setting
// the spec leaves out is filled from the model catalog and the objective's
// defaults, so workers never guess.
//
// Trial seeds: trial_seed = the first 8 bytes (16 hex digits) of
//   Sha256Hex(<seed in decimal> ":" <ConfigSha256 of the config with trial_seed 0>)
// read big-endian and masked to 62 bits. It depends only on what the trial
// computes, so it is the same in every run and every experiment that asks for
// the same trial, and differs between the trials of a grid. The stored
// config_sha256 is computed after trial_seed is set.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/trial_config.h"
#include "coordinator/grid_spec.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {

struct ExpandedTrial {
  int64_t number = 0;                         // 0-based position in the grid
  TrialConfig config;                         // fully resolved, trial_seed set
  std::map<std::string, std::string> params;  // axis name -> SpecValueText
  std::string config_sha256;                  // ConfigSha256(config)
};

// Expands `spec` (which must come from ParseGridSpec) into spec.trial_count
// trials in the order above. A spec without axes gives one trial with empty params.
//
// Defaults filled in per trial: ApplyModelDefaults (common/model_catalog.h:
// latent_size/width/depth from the model's catalog entry, critic_iters
// DefaultCriticIters(objective), the optimizer DefaultOptimizer(objective));
// samples.epochs [epochs]; every other field its TrialConfig default. The
// spec's values are then assigned through the trial field table
// (common/trial_fields.h), the spec's optimizer fields over the default
// optimizer.
std::vector<ExpandedTrial> ExpandGrid(const GridSpec& spec);

// As above, polling `cancelled` (if set) every 64 trials: CANCELLED as soon
// as it returns true. The work is at most spec.trial_count trials, which
// ParseGridSpec bounds by GridLimits::max_trials.
absl::StatusOr<std::vector<ExpandedTrial>> ExpandGrid(const GridSpec& spec,
                                                      const std::function<bool()>& cancelled);

// The experiment to store: name, the submitted `yaml_text` as written,
// spec_sha256 = Sha256Hex(spec.canonical_json) (so resubmitting the same spec
// with other whitespace, comments or key order is idempotent), and every
// trial with its canonical config JSON, hash, params, ranks and device.
NewExperiment ToNewExperiment(const GridSpec& spec, std::string_view yaml_text);

// As above, stopping with CANCELLED when `cancelled` (if set) returns true
// during the expansion.
absl::StatusOr<NewExperiment> ToNewExperiment(const GridSpec& spec, std::string_view yaml_text,
                                              const std::function<bool()>& cancelled);

// A short human-readable summary, for `gridrun validate` and logs:
//   12 trials
//     latent_size: 2, 64 (2 values)
//     kl_weight: 1, 0.7, 0.5, 0.4, 0.3, 0.25 (6 values)
// One line per axis in file order (at most 10 values shown, then "...");
// lines are joined with '\n', no trailing newline.
// Followed by SummarizeSearch's lines.
std::string SummarizeGrid(const GridSpec& spec);

// The search part of the summary ("" for a plain grid), each line starting
// with '\n': the distribution axes ("  lr: log_uniform 1e-05..0.001
// (sampled)"), the strategy and every sampled point (at most 20, then "...
// (N more)"), the scheduler with its rungs, the stop rules and keep_best.
std::string SummarizeSearch(const GridSpec& spec);

}  // namespace gridrun::coordinator
