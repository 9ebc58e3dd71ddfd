#include "cli/slurm_submit.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace gridrun::cli {
namespace {

namespace fs = std::filesystem;

// gridrun-worker installed beside this program (bin/), else found in PATH.
std::string DefaultWorkerBinary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path sibling = self.parent_path() / "gridrun-worker";
    if (fs::exists(sibling, ec)) return sibling.string();
  }
  return "gridrun-worker";
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
  if (auto status = ValidateSlurmJob(job); !status.ok()) return status;
  return job;
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::string& input) {
  int in[2], out[2], err[2], exec_error[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0 ||
      ::pipe2(exec_error, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1], exec_error[0]}) ::close(fd);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    const int e = errno;  // tell the parent why (the pipe closes on a successful exec)
    (void)!::write(exec_error[1], &e, sizeof(e));
    ::_exit(127);
  }
  for (int fd : {in[0], out[1], err[1], exec_error[1]}) ::close(fd);
  int exec_errno = 0;
  const bool exec_failed = ::read(exec_error[0], &exec_errno, sizeof(exec_errno)) ==
                           static_cast<ssize_t>(sizeof(exec_errno));
  ::close(exec_error[0]);

  ProcessResult result;
  // Feed stdin and drain both outputs together: no deadlock on full pipes.
  ::signal(SIGPIPE, SIG_IGN);
  size_t written = exec_failed ? input.size() : 0;
  int in_fd = in[1];
  if (written == input.size()) {
    ::close(in_fd);
    in_fd = -1;
  }
  int fds[2] = {out[0], err[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  while (in_fd >= 0 || fds[0] >= 0 || fds[1] >= 0) {
    pollfd p[3] = {{in_fd, POLLOUT, 0}, {fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in_fd >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i], buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else {
        ::close(fds[i]);
        fds[i] = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run '", argv[0], "': ", std::strerror(exec_errno)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
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
