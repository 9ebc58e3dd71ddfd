// The Slurm batch script that runs gridrun workers as a job array: a pure
// function of the job's shape, so it is unit-tested without Slurm and works
// from an installed binary (no template file to find at run time).
//
// One array element is one worker: an MPI job of nodes x ranks_per_node ranks
// that trains the coordinator's trials one after another and exits when no
// trial has come for `exit_when_idle_s`. The script:
//   1. asks for the nodes, tasks, GPUs, partition, time and array size;
//   2. starts the ranks with `srun --mpi=pmix` (or `mpirun`, which reads the
//      allocation itself);
//   3. binds one GPU per rank: each rank keeps the (local rank)-th entry of the
//      CUDA_VISIBLE_DEVICES Slurm gives the node, so rank and GPU agree for
//      both NCCL and torch;
//   4. on SIGTERM (scancel, preemption) passes the signal to the ranks, which
//      checkpoint, give their trial back and exit 0; the coordinator leases
//      the trial to the next worker, which resumes from that checkpoint;
//   5. `--signal=B:USR1@grace` warns the script `grace_s` before the time
//      limit: it stops the ranks the same way and requeues the job
//      (`--requeue`), so long grids outlive the partition's time limit.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::cli {

struct SlurmJob {
  std::string experiment_id;              // only named in the job name and a comment
  int nodes = 1;                          // per worker (array element)
  int ranks_per_node = 1;                 // MPI ranks per node
  int gpus_per_node = 0;                  // 0: CPU training (--device cpu)
  int array = 1;                          // workers: array elements 0..array-1
  int threads = 1;                        // intra-op threads per rank (--cpus-per-task)
  std::string partition;                  // "" : the cluster's default
  std::string time_limit;                 // "" : the partition's default; Slurm's formats
  std::string account;                    // "" : the user's default
  std::string launcher = "srun";          // srun | mpirun
  int grace_s = 120;                      // USR1 this long before the time limit
  double exit_when_idle_s = 60;           // a worker with nothing to do exits
  std::string output_dir;                 // where the job logs go ("" : sbatch's cwd)
  std::string worker_binary;              // gridrun-worker on the compute nodes
  std::string coordinator;                // HOST:PORT as the compute nodes reach it
  std::string token_file;                 // "" : none
  std::string tls_ca;                     // "" : plaintext
  std::string data_dir;                   // "" : the worker's default
  std::vector<std::string> extra_sbatch;  // more "#SBATCH" options, verbatim
};

// OK, or INVALID_ARGUMENT naming the first bad field, its value and what is
// allowed: counts must be >= 1 (gpus >= 0), ranks_per_node <= gpus_per_node
// when GPUs are used (NCCL needs a GPU per rank), time_limit one of Slurm's
// forms (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS), names without
// whitespace or quotes, launcher srun or mpirun, a coordinator address.
absl::Status ValidateSlurmJob(const SlurmJob& job);

// The batch script (bash) for a valid `job`. Every value is shell-quoted.
std::string SlurmWorkerScript(const SlurmJob& job);

// The job id in `sbatch --parsable` output ("1234" or "1234;cluster\n"), or
// INVALID_ARGUMENT quoting the text when it holds no job id.
absl::StatusOr<std::string> ParseSbatchJobId(const std::string& output);

// `text` quoted for bash: 'it'\''s'.
std::string ShellQuote(const std::string& text);

}  // namespace gridrun::cli
