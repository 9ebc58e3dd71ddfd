// What early stopping and reuse saved an experiment, in trial-epochs: the
// one definition that the store (Experiment.trial_epochs_run/_full over
// gRPC, for `gridrun status` and `watch`) and the results reader (the
// dashboard and the report) both use.
//
// Thread-safety: constants and a pure function.
#pragma once

#include <cstdint>
#include <string>

namespace gridrun::coordinator {

// One row (run, full) for experiment ?1: the epochs its own trials trained
// (the newest epoch of any metric; evaluation metrics carry the epoch they
// scored; reused trials cost nothing), and the epochs of every trial run to
// its end (each config's `epochs`).
inline constexpr char kSqlTrialEpochsOfExperiment[] =
    "SELECT COALESCE(SUM(CASE WHEN t.reused_from = 0 THEN "
    "         (SELECT COALESCE(MAX(l.epoch), 0) FROM metrics_last AS l "
    "          WHERE l.trial_id = t.trial_id) ELSE 0 END), 0), "
    "       COALESCE(SUM(json_extract(t.config_json, '$.epochs')), 0) "
    "FROM trials AS t WHERE t.experiment_id = ?1";

// "21 of 81 trial-epochs run (74% saved by early stopping and reuse)"; the
// part in parentheses only when 0 < full and run <= full.
std::string ComputeSavedText(int64_t run, int64_t full);

}  // namespace gridrun::coordinator
