// The one conversion between absl::Status (what every gridrun module
// returns) and grpc::Status (what crosses the wire), for the coordinator's
// service adapters and the clients (worker, CLI). The codes correspond 1:1
// (absl::StatusCode and grpc::StatusCode share their numeric values); the
// message is kept. Thread-safe (pure functions).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace gridrun {

// OK stays OK; otherwise same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace gridrun
