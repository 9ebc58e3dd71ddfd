// `gridrun submit --slurm ...`: after the grid is submitted, submits its
// workers to Slurm as a job array (`sbatch --parsable`, the script on stdin;
// see cli/slurm_script.h for what the script does).
//
//   $ gridrun submit grid.yaml --slurm --nodes 2 --ranks-per-node 4 \
//       --gpus-per-node 4 --partition gpu --array 3 --time 4:00:00 \
//       --worker-coordinator login1:50051
//   exp-1a2b3c4d5e6f                 (stdout: the experiment id)
//   4242                             (stdout: the Slurm job id of the array)
//   submitted Slurm job 4242: 3 workers x 2 nodes x 4 ranks ...   (stderr)
//
// Errors (exit 1, one line naming the cause): a bad value (checked before
// anything is submitted), sbatch missing, sbatch failing (its stderr is
// shown), sbatch printing no job id.
//
// Thread-safety: SubmitSlurmJob starts sbatch (common/subprocess.h) and
// waits for it; calls from several threads are independent.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "cli/coordinator_connection.h"
#include "cli/slurm_script.h"

namespace gridrun::cli {

struct SlurmSubmitOptions {
  bool enabled = false;           // --slurm
  SlurmJob job;                   // coordinator "" : --coordinator's address
  std::string sbatch = "sbatch";  // --sbatch PROGRAM
  std::string script_copy;        // --slurm-script FILE: also write the script here
};

// Adds --slurm and the job-shape flags (each needs --slurm) to `command`.
void AddSlurmSubmitOptions(CLI::App* command, SlurmSubmitOptions* options);

// Fills what the user left to defaults (the coordinator address, absolute
// token/CA paths from `connection`, the worker next to this program) and
// validates. INVALID_ARGUMENT names the bad flag.
absl::StatusOr<SlurmJob> ResolveSlurmJob(const SlurmSubmitOptions& options,
                                         const ConnectionOptions& connection);

// Runs `sbatch --parsable` with the script of `job` on stdin (and writes the
// copy if asked). Prints the job id on `out`, a summary on `err`; returns 0,
// or 1 after printing why on `err`.
int SubmitSlurmJob(const SlurmJob& job, const SlurmSubmitOptions& options, std::ostream& out,
                   std::ostream& err);

}  // namespace gridrun::cli
