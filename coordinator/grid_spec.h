// Grid specs: parsing and validating the YAML a user submits.
//
// A grid spec (DESIGN.md "Grid spec") names an experiment, a data set and a
// model, fixes some settings at the top level and sweeps others under `grid`:
//
//   experiment: vae-kl-sweep
//   dataset: fashion-mnist
//   model: vae-mlp
//   epochs: 20
//   optimizer: {name: adam, lr: 1.0e-3, betas: [0.5, 0.999]}
//   samples: {epochs: [1, 5, 10], count: 12}
//   grid:
//     latent_size: [2, 64]
//     kl_weight: [1.0, 0.5]
//
// ParseGridSpec checks everything before anything is stored: types, ranges,
// unknown keys, duplicates, the grid's size, and the cross-field rules that
// depend on the model (hyperparameters the model does not use, input shapes
// the preset was not built for, batch_size >= ranks, sample epochs within
// epochs) for every combination of grid values. It reports every problem at
// once, one per line. coordinator/grid_expand.h turns a valid GridSpec into
// trials.
//
// Thread-safety: free functions without shared state; GridSpec is a plain
// value type.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "common/trial_config.h"
#include "common/trial_fields.h"
#include "search/sampler.h"
#include "search/search_settings.h"

namespace gridrun::coordinator {

// One typed setting: integer fields hold int64_t, real-valued fields double
// (an integer written for a real field is stored as double), names and
// choices std::string. The settings, their kinds and ranges are the trial
// field table's (common/trial_fields.h).
using SpecValue = SettingValue;

// The canonical text of a value, as stored in trial_params: integers in
// decimal ("64"), reals with the fewest digits that read back to the same
// double, positional for exponents -4..15 and scientific otherwise (as
// Python's repr, without the ".0": "0.001", "0.0002", "1", "1e-05",
// "1e+16"), strings unchanged.
std::string SpecValueText(const SpecValue& value);

// One swept setting, from the `grid` map.
struct GridAxis {
  std::string name;               // as written under grid: "lr", "kl_weight"
  std::string field;              // the setting it sweeps: "optimizer.lr" for "lr"
  std::vector<SpecValue> values;  // non-empty, distinct, in file order

  bool operator==(const GridAxis&) const = default;
};

// One sampled setting, from a `grid` entry written as a distribution
// (random and sobol searches; coordinator/spec_search.cpp):
//   lr: {log_uniform: [1.0e-5, 1.0e-3]}      kl_weight: {uniform: [0.1, 1.0]}
//   width: {int_range: [64, 512], step: 64}  latent_size: {choice: [2, 16, 64]}
struct SampledAxis {
  std::string name;                   // as written under grid
  std::string field;                  // the setting it samples
  search::Distribution distribution;  // bounds as doubles (integers exact)
  std::vector<SpecValue> choices;     // kChoice: the values, in file order

  bool operator==(const SampledAxis&) const = default;
};

// A parsed, fully validated grid spec. Setting names ("fields") are the
// TrialConfig JSON paths: "epochs", "kl_weight", "optimizer.lr",
// "optimizer.name", "samples.count", ...; the top-level shorthand `lr` is
// stored as "optimizer.lr".
struct GridSpec {
  std::string experiment;
  // Single-valued settings given in the file (defaults are not filled in
  // here; ExpandGrid does that per trial, since they depend on the model).
  std::map<std::string, SpecValue> fixed;
  std::optional<std::pair<double, double>> betas;  // optimizer.betas
  std::optional<std::vector<int>> sample_epochs;   // samples.epochs, ascending
  std::vector<GridAxis> axes;                      // in file order
  int64_t trial_count = 1;  // product of the axis lengths (x search.trials when sampling)
  // How trials are chosen and stopped (search, scheduler, stop, keep_best);
  // IsPlainGrid() for a spec that sets none of them.
  search::SearchSettings search;
  // Random and sobol searches: the distribution axes in file order, and the
  // search.trials points drawn from them (point i holds one value per
  // sampled axis, of its field's type). Each point is crossed with every
  // combination of the list axes, the point varying slowest, so trial
  // number = point * (product of list axes) + combination.
  std::vector<SampledAxis> sampled_axes;
  std::vector<std::vector<SpecValue>> sampled_points;
  // The user's model files the spec names (`model: gan.yaml`): the path as
  // written -> the file's text. ExpandGrid puts the text into each trial's
  // config (TrialConfig::model_source), so workers never read the
  // submitter's file system.
  std::map<std::string, std::string> model_files;
  // The spec re-emitted as canonical JSON (sorted keys, typed values, axes in
  // file order): whitespace, comments, key order and number spelling
  // (1e-3 vs 0.001) do not change it.
  std::string canonical_json;

