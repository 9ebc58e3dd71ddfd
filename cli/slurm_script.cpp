#include "cli/slurm_script.h"

#include <regex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace gridrun::cli {
namespace {

absl::Status Bad(const std::string& field, const std::string& value, const std::string& allowed) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", field, " ", value.empty() ? "''" : value, ": ", allowed));
}

absl::Status CheckCount(const std::string& field, int value, int min, int max) {
  if (value < min || value > max) {
    return Bad(field, std::to_string(value), absl::StrCat("must be ", min, "..", max));
  }
  return absl::OkStatus();
}

// Values written into "#SBATCH" lines, which sbatch reads without a shell:
// no whitespace or quotes, so nothing can be split or injected.
absl::Status CheckWord(const std::string& field, const std::string& value) {
  for (char c : value) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' || c == '\\' ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return Bad(field, value, "must not contain whitespace, quotes or backslashes");
    }
  }
  return absl::OkStatus();
}

// Slurm's --time forms (sbatch(1)).
bool IsSlurmTime(const std::string& text) {
  static const std::regex kForms(R"(^(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|UNLIMITED|INFINITE)$)");
  return std::regex_match(text, kForms);
}

// "HOST:PORT" with a port in 1..65535 ("[v6]:PORT" too).
bool IsHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port)) return false;
  return port >= 1 && port <= 65535;
}

}  // namespace

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

absl::Status ValidateSlurmJob(const SlurmJob& job) {
  RETURN_IF_ERROR(CheckCount("nodes", job.nodes, 1, 100000));
  RETURN_IF_ERROR(CheckCount("ranks-per-node", job.ranks_per_node, 1, 4096));
  RETURN_IF_ERROR(CheckCount("gpus-per-node", job.gpus_per_node, 0, 1024));
  RETURN_IF_ERROR(CheckCount("array", job.array, 1, 100000));
  RETURN_IF_ERROR(CheckCount("threads", job.threads, 1, 256));
  RETURN_IF_ERROR(CheckCount("grace", job.grace_s, 0, 65535));
  if (job.gpus_per_node > 0 && job.ranks_per_node > job.gpus_per_node) {
    return Bad("ranks-per-node", std::to_string(job.ranks_per_node),
               absl::StrCat("must be at most --gpus-per-node (", job.gpus_per_node,
                            "): NCCL needs a GPU per rank"));
  }
  if (!(job.exit_when_idle_s >= 0)) {
    return Bad("exit-when-idle", absl::StrCat(job.exit_when_idle_s), "must be >= 0 seconds");
  }
  if (!job.time_limit.empty() && !IsSlurmTime(job.time_limit)) {
    return Bad("time", job.time_limit,
               "must be one of Slurm's forms MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS "
               "(e.g. 90, 4:00:00, 1-12)");
  }
  if (job.launcher != "srun" && job.launcher != "mpirun") {
    return Bad("launcher", job.launcher, "must be srun or mpirun");
  }
  if (!IsHostPort(job.coordinator)) {
    return Bad("worker-coordinator", job.coordinator,
               "must be HOST:PORT, the coordinator's address as the compute nodes reach it");
  }
  if (job.worker_binary.empty()) return Bad("worker-binary", "", "must name a program");
  for (const auto& [field, value] :
       {std::pair<std::string, const std::string*>{"partition", &job.partition},
        {"account", &job.account},
        {"log-dir", &job.output_dir},
        {"experiment", &job.experiment_id}}) {
    RETURN_IF_ERROR(CheckWord(field, *value));
  }
  for (const std::string& option : job.extra_sbatch) {
    if (option.rfind("--", 0) != 0 && option.rfind("-", 0) != 0) {
      return Bad("sbatch-option", option, "must be an sbatch option such as --qos=high");
    }
    if (option.find('\n') != std::string::npos) {
      return Bad("sbatch-option", option, "must be one line");
    }
  }
  return absl::OkStatus();
}

