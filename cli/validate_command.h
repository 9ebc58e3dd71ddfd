// `gridrun validate GRID.yaml`: checks a grid spec locally, without a
// coordinator, and shows what it would run.
//
//   $ gridrun validate vae.yaml
//   vae.yaml: OK, 12 trials
//     latent_size: 2, 64 (2 values)
//     kl_weight: 1, 0.7, 0.5, 0.4, 0.3, 0.25 (6 values)
//
// On a bad spec every problem is printed (to the error stream), each prefixed
// with the file name, and the exit code is 1. The checks are exactly the
// coordinator's (coordinator/grid_spec.h), so a spec that validates here is
// accepted by `gridrun submit` unless the coordinator runs with a smaller
// trial limit. `--set KEY=VALUE` (repeatable) overrides settings first, as
// for submit and local (cli/spec_overrides.h). With -v it also prints the
// layer table of each distinct model the grid trains (model, data set,
// latent_size, width, depth), at most kMaxLayerTables of them. Model files
// the spec names are read relative to it (cli/spec_files.h).
//
// Thread-safety: RunValidate has no shared state; the streams it is given
// must not be written by other threads meanwhile.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

namespace gridrun::cli {

struct ValidateOptions {
  std::string path;            // the grid spec file
  int64_t max_trials = 10000;  // GridLimits::max_trials
  int64_t max_model_parameters = 1'000'000'000;  // GridLimits::max_model_parameters
  std::vector<std::string> sets;  // --set KEY=VALUE overrides, applied first
  bool verbose = false;           // -v: the layer table of each model
  int64_t max_torchscript_bytes = int64_t{256} << 20;  // per TorchScript file
  std::string worker_binary;  // "" : gridrun-worker next to this program (--check-models)
};

inline constexpr int kMaxLayerTables = 16;

// Reads and validates the spec at options.path. Returns the process exit
// code: 0 when valid ("PATH: OK, N trials" and the axis summary on `out`),
// 1 when the file cannot be read or the spec is invalid (the reason on `err`,
// one "PATH: ..." line per problem).
int RunValidate(const ValidateOptions& options, std::ostream& out, std::ostream& err);

// Adds the `validate` subcommand to `app`. When it runs, it calls RunValidate
// with `out`/`err` and throws CLI::RuntimeError(exit code) if that is not 0,
// which CLI11_PARSE / App::exit turn into the process's exit code. `out` and
// `err` must outlive `app`.
void AddValidateCommand(CLI::App& app, std::ostream& out = std::cout,
                        std::ostream& err = std::cerr);

}  // namespace gridrun::cli
