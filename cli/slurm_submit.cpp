#include "cli/slurm_submit.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "common/subprocess.h"

namespace gridrun::cli {
namespace {

namespace fs = std::filesystem;

// gridrun-worker installed beside this program (bin/), else found in PATH.
std::string DefaultWorkerBinary() {
  const std::string sibling = SiblingProgram("gridrun-worker");
  std::error_code ec;
  return fs::exists(sibling, ec) ? sibling : "gridrun-worker";
}

std::string Absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

bool IsLoopback(const std::string& address) {
  return absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]:");
}

}  // namespace

void AddSlurmSubmitOptions(CLI::App* command, SlurmSubmitOptions* options) {
  SlurmJob& job = options->job;
  CLI::Option* slurm = command->add_flag(
      "--slurm", options->enabled,
      "also submit the workers to Slurm as a job array (sbatch); prints its job id");
  const std::string group = "Slurm (with --slurm)";
  auto needs = [&](CLI::Option* option) { option->needs(slurm)->group(group); };
  needs(command->add_option("--nodes", job.nodes, "nodes per worker")->capture_default_str());
  needs(command->add_option("--ranks-per-node", job.ranks_per_node, "MPI ranks per node")
            ->capture_default_str());
  needs(command
            ->add_option("--gpus-per-node", job.gpus_per_node,
                         "GPUs per node; > 0 trains on CUDA, one GPU per rank")
            ->capture_default_str());
  needs(command->add_option("--array", job.array, "workers: the job array's size")
            ->capture_default_str());
  needs(command->add_option("--partition", job.partition,
                            "Slurm partition (default: the "
                            "cluster's)"));
  needs(command->add_option("--account", job.account, "Slurm account"));
  needs(command->add_option("--time", job.time_limit,
                            "time limit per job, Slurm's form (e.g. 4:00:00, 1-12); the job "
                            "checkpoints and requeues itself shortly before it"));
  needs(command->add_option("--threads", job.threads, "intra-op threads (CPUs) per rank")
            ->capture_default_str());
  needs(command->add_option("--launcher", job.launcher, "srun (--mpi=pmix) or mpirun")
            ->capture_default_str());
  needs(command
            ->add_option("--signal-grace", job.grace_s,
                         "seconds before the time limit at which the job checkpoints and "
                         "requeues")
            ->capture_default_str());
  needs(command
            ->add_option("--exit-when-idle", job.exit_when_idle_s,
                         "a worker exits after this many seconds without a trial")
            ->capture_default_str());
  needs(command->add_option("--log-dir", job.output_dir,
                            "directory for the jobs' logs gridrun-worker-JOB_ELEMENT.log "
                            "(default: where sbatch runs)"));
  needs(command->add_option("--worker-coordinator", job.coordinator,
                            "coordinator HOST:PORT as the compute nodes reach it (default: "
                            "--coordinator)"));
  needs(command->add_option("--worker-binary", job.worker_binary,
                            "gridrun-worker on the compute nodes (default: the one beside "
                            "this program)"));
  needs(command->add_option("--data-dir", job.data_dir,
                            "data sets on the compute nodes (default: the worker's, "
                            "$GRIDRUN_DATA_DIR)"));
  needs(command
            ->add_option("--sbatch-option", job.extra_sbatch,
                         "extra #SBATCH option, written with =: --sbatch-option=--qos=high "
                         "(repeatable)")
            ->allow_extra_args(false));
  needs(command->add_option("--sbatch", options->sbatch, "the sbatch program")
            ->envname("GRIDRUN_SBATCH")
            ->capture_default_str());
  needs(command->add_option("--slurm-script", options->script_copy,
                            "also write the batch script to this file"));
}

absl::StatusOr<SlurmJob> ResolveSlurmJob(const SlurmSubmitOptions& options,
                                         const ConnectionOptions& connection) {
  SlurmJob job = options.job;
  if (job.coordinator.empty()) job.coordinator = connection.address;
  if (job.worker_binary.empty()) job.worker_binary = DefaultWorkerBinary();
  // The job may start in another directory than this command: absolute paths.
  job.token_file = Absolute(connection.token_file);
  job.tls_ca = Absolute(connection.tls_ca_path);
  job.output_dir = Absolute(job.output_dir);
  job.data_dir = Absolute(job.data_dir);
  RETURN_IF_ERROR(ValidateSlurmJob(job));
  return job;
}

int SubmitSlurmJob(const SlurmJob& job, const SlurmSubmitOptions& options, std::ostream& out,
                   std::ostream& err) {
  const std::string script = SlurmWorkerScript(job);
  if (!options.script_copy.empty()) {
    std::ofstream copy(options.script_copy, std::ios::binary | std::ios::trunc);
    copy << script;
    if (!copy.flush()) {
      err << "gridrun submit --slurm: cannot write " << options.script_copy << ": "
          << std::strerror(errno) << "\n";
      return 1;
    }
  }
  if (IsLoopback(job.coordinator)) {
    err << "warning: workers will reach the coordinator at " << job.coordinator
        << ", a loopback address: fine on one node only (see --worker-coordinator)\n";
  }
  auto result = RunProcess({options.sbatch, "--parsable"}, script);
  if (!result.ok()) {
    err << "gridrun submit --slurm: " << result.status().message()
        << " (is Slurm installed here? --sbatch or GRIDRUN_SBATCH name the program)\n";
    return 1;
  }
  if (result->exit_code != 0) {
    err << "gridrun submit --slurm: sbatch failed (exit " << result->exit_code
        << "): " << absl::StripTrailingAsciiWhitespace(result->err) << "\n";
    return 1;
  }
  auto id = ParseSbatchJobId(result->out);
  if (!id.ok()) {
    err << "gridrun submit --slurm: " << id.status().message() << "\n";
    return 1;
  }
  out << *id << "\n";
  out.flush();
  err << "submitted Slurm job " << *id << ": " << job.array << " worker(s) x " << job.nodes
      << " node(s) x " << job.ranks_per_node << " rank(s)"
      << (job.gpus_per_node > 0 ? absl::StrCat(", ", job.gpus_per_node, " GPU(s) per node")
                                : std::string())
      << "; logs " << (job.output_dir.empty() ? std::string(".") : job.output_dir)
      << "/gridrun-worker-" << *id << "_N.log\n";
  return 0;
}

}  // namespace gridrun::cli
