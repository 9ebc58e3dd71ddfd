#include "search/asha.h"

#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gridrun::search {

std::vector<int64_t> RungEpochs(const AshaConfig& config) {
  std::vector<int64_t> epochs;
  if (config.min_epochs < 1 || config.reduction_factor < 2) return epochs;
  for (int64_t e = config.min_epochs; e < config.max_epochs; e *= config.reduction_factor) {
    epochs.push_back(e);
    if (e > config.max_epochs / config.reduction_factor) break;  // next would overflow past max
  }
  return epochs;
}

AshaScheduler::AshaScheduler(const AshaConfig& config)
    : config_(config), rung_epochs_(RungEpochs(config)), rungs_(rung_epochs_.size()) {}

absl::StatusOr<AshaScheduler> AshaScheduler::Create(const AshaConfig& config) {
  if (config.reduction_factor < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("asha: reduction_factor must be at least 2 (got ", config.reduction_factor,
                     ")"));
  }
  if (config.min_epochs < 1 || config.max_epochs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("asha: min_epochs and max_epochs must be >= 1 (got ",
                                                   config.min_epochs, ", ", config.max_epochs,
                                                   ")"));
  }
  return AshaScheduler(config);
}

absl::Status AshaScheduler::Restore(int rung, const RungEntry& entry) {
  if (rung < 0 || rung >= num_rungs()) {
    return absl::InvalidArgumentError(
        absl::StrCat("asha: rung ", rung, " out of range (", num_rungs(), " rungs)"));
  }
  for (const RungEntry& e : rungs_[rung]) {
    if (e.trial_id == entry.trial_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("asha: trial ", entry.trial_id, " already recorded at rung ", rung));
    }
  }
  rungs_[rung].push_back(entry);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AshaDecision>> AshaScheduler::Report(int64_t trial_id, int rung,
                                                                double value) {
  if (auto s = Restore(rung, RungEntry{trial_id, value, false}); !s.ok()) return s;
  std::vector<RungEntry>& entries = rungs_[rung];
  // Positions in arrival order, best first; stable, so ties keep arrival order.
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return Better(config_.mode, entries[a].value, entries[b].value);
  });
  const size_t promotable = entries.size() / static_cast<size_t>(config_.reduction_factor);
  std::vector<bool> promote_now(entries.size(), false);
  for (size_t i = 0; i < promotable; ++i) {
    // A non-finite value never earns a promotion, however few trials there are.
    if (!std::isfinite(entries[order[i]].value)) continue;
    if (!entries[order[i]].promoted) promote_now[order[i]] = true;
  }
  std::vector<AshaDecision> decisions;
  const size_t arriving = entries.size() - 1;
  decisions.push_back(AshaDecision{trial_id, rung,
                                   promote_now[arriving] ? AshaDecision::Kind::kPromote
                                                         : AshaDecision::Kind::kPause});
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!promote_now[i]) continue;
    entries[i].promoted = true;
    if (i != arriving) {
      decisions.push_back(
          AshaDecision{entries[i].trial_id, rung, AshaDecision::Kind::kPromote});
    }
  }
  return decisions;
}

const std::vector<RungEntry>& AshaScheduler::entries(int rung) const {
  static const std::vector<RungEntry> kNone;
  if (rung < 0 || rung >= num_rungs()) return kNone;
  return rungs_[rung];
}

int64_t AshaScheduler::NextStopEpoch(int rungs_passed) const {
  if (rungs_passed >= 0 && rungs_passed < num_rungs()) return rung_epochs_[rungs_passed];
  return config_.max_epochs;
}

int AshaScheduler::RungAt(int64_t epoch) const {
  for (int k = 0; k < num_rungs(); ++k) {
    if (rung_epochs_[k] == epoch) return k;
  }
  return -1;
}

}  // namespace gridrun::search
