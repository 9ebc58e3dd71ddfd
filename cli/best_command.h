// `gridrun best --db FILE EXPERIMENT --metric NAME [--max] [--format ...]`:
// the winning trial of an experiment by the last value (highest step) of one
// metric -- the smallest by default, the largest with --max -- read through
// coordinator::ResultsReader::BestTrial (read-only; works while the
// coordinator writes). Trials in every state take part (the state is shown); NaN values
// do not; ties go to the lower trial number.
//
//   $ gridrun best --db runs.db vae-kl-sweep --metric test/neg_elbo
//   trial_id  number  state     latent_size  kl_weight  metric         value   step  epoch
//   --------  ------  --------  -----------  ---------  -------------  ------  ----  -----
//          7       6  COMPLETE           64          1  test/neg_elbo  101.25  9380     20
//
// Exit codes: 0 found; 1 missing database, unknown experiment ("no
// experiment 'x'"), or a metric the experiment does not have (the message
// lists the metrics it has).
// Thread-safety: RunBest has no shared state.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

namespace gridrun::cli {

struct BestOptions {
  std::string db_path;
  std::string experiment;  // id or name
  std::string metric;
  bool maximize = false;
  std::string format = "table";
};

int RunBest(const BestOptions& options, std::ostream& out, std::ostream& err);

// Adds the `best` subcommand; `out`/`err` must outlive `app`.
void AddBestCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace gridrun::cli
