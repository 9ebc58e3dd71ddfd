// The CLI's connection to a running coordinator, shared by every subcommand
// that talks gRPC (submit, status, watch, cancel), and ConnectToExperiment,
// their common "connect, then look the experiment up" step.
//
// Flags (each also read from the environment, flag first):
//   --coordinator HOST:PORT   GRIDRUN_COORDINATOR   default 127.0.0.1:50051
//   --token-file FILE         GRIDRUN_TOKEN_FILE    bearer token (first line)
//   --tls-ca FILE             GRIDRUN_TLS_CA        PEM roots: talk TLS
//   --timeout DURATION                              per call, default 10s
//
// Failed calls are turned into one sentence for people by Explain(): an
// unreachable coordinator reads "cannot reach the coordinator at HOST:PORT:
// ...", an unknown experiment "no experiment 'x'", everything else carries
// the coordinator's own message (spec errors name the field and line).
//
// Thread-safety: a CoordinatorConnection may be shared by threads (the stub
// and channel are thread-safe; the rest is immutable after Open).
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::cli {

inline constexpr char kDefaultCoordinatorAddress[] = "127.0.0.1:50051";

struct ConnectionOptions {
  std::string address = kDefaultCoordinatorAddress;  // HOST:PORT
  std::string token_file;                            // "" : no token
  std::string tls_ca_path;                           // "" : plaintext
  std::string timeout = "10s";                       // deadline of each unary call
};

// Adds --coordinator, --token-file, --tls-ca and --timeout (with their
// environment variables) to `command`, writing into `*options`, which must
// outlive the command.
void AddConnectionOptions(CLI::App* command, ConnectionOptions* options);

class CoordinatorConnection {
 public:
  // Reads the token file and builds the channel; does not contact the
  // coordinator (the first call does). INVALID_ARGUMENT for an empty address
  // or a bad --timeout; FAILED_PRECONDITION when the token file or the TLS CA
  // file cannot be read or is empty (the message names the file).
  static absl::StatusOr<std::unique_ptr<CoordinatorConnection>> Open(
      const ConnectionOptions& options);

  v1::GridService::Stub& grid() { return *grid_; }
  const std::string& address() const { return client_.address; }
  int64_t timeout_ms() const { return timeout_ms_; }

  // A context carrying the token and a deadline timeout_ms() from now.
  std::unique_ptr<grpc::ClientContext> NewCallContext() const;
  // A context carrying the token and no deadline, for long-lived streams.
  std::unique_ptr<grpc::ClientContext> NewStreamContext() const;

  // One line (no newline) saying why a call failed. `experiment` is the id
  // or name the call was about: NOT_FOUND then reads "no experiment 'x'".
  // UNAVAILABLE and DEADLINE_EXCEEDED read "cannot reach the coordinator at
  // HOST:PORT: <detail>"; UNAUTHENTICATED "the coordinator at HOST:PORT
  // refused the call: <detail>"; anything else is the coordinator's message.
  std::string Explain(const grpc::Status& status, const std::string& experiment = "") const;

 private:
  CoordinatorConnection() = default;

  ClientOptions client_;
  int64_t timeout_ms_ = 10'000;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::GridService::Stub> grid_;
};

// A connection together with the experiment a command is about.
struct ExperimentConnection {
  std::unique_ptr<CoordinatorConnection> coordinator;
  v1::Experiment experiment;
};

// The prologue of every command about one experiment (status EXP, watch,
// cancel): opens a connection and fetches `experiment_ref` (id or name) with
// GetExperiment. Errors: as Open(); otherwise the call's gRPC code with
// Explain()'s sentence as the message ("no experiment 'x'", "cannot reach
// the coordinator at HOST:PORT: ...").
absl::StatusOr<ExperimentConnection> ConnectToExperiment(const ConnectionOptions& options,
                                                         const std::string& experiment_ref);

}  // namespace gridrun::cli
