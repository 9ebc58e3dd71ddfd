#include "cli/local_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cli/report_command.h"
#include "cli/spec_files.h"
#include "cli/spec_overrides.h"
#include "cli/status_command.h"
#include "common/subprocess.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"
#include "coordinator/server.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"
#include "ui/web_server.h"

namespace gridrun::cli {
namespace {

std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted = true; }

// A worker job: the process (mpirun or the worker itself, leading a process
// group of its own so Ctrl-C reaches only us; we pass it on deliberately)
// and its log.
struct WorkerJob {
  std::optional<Subprocess> process;
  std::string log_path;
  bool done = false;
  int exit_code = 0;
};

// Tells a worker job to stop: SIGTERM to the worker processes (mpirun's
// children, by pid), which checkpoint and give their trials back.
void Preempt(WorkerJob& job, bool via_mpirun) {
  if (job.done) return;
  if (via_mpirun) {
    (void)job.process->SignalChildren(SIGTERM);
  } else {
    (void)job.process->Signal(SIGTERM);
  }
}

// Reaps the job if it has ended (without blocking); true once it has.
bool Reap(WorkerJob& job) {
  if (job.done) return true;
  absl::StatusOr<std::optional<int>> code = job.process->TryWait();
  if (!code.ok() || code->has_value()) {
    job.done = true;
    job.exit_code = code.ok() ? **code : 1;
  }
  return job.done;
}

struct Counts {
  int64_t total = 0, waiting = 0, running = 0, complete = 0, failed = 0, cancelled = 0;
  int64_t paused = 0, stopped = 0;  // early stopping (a spec's scheduler or stop rules)
  int64_t steps = 0, total_steps = 0;
};

Counts Summarize(const v1::ListTrialsResponse& trials) {
  Counts c;
  for (const auto& t : trials.trials()) {
    ++c.total;
    switch (t.state()) {
      case v1::TRIAL_WAITING: ++c.waiting; break;
      case v1::TRIAL_RUNNING: ++c.running; break;
      case v1::TRIAL_COMPLETE: ++c.complete; break;
      case v1::TRIAL_FAILED: ++c.failed; break;
      case v1::TRIAL_CANCELLED: ++c.cancelled; break;
      case v1::TRIAL_PAUSED: ++c.paused; break;
      case v1::TRIAL_STOPPED: ++c.stopped; break;
      default: break;
    }
    if (t.state() == v1::TRIAL_COMPLETE) {
      c.steps += t.progress().total_steps();
      c.total_steps += t.progress().total_steps();
    } else {
      c.steps += t.progress().step();
      c.total_steps += t.progress().total_steps();
    }
  }
  return c;
}

std::string ProgressLine(const Counts& c, double elapsed_s) {
  std::ostringstream line;
  line << c.complete << "/" << c.total << " trials complete, " << c.running << " running, "
       << c.waiting << " waiting";
  if (c.failed > 0) line << ", " << c.failed << " failed";
  if (c.paused > 0) line << ", " << c.paused << " paused";
  if (c.stopped > 0) line << ", " << c.stopped << " stopped early";
  if (c.total_steps > 0) {
    line << " | " << (100 * c.steps / std::max<int64_t>(c.total_steps, 1)) << "% of known steps";
  }
  line << " | " << static_cast<int64_t>(elapsed_s) << " s";
  return line.str();
}

}  // namespace

