#include "cli/coordinator_connection.h"

#include <chrono>
#include <exception>

#include "absl/status/status.h"
#include "common/duration.h"
#include "common/status_macros.h"

namespace gridrun::cli {

void AddConnectionOptions(CLI::App* command, ConnectionOptions* options) {
  command->add_option("--coordinator", options->address, "coordinator HOST:PORT")
      ->envname("GRIDRUN_COORDINATOR")
      ->capture_default_str();
  command
      ->add_option("--token-file", options->token_file,
                   "file whose first line is the coordinator's bearer token")
      ->envname("GRIDRUN_TOKEN_FILE");
  command
      ->add_option("--tls-ca", options->tls_ca_path,
                   "PEM CA certificates: talk TLS and verify the coordinator with them")
      ->envname("GRIDRUN_TLS_CA");
  command
      ->add_option("--timeout", options->timeout,
                   "give up on a coordinator call after this long (e.g. 10s, 500ms)")
      ->capture_default_str();
}

absl::StatusOr<std::unique_ptr<CoordinatorConnection>> CoordinatorConnection::Open(
    const ConnectionOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        "--coordinator: empty address (give HOST:PORT or set GRIDRUN_COORDINATOR)");
  }
  auto timeout = ParseDurationMs(options.timeout);
  if (!timeout.ok()) {
    return absl::InvalidArgumentError("--timeout: " + std::string(timeout.status().message()));
  }
  if (*timeout <= 0) return absl::InvalidArgumentError("--timeout: must be positive");
  std::unique_ptr<CoordinatorConnection> connection(new CoordinatorConnection());
  connection->timeout_ms_ = *timeout;
  connection->client_.address = options.address;
  connection->client_.tls_ca_path = options.tls_ca_path;
  try {
    connection->client_.token = LoadToken(options.token_file);
    connection->channel_ = CreateCoordinatorChannel(connection->client_);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(e.what());
  }
  connection->grid_ = v1::GridService::NewStub(connection->channel_);
  return connection;
}

std::unique_ptr<grpc::ClientContext> CoordinatorConnection::NewCallContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  PrepareContext(context.get(), client_, std::chrono::milliseconds(timeout_ms_));
  return context;
}

std::unique_ptr<grpc::ClientContext> CoordinatorConnection::NewStreamContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!client_.token.empty()) context->AddMetadata("authorization", "Bearer " + client_.token);
  return context;
}

std::string CoordinatorConnection::Explain(const grpc::Status& status,
                                           const std::string& experiment) const {
  const std::string& detail = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return "cannot reach the coordinator at " + client_.address + ": " + detail +
             " (is gridrun-coordinator running there? see --coordinator / GRIDRUN_COORDINATOR)";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "cannot reach the coordinator at " + client_.address + ": no answer within " +
             std::to_string(timeout_ms_) + " ms (" + detail + ")";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "the coordinator at " + client_.address + " refused the call: " + detail;
    case grpc::StatusCode::NOT_FOUND:
      if (!experiment.empty()) return "no experiment '" + experiment + "'";
      return detail;
    default:
      return detail.empty() ? "call failed with gRPC status " +
                                  std::to_string(static_cast<int>(status.error_code()))
                            : detail;
  }
}

absl::StatusOr<ExperimentConnection> ConnectToExperiment(const ConnectionOptions& options,
                                                         const std::string& experiment_ref) {
  ExperimentConnection result;
  ASSIGN_OR_RETURN(result.coordinator, CoordinatorConnection::Open(options));
  v1::GetExperimentRequest get;
  get.set_experiment_id(experiment_ref);
  const grpc::Status status = result.coordinator->grid().GetExperiment(
      result.coordinator->NewCallContext().get(), get, &result.experiment);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        result.coordinator->Explain(status, experiment_ref));
  }
  return result;
}

}  // namespace gridrun::cli
