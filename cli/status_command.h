// `gridrun status [EXPERIMENT [TRIAL]] [--format table|csv|json]`: what the
// coordinator is doing.
//
// Without an argument: one row per experiment, newest first (id, name,
// status, trials per state, total, created). With an experiment id or name:
// one row per trial in grid order (number, state, attempt, worker, epoch,
// step/total, the grid axes' values, and the latest key metrics that any
// trial reported: loss/total, loss/g, loss/d, test/neg_elbo, fid,
// mode_coverage). The table form adds a summary line above and the errors of
// failed trials below; CSV and JSON hold only rows (with step and total_steps
// as separate columns, plus trial_id, reused_from and error).
//
//   $ gridrun status vae-kl-sweep
//   exp-1a2b3c 'vae-kl-sweep' ACTIVE, 4 trials: 1 COMPLETE, 1 RUNNING, 2 WAITING
//   number  state     attempt  worker  epoch  step     latent_size  kl_weight  loss/total
//   ...
//
// With an experiment and a trial number (`gridrun status EXP 3`): that
// trial's state, params and latest metrics, and each attempt with where it
// ran (gridrun version and build commit, LibTorch, BLAS, MPI, CUDA/NCCL,
// hosts, and each rank's host and device; "unknown" for an attempt whose
// worker did not report it). CSV and JSON: one row per attempt.
//
// Exit codes: 0 success; 1 unknown experiment ("no experiment 'x'") or trial,
// unreachable coordinator, bad --format.
//
// This header also holds the trial-display helpers `watch` shares.
// Thread-safety: RunStatus has no shared state; the helpers are pure.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/coordinator_connection.h"
#include "cli/table_format.h"
#include "proto/gridrun.pb.h"

namespace gridrun::cli {

struct StatusOptions {
  std::string experiment;  // "" : list experiments
  int64_t trial = -1;      // >= 0: show that trial (its grid number) of `experiment`
  std::string format = "table";
  ConnectionOptions connection;
};

int RunStatus(const StatusOptions& options, std::ostream& out, std::ostream& err);

// Adds the `status` subcommand; `out`/`err` must outlive `app`.
void AddStatusCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// ---- display helpers shared by status, watch and report ----

// The metrics status and watch show when present, in this order.
const std::vector<std::string>& KeyMetricNames();

// The grid axes' names in the order `spec_yaml` lists them; empty when the
// spec has no axes or does not parse.
std::vector<std::string> GridAxisNames(const std::string& spec_yaml);

// Orders parameter names: the grid axes in the order `spec_yaml` lists them
// (when it parses), then any other of `names` alphabetically. Only names in
// `names` are returned.
std::vector<std::string> OrderParamNames(const std::string& spec_yaml,
                                         const std::set<std::string>& names);

// "latent_size=2, kl_weight=0.5" in `order` (names missing from `params` are
// skipped; names not in `order` follow alphabetically).
std::string ParamsText(const std::map<std::string, std::string>& params,
                       const std::vector<std::string>& order);

// A param value as a table cell: INTEGER or REAL when the whole text reads
// as a finite number (JSON output then shows a number), TEXT otherwise.
SqlValue ParamQueryValue(const std::string& text);

// The params of a proto trial as a std::map.
std::map<std::string, std::string> ParamsOf(const v1::Trial& trial);

// "WAITING", "RUNNING", ... ("UNKNOWN" otherwise).
const char* TrialStateText(v1::TrialState state);

// "compute: 21 of 81 trial-epochs run (74% saved by early stopping and
// reuse)": Experiment.trial_epochs_run against trial_epochs_full, for
// status, watch and the report of an experiment that stops trials early.
std::string ComputeSavedText(const v1::Experiment& experiment);

// "trained models kept: 3 of 4 COMPLETE trials (1.2 MiB; ...)": what
// retention (keep_trained, --keep-trained) keeps of the experiment.
std::string TrainedKeptText(const v1::Experiment& experiment);
// A size for people: "512 B", "3.4 KiB", "1.2 MiB", "2.0 GiB".
std::string ByteSizeText(int64_t bytes);

// A number for people: 6 significant digits ("0.000123457", "1.5e+07").
std::string ShortNumber(double value);
// A number for scripts: the shortest text that reads back to the same double.
std::string ExactNumber(double value);
// A duration for people: "45s", "3m07s", "2h05m", "3d04h".
std::string ShortDuration(double seconds);
// Milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS" ("" for 0).
std::string LocalTimeText(int64_t ms);

}  // namespace gridrun::cli
