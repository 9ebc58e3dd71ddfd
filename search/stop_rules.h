// Stopping a single trial early: the median stopping rule (Golovin et al.
// 2017, "Google Vizier", and Ray Tune's MedianStoppingRule) and the rules
// that look at one trial's own curve (a non-finite value, divergence from
// its best, crossing a bound). Pure functions over per-epoch curves; the
// coordinator calls them when an epoch's metrics arrive and persists a stop
// before telling the worker (coordinator/sqlite_store_search.cpp).
//
// A curve is one metric of one trial: epoch -> value at that epoch (the
// value of the epoch's last step when a metric is logged per step).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "search/search_types.h"

namespace gridrun::search {

using Curve = std::map<int64_t, double>;  // epoch -> value

// The median stopping rule. At epoch t >= min_epochs, a trial stops if its
// best value up to t is worse than the median, over the other trials that
// reached epoch t (at least min_trials of them), of each one's running mean
// of its values at epochs 1..t. Equal to the median is not worse.
struct MedianRuleConfig {
  Mode mode = Mode::kMin;
  int64_t min_epochs = 1;
  int min_trials = 3;
};

// The reason to stop ("median rule: best fid 31.2 up to epoch 3 is worse
// than the median 25.5 of 4 other trials' running means"), or nullopt to
// continue. `own` must hold epoch t; `others` are the other trials' curves
// (any length; those without epoch t do not count). `metric` names the
// metric in the reason.
std::optional<std::string> MedianRuleStop(const MedianRuleConfig& config, const std::string& metric,
                                          const Curve& own, int64_t t,
                                          const std::vector<Curve>& others);

// A rule over one trial's own curve of `metric`.
struct StopRule {
  enum class Kind {
    kNonFinite,  // a value is NaN or infinite
    kDiverged,   // worse than its best by `factor` for `epochs` epochs running
    kAbove,      // a value above `bound`
    kBelow,      // a value below `bound`
  };
  Kind kind = Kind::kNonFinite;
  std::string metric;
  Mode mode = Mode::kMin;  // kDiverged: which way is better
  double factor = 2;       // kDiverged: > 1
  int64_t epochs = 1;      // kDiverged: >= 1
  double bound = 0;        // kAbove, kBelow

  bool operator==(const StopRule&) const = default;
};

// "worse than best by factor F": for mode min, value > best + (F - 1) *
// |best|; for max, value < best - (F - 1) * |best|. (For a positive metric
// with mode min that is value > F * best.)
bool WorseByFactor(Mode mode, double value, double best, double factor);

// Checks `rule` at epoch t of `curve` (which must hold t). The reason to
// stop, naming the rule, the metric, the epoch and the values ("fid
// diverged: worse than its best 12.5 (epoch 4) by more than x1.5 for 3
// epochs (epochs 5-7, now 40.1)"), or nullopt. kDiverged counts epochs
// after the best one; the best is the best finite value up to t.
std::optional<std::string> CheckStopRule(const StopRule& rule, const Curve& curve, int64_t t);

// The first rule (in order) that stops at epoch t, given each metric's
// curve; rules whose metric has no value at t are skipped.
std::optional<std::string> CheckStopRules(const std::vector<StopRule>& rules,
                                          const std::map<std::string, Curve>& curves, int64_t t);

// The best epoch of `curve` under `mode` (earliest among equals; non-finite
// values never best), or nullopt when it has no finite value. For keep_best.
std::optional<int64_t> BestEpoch(Mode mode, const Curve& curve);

}  // namespace gridrun::search
