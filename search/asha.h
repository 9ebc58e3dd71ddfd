// Asynchronous successive halving (ASHA; Li et al. 2018, "A System for
// Massively Parallel Hyperparameter Tuning", Algorithm 2), the resumable
// ("promotion") variant, as pure policy over the results trials report at
// rungs. The coordinator persists every arrival and decision
// (coordinator/sqlite_store_search.cpp) and rebuilds this object from them,
// so the policy itself keeps nothing the store does not.
//
// Rungs. Rung k is at epoch min_epochs * reduction_factor^k, for every k
// whose epoch is below max_epochs (the spec's epochs); a trial promoted from
// the last rung trains to max_epochs. E.g. min_epochs 1, reduction_factor 3,
// max_epochs 27: rungs at epochs 1, 3, 9; the top rung's winners run to 27.
//
// The rule, applied on every arrival at rung k (asynchronous: nobody waits
// for the rung to fill):
//   1. The arriving trial's value is recorded at rung k, after every value
//      recorded there before it.
//   2. n = the number of trials recorded at rung k so far; the promotable
//      set is the best floor(n / reduction_factor) of them (mode min: lowest
//      values; max: highest). Ties go to the earlier arrival, so a decision
//      never depends on anything but the order of arrivals.
//   3. Every trial of the promotable set not yet promoted from rung k is
//      promoted now (it continues to rung k + 1). The arriving trial, if it
//      is not promoted, is paused at rung k.
//   4. A promoted trial stays promoted (a later, better arrival never takes
//      a promotion back); a paused trial may be promoted by a later arrival
//      (the "late arrivals make an earlier trial promotable" case, step 3).
// Consequently the first trial to reach a rung always pauses there (floor(1
// / rf) = 0) and is promoted once reduction_factor trials have arrived, if
// it is still the best. Trials still paused when nothing else can run are
// stopped by the caller (the experiment's end).
//
// Non-finite values rank last (a NaN never beats a number).
//
// Thread-safety: a plain value type; one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "search/search_types.h"

namespace gridrun::search {

struct AshaConfig {
  int64_t min_epochs = 1;    // the first rung's epoch (the "grace period")
  int reduction_factor = 3;  // >= 2
  int64_t max_epochs = 1;    // the trials' full length
  Mode mode = Mode::kMin;
};

// The rung epochs, ascending: min_epochs * rf^k below max_epochs. Empty when
// min_epochs >= max_epochs (every trial simply runs to the end).
std::vector<int64_t> RungEpochs(const AshaConfig& config);

// One trial's result at one rung.
struct RungEntry {
  int64_t trial_id = 0;
  double value = 0;
  bool promoted = false;

  bool operator==(const RungEntry&) const = default;
};

// What one arrival decided.
struct AshaDecision {
  int64_t trial_id = 0;
  int rung = 0;
  enum class Kind { kPromote, kPause } kind = Kind::kPause;

  bool operator==(const AshaDecision&) const = default;
};

class AshaScheduler {
 public:
  // INVALID_ARGUMENT for reduction_factor < 2, min_epochs < 1 or max_epochs <
  // 1 (the spec parser refuses these before; this guards the store's copy).
  static absl::StatusOr<AshaScheduler> Create(const AshaConfig& config);

  const AshaConfig& config() const { return config_; }
  const std::vector<int64_t>& rung_epochs() const { return rung_epochs_; }
  int num_rungs() const { return static_cast<int>(rung_epochs_.size()); }

  // Restores one persisted entry at `rung`, in arrival order (no decision is
  // made). INVALID_ARGUMENT for a rung out of range or a trial already there.
  absl::Status Restore(int rung, const RungEntry& entry);

  // Steps 1-3 above for `trial_id` arriving at `rung` with `value`. Returns
  // the decisions in this order: the arriving trial's (promote or pause),
  // then every earlier trial promoted by this arrival, in arrival order.
  // INVALID_ARGUMENT for a rung out of range or a trial already recorded at
  // that rung (an arrival is recorded once; the caller's transaction makes
  // a retried report find it).
  absl::StatusOr<std::vector<AshaDecision>> Report(int64_t trial_id, int rung, double value);

  // The entries of `rung` in arrival order (empty for a rung out of range).
  const std::vector<RungEntry>& entries(int rung) const;

  // The epoch a trial that has passed `rungs_passed` rungs trains to next:
  // rung_epochs()[rungs_passed], or max_epochs once it passed them all.
  int64_t NextStopEpoch(int rungs_passed) const;

  // The rung whose epoch is `epoch`, or -1 if none is.
  int RungAt(int64_t epoch) const;

 private:
  explicit AshaScheduler(const AshaConfig& config);

  AshaConfig config_;
  std::vector<int64_t> rung_epochs_;
  std::vector<std::vector<RungEntry>> rungs_;
};

}  // namespace gridrun::search
