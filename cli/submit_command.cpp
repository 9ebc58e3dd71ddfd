#include "cli/submit_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_split.h"
#include "cli/spec_files.h"
#include "common/subprocess.h"
#include "coordinator/grid_spec.h"
#include "cli/spec_overrides.h"
#include "cli/watch_command.h"

namespace gridrun::cli {

int RunSubmit(const SubmitOptions& options, std::ostream& out, std::ostream& err) {
  const auto files =
      ReadSpecFiles(options.spec_path, options.sets, err, options.max_torchscript_bytes);
  if (!files) return 1;
  if (!files->torchscript.empty()) {
    // TorchScript networks run once here, before anything is sent; a spec
    // that does not parse is left to the coordinator's message.
    auto spec = coordinator::ParseGridSpec(files->text, {}, files->model_files);
    const std::string worker = options.worker_binary.empty() ? SiblingProgram("gridrun-worker")
                                                             : options.worker_binary;
    if (absl::Status s = spec.ok() ? CheckTorchScriptModels(*spec, files->torchscript, worker, err)
                                   : absl::OkStatus();
        !s.ok()) {
      for (absl::string_view line : absl::StrSplit(s.message(), '\n')) {
        err << options.spec_path << ": " << std::string(line) << "\n";
      }
      return 1;
    }
  }
  // --slurm: every job flag is checked before anything is submitted.
  absl::StatusOr<SlurmJob> slurm_job;
  if (options.slurm.enabled) {
    slurm_job = ResolveSlurmJob(options.slurm, options.connection);
    if (!slurm_job.ok()) {
      err << "gridrun submit: " << slurm_job.status().message() << "\n";
      return 1;
    }
  }
  auto connection = CoordinatorConnection::Open(options.connection);
  if (!connection.ok()) {
    err << "gridrun submit: " << connection.status().message() << "\n";
    return 1;
  }
  CoordinatorConnection& coordinator = **connection;

  if (absl::Status s = UploadTorchScriptFiles(
          coordinator.grid(), [&] { return coordinator.NewStreamContext(); }, files->torchscript);
      !s.ok()) {
    err << "gridrun submit: " << s.message() << "\n";
    return 1;
  }
  v1::SubmitGridRequest request;
  request.set_spec_yaml(files->text);
  request.mutable_model_files()->insert(files->model_files.begin(), files->model_files.end());
  request.set_rerun(options.rerun);
  v1::SubmitGridResponse response;
  grpc::Status status =
      coordinator.grid().SubmitGrid(coordinator.NewCallContext().get(), request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      // The spec's problems, one per line, each naming field and line.
      for (absl::string_view line : absl::StrSplit(status.error_message(), '\n')) {
        err << options.spec_path << ": " << std::string(line) << "\n";
      }
    } else {
      err << "gridrun submit: " << coordinator.Explain(status) << "\n";
    }
    return 1;
  }
  out << response.experiment_id() << "\n";
  out.flush();
  const int64_t n = response.trial_count();
  const std::string trials = std::to_string(n) + (n == 1 ? " trial" : " trials");
  if (response.already_existed()) {
    err << "already submitted (" << trials << ")\n";
  } else {
    err << trials << ", " << response.reused_trials() << " reused from earlier results\n";
  }
  if (options.slurm.enabled) {
    slurm_job->experiment_id = response.experiment_id();
    if (int code = SubmitSlurmJob(*slurm_job, options.slurm, out, err); code != 0) return code;
  }
  if (!options.wait) return 0;

  WatchOptions watch;
  watch.experiment = response.experiment_id();
  watch.live = options.live;
  watch.min_line_interval_ms = options.min_line_interval_ms;
  watch.connection = options.connection;
  return RunWatch(watch, out, err);
}

void AddSubmitCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<SubmitOptions>();
  CLI::App* cmd =
      app.add_subcommand("submit", "send a grid spec to the coordinator; prints the experiment id");
  cmd->add_option("spec", options->spec_path, "grid spec YAML file")->required();
  cmd->add_flag("--rerun", options->rerun,
                "train every trial, even those whose identical config already completed");
  cmd->add_flag("--wait", options->wait,
                "follow the experiment to the end (as `gridrun watch`); exit 0 only if every "
                "trial COMPLETE");
  AddSetOption(cmd, &options->sets);
  cmd->add_option("--max-torchscript-bytes", options->max_torchscript_bytes,
                  "largest TorchScript file a model file may name")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  AddConnectionOptions(cmd, &options->connection);
  AddSlurmSubmitOptions(cmd, &options->slurm);
  cmd->callback([options, &out, &err] {
    options->live = &out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
    const int code = RunSubmit(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
