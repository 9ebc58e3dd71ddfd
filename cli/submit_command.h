// `gridrun submit GRID.yaml [--rerun] [--wait] [--slurm ...]`: sends a grid spec to the
// coordinator, which validates, expands and stores it.
//
//   $ gridrun submit vae.yaml
//   exp-1a2b3c4d5e6f                      (stdout: the experiment id only)
//   12 trials, 2 reused from earlier results        (stderr)
//
// Resubmitting an identical spec is idempotent: the same id, and
// "already submitted (12 trials)" on stderr. --rerun trains every trial even
// when an identical one completed before. --wait then follows the experiment
// like `gridrun watch` until every trial has finished. --slurm also submits
// the workers as a Slurm job array (cli/slurm_submit.h). TorchScript files
// the model files name are run once locally (gridrun-worker --check-models),
// then uploaded once each, before the spec (cli/torchscript_files.h).
//
// Exit codes: 0 submitted (with --wait: and every trial COMPLETE); 1 the
// file cannot be read, the coordinator rejected the spec (its message, which
// names each bad field and line, is printed as is, one "GRID.yaml: ..." line
// per problem), the coordinator cannot be reached, or (--wait) a trial
// ended FAILED or CANCELLED.
//
// Thread-safety: RunSubmit has no shared state.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "cli/coordinator_connection.h"
#include "cli/slurm_submit.h"

namespace gridrun::cli {

struct SubmitOptions {
  std::string spec_path;
  std::vector<std::string> sets;  // --set KEY=VALUE overrides of the spec
  bool rerun = false;
  bool wait = false;
  bool live = false;  // --wait display: redraw in place (a terminal)
  int64_t min_line_interval_ms = 1000;
  ConnectionOptions connection;
  SlurmSubmitOptions slurm;  // --slurm: also sbatch the workers (cli/slurm_submit.h)
  int64_t max_torchscript_bytes = int64_t{256} << 20;  // per TorchScript file
  std::string worker_binary;  // "" : gridrun-worker next to this program (--check-models)
};

int RunSubmit(const SubmitOptions& options, std::ostream& out, std::ostream& err);

// Adds the `submit` subcommand; `out`/`err` must outlive `app`.
void AddSubmitCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace gridrun::cli