int RunLocal(const LocalOptions& options, std::ostream& out, std::ostream& err) {
  // The grid: parsed here too, to size the workers.
  const auto files =
      ReadSpecFiles(options.spec_path, options.sets, err, options.max_torchscript_bytes);
  if (!files) return 1;
  auto spec = coordinator::ParseGridSpec(files->text, {}, files->model_files);
  if (!spec.ok()) {
    err << options.spec_path << ": " << spec.status().message() << "\n";
    return 1;
  }
  const std::string worker_binary =
      options.worker_binary.empty() ? SiblingProgram("gridrun-worker") : options.worker_binary;
  if (absl::Status s = CheckTorchScriptModels(*spec, files->torchscript, worker_binary, err);
      !s.ok()) {
    err << options.spec_path << ": " << s.message() << "\n";
    return 1;
  }
  std::set<int> rank_counts;
  for (const auto& trial : coordinator::ExpandGrid(*spec)) rank_counts.insert(trial.config.ranks);
  int ranks = options.ranks_per_worker;
  if (ranks == 0) {
    if (rank_counts.size() != 1) {
      err << "gridrun local: the grid mixes trials of different `ranks`; choose one with "
             "--ranks-per-worker\n";
      return 1;
    }
    ranks = *rank_counts.begin();
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int workers =
      options.workers > 0 ? options.workers : std::max(1, cores / (ranks * options.threads));

  // 1. The embedded coordinator, quiet unless something goes wrong.
  spdlog::set_level(spdlog::level::warn);
  coordinator::CoordinatorOptions coordinator_options;
  coordinator_options.listen = "127.0.0.1:0";
  coordinator_options.db_path = options.db_path;
  coordinator_options.lease_timeout_ms = static_cast<int64_t>(options.lease_timeout_s * 1000);
  coordinator_options.retry_after_ms = 200;
  coordinator_options.max_torchscript_bytes = options.max_torchscript_bytes;
  auto server = coordinator::CoordinatorServer::Start(coordinator_options);
  if (!server.ok()) {
    err << "gridrun local: cannot start the coordinator: " << server.status().message() << "\n";
    return 1;
  }
  ClientOptions client;
  client.address = (*server)->address();
  auto channel = CreateCoordinatorChannel(client);
  auto grid = v1::GridService::NewStub(channel);

  // 2. Submit (idempotent), the TorchScript files first.
  v1::SubmitGridResponse submitted;
  if (absl::Status s = UploadTorchScriptFiles(
          *grid,
          [&] {
            auto context = std::make_unique<grpc::ClientContext>();
            PrepareContext(context.get(), client, std::chrono::seconds(300));
            return context;
          },
          files->torchscript);
      !s.ok()) {
    err << options.spec_path << ": " << s.message() << "\n";
    return 1;
  }
  {
    grpc::ClientContext context;
    PrepareContext(&context, client, std::chrono::seconds(30));
    v1::SubmitGridRequest request;
    request.set_spec_yaml(files->text);
    request.mutable_model_files()->insert(files->model_files.begin(), files->model_files.end());
    request.set_rerun(options.rerun);
    grpc::Status status = grid->SubmitGrid(&context, request, &submitted);
    if (!status.ok()) {
      err << options.spec_path << ": " << status.error_message() << "\n";
      return 1;
    }
  }
  err << "experiment " << submitted.experiment_id() << " (" << spec->experiment << "): "
      << submitted.trial_count() << " trials"
      << (submitted.already_existed() ? ", resuming" : "")
      << (submitted.reused_trials() > 0
              ? ", " + std::to_string(submitted.reused_trials()) + " reused from earlier results"
              : "")
      << "; database " << options.db_path << "\n";
  // The live dashboard of this run, for as long as it runs. A dashboard that
  // cannot start (say, its port is taken) costs the run nothing.
  std::unique_ptr<ui::WebServer> dashboard;
  if (options.ui_listen != "off") {
    ui::WebServerOptions web;
    web.db_path = options.db_path;
    web.listen = options.ui_listen;
    auto started = ui::WebServer::Start(web);
    if (started.ok()) {
      dashboard = *std::move(started);
      err << "dashboard: " << dashboard->url() << "#/e/" << submitted.experiment_id() << "\n";
    } else {
      err << "gridrun local: no dashboard: " << started.status().message() << "\n";
    }
  }

  // 3. Workers.
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  struct sigaction old_int, old_term;
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  g_interrupted = false;
  const std::string log_dir = options.db_path + ".logs";
  std::filesystem::create_directories(log_dir);
  const bool via_mpirun = ranks > 1;
  std::vector<WorkerJob> jobs(workers);
  bool spawn_error = false;
  for (int i = 0; i < workers; ++i) {
    std::vector<std::string> argv;
    if (via_mpirun) {
      argv = {"mpirun", "-np", std::to_string(ranks), "--bind-to", "none", "--oversubscribe"};
      if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
    }
    argv.insert(argv.end(),
                {worker_binary, "--coordinator", client.address, "--threads",
                 std::to_string(options.threads), "--exit-when-idle", "3"});
    if (!options.data_dir.empty()) argv.insert(argv.end(), {"--data-dir", options.data_dir});
    jobs[i].log_path = log_dir + "/worker-" + std::to_string(i) + ".log";
    SpawnOptions spawn;
    spawn.output_path = jobs[i].log_path;
    spawn.new_process_group = true;
    absl::StatusOr<Subprocess> process = Subprocess::Spawn(argv, spawn);
    if (!process.ok()) {
      err << "gridrun local: cannot start worker " << i << ": " << process.status().message()
          << "\n";
      spawn_error = true;
      break;
    }
    jobs[i].process = std::move(*process);
  }
  if (spawn_error) {
    // Stop the jobs already started (their workers hold no lease yet).
    for (auto& job : jobs) {
      if (!job.process.has_value()) continue;
      (void)job.process->SignalGroup(SIGKILL);
      (void)job.process->Wait();
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    (*server)->Shutdown();
    return 1;
  }
  err << "started " << workers << " worker" << (workers > 1 ? "s" : "") << " of " << ranks
      << " rank" << (ranks > 1 ? "s" : "") << " (logs in " << log_dir << "/)\n";

  // 4. Progress until done (or interrupted, or every worker gone).
  const bool tty = ::isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  std::string last_line;
  Counts counts;
  bool interrupted = false;
  bool finished = false;  // every trial terminal, as the last successful poll said
  // The poll interval follows the cost of a poll: ListTrials of a big grid is
  // not free, but a small grid should not wait a whole second at its end.
  auto poll_interval = std::chrono::milliseconds(100);
  while (true) {
    for (auto& job : jobs) {
      if (!job.done && Reap(job)) {
        if (job.exit_code != 0 && !g_interrupted) {
          err << (tty ? "\n" : "") << "gridrun local: a worker exited with status "
              << job.exit_code << "; see " << job.log_path << "\n";
        }
      }
    }
    v1::ListTrialsResponse trials;
    const auto poll_started = std::chrono::steady_clock::now();
    grpc::Status listed;
    {
      grpc::ClientContext context;
      PrepareContext(&context, client, std::chrono::seconds(10));
      v1::ListTrialsRequest request;
      request.set_experiment_id(submitted.experiment_id());
      listed = grid->ListTrials(&context, request, &trials);
    }
    // A failed poll (e.g. a deadline on a loaded machine) says nothing: an
    // empty list must not read as "finished", which stops the workers.
    if (listed.ok()) counts = Summarize(trials);
    poll_interval = std::clamp(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            10 * (std::chrono::steady_clock::now() - poll_started)),
        std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string line = ProgressLine(counts, elapsed);
    if (tty) {
      err << "\r\033[K" << line << std::flush;
    } else if (line.substr(0, line.rfind('|')) != last_line.substr(0, last_line.rfind('|'))) {
      err << line << "\n";
    }
    last_line = line;
    finished = listed.ok() && counts.waiting == 0 && counts.running == 0;
    const bool all_workers_gone =
        std::all_of(jobs.begin(), jobs.end(), [](const WorkerJob& j) { return j.done; });
    if (g_interrupted) {
      interrupted = true;
      break;
    }
    if (finished || all_workers_gone) break;
    const auto wake = std::chrono::steady_clock::now() + poll_interval;
    while (!g_interrupted && std::chrono::steady_clock::now() < wake) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (tty) err << "\n";

  // Stop the workers. Interrupted: a preempted worker checkpoints and gives
  // its trial back. Finished: every trial is terminal, so no worker holds a
  // lease and all are idle (waiting for a lease that will not come); SIGTERM
  // ends that wait at once (exit 0) instead of after --exit-when-idle.
  for (auto& job : jobs) {
    if (interrupted || finished) Preempt(job, via_mpirun);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    bool all_done = true;
    for (auto& job : jobs) all_done = Reap(job) && all_done;
    if (all_done || std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& job : jobs) {
    if (!job.done) {
      // mpirun's ranks lead process groups of their own: killed by pid first.
      (void)job.process->SignalChildren(SIGKILL);
      (void)job.process->SignalGroup(SIGKILL);  // the job's own process group
      (void)job.process->Wait();
      job.done = true;
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);

  if (interrupted) {
    (*server)->Shutdown();
    err << "interrupted: running trials were checkpointed; run the same command again to "
           "continue\n";
    return 130;
  }
  if (counts.waiting > 0 || counts.running > 0) {
    (*server)->Shutdown();
    err << "gridrun local: every worker stopped before the grid finished; see " << log_dir
        << "/\n";
    return 1;
  }

  // Results table, through the status command against our coordinator.
  StatusOptions status_options;
  status_options.experiment = submitted.experiment_id();
  status_options.connection.address = client.address;
  RunStatus(status_options, out, err);
  (*server)->Shutdown();

  ReportCommandOptions report;
  report.db_path = options.db_path;
  report.experiment = submitted.experiment_id();
  report.out_path =
      options.report_path.empty() ? options.db_path + ".report.html" : options.report_path;
  std::ostringstream report_out;
  if (RunReport(report, report_out, err) == 0) {
    err << "report: " << report.out_path << "\n";
  }
  return counts.failed == 0 && counts.cancelled == 0 ? 0 : 1;
}

void AddLocalCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<LocalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "local", "run a grid on this machine: embedded coordinator, local workers, report");
  cmd->add_option("grid", options->spec_path, "the grid spec (YAML)")->required();
  AddSetOption(cmd, &options->sets);
  cmd->add_option("--db", options->db_path, "results database")->capture_default_str();
  cmd->add_option("--workers", options->workers,
                  "worker jobs to run at once (default: cores / (ranks * threads))")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--ranks-per-worker", options->ranks_per_worker,
                  "MPI ranks per worker job (default: the grid's ranks)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--threads", options->threads, "threads per rank")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--data-dir", options->data_dir, "where the data sets are")
      ->envname("GRIDRUN_DATA_DIR");
  cmd->add_option("--report", options->report_path,
                  "where to write the HTML report (default: <db>.report.html)");
  cmd->add_flag("--rerun", options->rerun, "train every trial, even ones finished before");
  cmd->add_option("--ui-listen", options->ui_listen,
                  "loopback HOST:PORT of the live dashboard while the grid runs (port 0: any "
                  "free port; off: none)")
      ->capture_default_str();
  cmd->add_option("--worker-binary", options->worker_binary,
                  "the gridrun-worker program (default: next to gridrun)");
  cmd->add_option("--max-torchscript-bytes", options->max_torchscript_bytes,
                  "largest TorchScript file a model file may name")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lease-timeout", options->lease_timeout_s,
                  "seconds without a heartbeat before a trial is re-queued")
      ->capture_default_str();
  cmd->callback([options, &out, &err] {
    const int code = RunLocal(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
