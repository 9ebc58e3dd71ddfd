#include "cli/cancel_command.h"

#include <cstdint>
#include <memory>

namespace gridrun::cli {
namespace {

std::string Trials(int64_t n, const char* adjective) {
  return std::to_string(n) + " " + adjective + (n == 1 ? " trial" : " trials");
}

}  // namespace

int RunCancel(const CancelOptions& options, std::ostream& out, std::ostream& err) {
  // Look it up first: the id and name for the message, NOT_FOUND early.
  auto connected = ConnectToExperiment(options.connection, options.experiment);
  if (!connected.ok()) {
    err << "gridrun cancel: " << connected.status().message() << "\n";
    return 1;
  }
  CoordinatorConnection& coordinator = *connected->coordinator;
  const v1::Experiment& experiment = connected->experiment;
  v1::CancelExperimentRequest request;
  request.set_experiment_id(experiment.experiment_id());
  v1::CancelExperimentResponse response;
  const grpc::Status status =
      coordinator.grid().CancelExperiment(coordinator.NewCallContext().get(), request, &response);
  if (!status.ok()) {
    err << "gridrun cancel: " << coordinator.Explain(status, options.experiment) << "\n";
    return 1;
  }
  out << "cancelled " << experiment.experiment_id() << " '" << experiment.name() << "': ";
  if (response.cancelled_waiting() == 0 && response.stopping_running() == 0) {
    out << "no waiting or running trials left\n";
  } else {
    out << Trials(response.cancelled_waiting(), "waiting") << " cancelled, "
        << Trials(response.stopping_running(), "running") << " told to stop\n";
  }
  return 0;
}

void AddCancelCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<CancelOptions>();
  CLI::App* cmd =
      app.add_subcommand("cancel",
                         "cancel an experiment: waiting trials at once, running ones at their next "
                         "heartbeat");
  cmd->add_option("experiment", options->experiment, "experiment id or name")->required();
  AddConnectionOptions(cmd, &options->connection);
  cmd->callback([options, &out, &err] {
    const int code = RunCancel(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