  bool operator==(const GridSpec&) const = default;
};

struct GridLimits {
  int64_t max_trials = 10000;  // larger grids are refused
  // A model with more parameters (all its networks) is refused
  // (modelspec::ResolveLimits::max_parameters).
  int64_t max_model_parameters = 1'000'000'000;
  // Polled between the steps of parsing (and, passed on, of expansion,
  // coordinator/grid_expand.h); when it returns true the call stops with
  // CANCELLED. Empty: never cancelled. The coordinator passes "the client
  // has gone" (grpc::ServerContext::IsCancelled).
  std::function<bool()> cancelled;
  // Read the structure only: model files are not required and no model is
  // built (for a stored spec's axes: its model files travel in the trials'
  // configs, TrialConfig::model_source). GridSpec::model_files stays empty.
  bool structure_only = false;
};

// Parses and validates `yaml_text`.
//
// Search keys (coordinator/spec_search.cpp): `search` {strategy: grid |
// random | sobol, trials: N, seed: S}, `scheduler` {type: asha | median,
// metric, mode: min | max, min_epochs, reduction_factor (asha), min_trials
// (median)}, `stop` (a list of single-trial rules, each {metric, and one of
// non_finite: true, above: X, below: X, diverged: {factor: F, epochs: N}
// with mode}), `keep_best` {metric, mode}, and grid axes written as
// distributions (see SampledAxis). Metrics are the per-epoch ones
// (search::EpochMetricNames()). Sampling is deterministic in search.seed,
// else the spec's seed (0 when seed is an axis).
//
// Keys: experiment, dataset and model are required (dataset and model may
// instead be grid axes); the other top-level keys are the TrialConfig
// fields, `lr` (shorthand for optimizer.lr), `optimizer` {name, lr, betas,
// momentum, weight_decay}, `samples` {epochs, count} and `grid`. Grid axes
// may be any single-valued top-level key except experiment, plus `lr`,
// optimizer.name, optimizer.lr, optimizer.momentum and
// optimizer.weight_decay; each setting may be given once (top level, inside
// optimizer, or as an axis). Integer fields take integers only (not 1.5,
// "2" or true); real fields take integers and decimals (1.0e-3, 1e-3).
// Cross-field rules are checked for every combination of axis values.
//
// Work is bounded by the text's size: a text whose YAML tree, aliases and
// merge keys expanded, has more than 8 nodes per byte (plus 1024) is refused
// before it is walked (coordinator/spec_limits.h), as INVALID_ARGUMENT
//   spec: expands to too many YAML nodes through anchors and aliases (got
//   more than N; allowed: at most N, 8 per byte of a B-byte text plus 1024)
// and a grid of more than limits.max_trials trials is refused before it is
// expanded. At most 200 problems are listed, then a line saying more were
// left out. CANCELLED when limits.cancelled says so.
//
// Returns INVALID_ARGUMENT when the spec is not valid. The message lists
// every problem found, sorted by line, one per line, each as
//   line L: FIELD: problem (got VALUE; allowed: ...)
// where FIELD is the path of the setting ("optimizer.lr",
// "grid.latent_size[2]"); the parenthesis is left out where it would say
// nothing, and problems that involve two settings read as prose
// ("model: seed004-gan-cifar10 needs 3x32x32 images; dataset mnist has
// 1x28x28"). A YAML syntax error is reported alone, as
//   line L, column C: invalid YAML: <parser message>
//
// Models: `model` (or a `model` axis value) is a built-in model
// (modelspec/zoo.h) or the path of a model file ending in .yaml / .yml,
// whose text `model_files` must hold under that path (the CLI reads it
// relative to the spec file: cli/model_file_reader.h). Every model is
// resolved (modelspec/model_resolve.h) for every combination of data set,
// latent_size, width and depth in the grid; a file that does not parse or
// does not build for some combination is an error naming the model, the
// values and the file's own message.
using ModelFileTexts = std::map<std::string, std::string>;
absl::StatusOr<GridSpec> ParseGridSpec(std::string_view yaml_text, const GridLimits& limits = {},
                                       const ModelFileTexts& model_files = {});

// Applies `KEY=VALUE` overrides (the CLI's repeatable `--set`) to the spec's
// YAML tree and returns the new spec text. That text, not the file, is what
// is then validated, submitted, stored and hashed, so a smoke run
// (`--set epochs=1 --set train_size=512`) is its own experiment.
//
// KEY is a top-level key other than grid (experiment, dataset, epochs, lr,
// ...) or optimizer.NAME / samples.NAME. VALUE is read as YAML: `1e-4`,
// `cifar10`, `[1, 5]`. Semantics:
//   - The value replaces every place the spec sets that setting: the top
//     level, optimizer/samples (lr and optimizer.lr are one setting) and a
//     grid axis of that name. So a single value fixes a swept setting (the
//     axis is removed: `--set latent_size=2` runs half of a 2-value grid).
//   - A list for a setting that can be swept makes it a grid axis with
//     those values (`--set kl_weight=[1, 0.25]`); optimizer.betas and
//     samples.epochs take their list as is.
//   - An empty or null value (`init_encoder_from=`, `lr=~`) unsets the
//     setting everywhere: the model's default applies.
//   - Overrides apply in order; a later one for the same setting wins.
// With no overrides the text is returned unchanged; otherwise the YAML is
// re-emitted (comments dropped) after a "# with --set ..." comment line.
//
// Returns INVALID_ARGUMENT, listing every bad override, one per line, in
// the parser's wording with the key in place of the line number:
//   --set epochs: not an integer (got ten; allowed: 1..100000)
//   --set epoch: unknown key, did you mean 'epochs'? (allowed: ...)
// for an assignment without '=', an unknown key, a value that is not YAML
// or not valid for its setting on its own (type, range, name), a value or
// a spec whose YAML expands beyond the node limit that ParseGridSpec
// applies, more than 256 assignments, and a spec that is not YAML or not a
// map. Rules that involve other settings are left to ParseGridSpec on the
// result.
absl::StatusOr<std::string> ApplySpecOverrides(std::string_view yaml_text,
                                               const std::vector<std::string>& assignments);

// The model-dependent defaults (DefaultOptimizer, DefaultCriticIters,
// ApplyModelDefaults) are the model catalog's: common/model_catalog.h.

}  // namespace gridrun::coordinator