std::string SlurmWorkerScript(const SlurmJob& job) {
  const bool gpus = job.gpus_per_node > 0;
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# gridrun workers for experiment " << job.experiment_id
    << ", written by `gridrun submit --slurm`.\n"
    << "# Each array element is one worker: " << job.nodes << " node(s) x " << job.ranks_per_node
    << " rank(s) training the coordinator's trials one at a time, data-parallel.\n"
    << "#SBATCH --job-name=gridrun-worker\n"
    << "#SBATCH --nodes=" << job.nodes << "\n"
    << "#SBATCH --ntasks-per-node=" << job.ranks_per_node << "\n"
    << "#SBATCH --cpus-per-task=" << job.threads << "\n";
  if (gpus) s << "#SBATCH --gpus-per-node=" << job.gpus_per_node << "\n";
  if (!job.partition.empty()) s << "#SBATCH --partition=" << job.partition << "\n";
  if (!job.account.empty()) s << "#SBATCH --account=" << job.account << "\n";
  if (!job.time_limit.empty()) s << "#SBATCH --time=" << job.time_limit << "\n";
  s << "#SBATCH --array=0-" << job.array - 1 << "\n"
    << "#SBATCH --requeue\n"
    << "#SBATCH --signal=B:USR1@" << job.grace_s << "\n"
    << "#SBATCH --open-mode=append\n"
    << "#SBATCH --output=" << (job.output_dir.empty() ? "" : job.output_dir + "/")
    << "gridrun-worker-%A_%a.log\n";
  for (const std::string& option : job.extra_sbatch) s << "#SBATCH " << option << "\n";
  s << "set -u\n"
    << "# Open MPI refuses to run as root without these (root-run test clusters).\n"
    << "if [ \"$(id -u)\" -eq 0 ]; then\n"
    << "  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1\n"
    << "fi\n";

  std::vector<std::string> worker = {ShellQuote(job.worker_binary),      "--coordinator",
                                     ShellQuote(job.coordinator),        "--exit-when-idle",
                                     absl::StrCat(job.exit_when_idle_s), "--threads",
                                     std::to_string(job.threads)};
  if (gpus) {
    worker.push_back("--device");
    worker.push_back("cuda");
  }
  if (!job.token_file.empty()) {
    worker.push_back("--token-file");
    worker.push_back(ShellQuote(job.token_file));
  }
  if (!job.tls_ca.empty()) {
    worker.push_back("--tls-ca");
    worker.push_back(ShellQuote(job.tls_ca));
  }
  if (!job.data_dir.empty()) {
    worker.push_back("--data-dir");
    worker.push_back(ShellQuote(job.data_dir));
  }
  s << "worker=(" << absl::StrJoin(worker, " ") << ")\n";

  std::vector<std::string> launch;
  if (job.launcher == "srun") {
    launch = {"srun", "--mpi=pmix", "--kill-on-bad-exit=1"};
  } else {
    launch = {"mpirun",
              "-np",
              "\"$SLURM_NTASKS\"",
              "--map-by",
              absl::StrCat("ppr:", job.ranks_per_node, ":node"),
              "--bind-to",
              "none"};
  }
  if (gpus) {
    // Slurm lists the node's GPUs in CUDA_VISIBLE_DEVICES; each rank keeps
    // one, by its local rank (Open MPI's under mpirun, Slurm's under srun).
    s << "# shellcheck disable=SC2016  # expanded by each rank's shell\n"
      << "bind_gpu='if [ -n \"${CUDA_VISIBLE_DEVICES:-}\" ]; then\n"
      << "  IFS=, read -ra gpus <<< \"$CUDA_VISIBLE_DEVICES\"\n"
      << "  local_rank=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-0}}\n"
      << "  export CUDA_VISIBLE_DEVICES=${gpus[local_rank % ${#gpus[@]}]}\n"
      << "fi\n"
      << "exec \"$@\"'\n";
    launch.insert(launch.end(), {"/bin/bash", "-c", "\"$bind_gpu\"", "gridrun-rank"});
  }
  launch.push_back("\"${worker[@]}\"");

  s << "\n"
    << "# SIGTERM (scancel, preemption) reaches every rank from Slurm: each\n"
    << "# checkpoints, gives its trial back and exits 0. USR1 comes grace seconds\n"
    << "# before the time limit: stop the ranks the same way, then requeue.\n"
    << "requeue=0\n"
    << "trap 'echo \"gridrun: SIGTERM: the ranks checkpoint and stop\"' TERM\n"
    << "trap 'requeue=1; echo \"gridrun: time limit near: stopping the ranks\"; "
    << "scancel --signal=TERM \"$SLURM_JOB_ID\"' USR1\n"
    << "echo \"gridrun worker job ${SLURM_JOB_ID} (array ${SLURM_ARRAY_JOB_ID:-}_"
    << "${SLURM_ARRAY_TASK_ID:-}): ${SLURM_NTASKS} ranks on ${SLURM_JOB_NODELIST}\"\n"
    << absl::StrJoin(launch, " ") << " &\n"
    << "step=$!\n"
    << "while :; do\n"
    << "  wait \"$step\"; code=$?\n"
    << "  # A trapped signal ends `wait` early; the ranks may still be running.\n"
    << "  kill -0 \"$step\" 2>/dev/null || break\n"
    << "done\n"
    << "if [ \"$requeue\" = 1 ]; then\n"
    << "  echo \"gridrun: requeueing job $SLURM_JOB_ID\"\n"
    << "  scontrol requeue \"$SLURM_JOB_ID\"\n"
    << "fi\n"
    << "exit \"$code\"\n";
  return s.str();
}

absl::StatusOr<std::string> ParseSbatchJobId(const std::string& output) {
  std::string id(absl::StripAsciiWhitespace(output));
  id = id.substr(0, id.find(';'));
  const bool digits = !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) {
    return absl::InvalidArgumentError(
        absl::StrCat("sbatch printed no job id (expected a number, got '", output, "')"));
  }
  return id;
}

}  // namespace gridrun::cli
