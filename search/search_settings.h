// An experiment's search settings, as the spec gives them (coordinator/
// grid_spec.h parses and validates them) and the coordinator stores them
// (experiments.search_json, schema v6): how trials are chosen (`search`),
// who stops them early (`scheduler`, `stop`) and which epoch's checkpoint
// is kept besides the last (`keep_best`).
//
//   search: {strategy: random, trials: 20, seed: 3}
//   scheduler: {type: asha, metric: fid, mode: min, min_epochs: 1, reduction_factor: 3}
//   stop:
//     - {metric: fid, non_finite: true}
//     - {metric: fid, mode: min, diverged: {factor: 1.5, epochs: 3}}
//     - {metric: test/wasserstein, above: 50}
//   keep_best: {metric: fid, mode: min}
//   keep_trained: 5   # the final checkpoints of the 5 newest COMPLETE trials
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "search/sampler.h"
#include "search/search_types.h"
#include "search/stop_rules.h"

namespace gridrun::search {

enum class SchedulerType { kAsha, kMedian };
const char* SchedulerTypeName(SchedulerType type);  // "asha", "median"

struct SchedulerSettings {
  SchedulerType type = SchedulerType::kAsha;
  std::string metric;
  Mode mode = Mode::kMin;
  int64_t min_epochs = 1;
  int reduction_factor = 3;  // asha
  int min_trials = 3;        // median

  bool operator==(const SchedulerSettings&) const = default;
};

struct KeepBest {
  std::string metric;
  Mode mode = Mode::kMin;

  bool operator==(const KeepBest&) const = default;
};

struct SearchSettings {
  Strategy strategy = Strategy::kGrid;
  int64_t trials = 0;  // random/sobol: samples (each crossed with the list axes)
  uint64_t seed = 0;   // sampling seed
  std::optional<SchedulerSettings> scheduler;
  std::vector<StopRule> stop_rules;
  std::optional<KeepBest> keep_best;
  // Retention of trained models (issue 16): how many COMPLETE trials keep
  // their final checkpoint (the newest-finished first; 0: none). Unset: the
  // coordinator's --keep-trained (default: every trial). Changes no trial.
  std::optional<int64_t> keep_trained;

  // True when nothing here changes how an ordinary grid runs.
  bool IsPlainGrid() const {
    return strategy == Strategy::kGrid && !scheduler && stop_rules.empty() && !keep_best;
  }
  bool operator==(const SearchSettings&) const = default;
};

// Canonical JSON (sorted keys), stable across versions: part of the spec's
// canonical JSON and stored per experiment.
std::string SearchSettingsToJson(const SearchSettings& settings);
// INVALID_ARGUMENT naming the field for anything SearchSettingsToJson would
// not write.
absl::StatusOr<SearchSettings> SearchSettingsFromJson(const std::string& json);

// The metrics reported once per epoch, which a scheduler, stop rule or
// keep_best may name: the trainers' evaluation metrics (models/trainer.h,
// Evaluate) and the sample-quality metrics (worker/trial_runner.cpp).
const std::vector<std::string>& EpochMetricNames();

}  // namespace gridrun::search
