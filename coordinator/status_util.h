// Maps absl::Status (what every coordinator module returns) to grpc::Status
// (what the service adapters send). The codes correspond 1:1; only the
// adapters call this. Thread-safe (pure functions).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

// In a gRPC handler: return the mapped status when `expr` (an absl::Status)
// is not OK.
#define RETURN_GRPC_IF_ERROR(expr)                                          \
  do {                                                                     \
    const absl::Status _gridrun_status = (expr);                           \
    if (!_gridrun_status.ok()) return ::gridrun::coordinator::ToGrpcStatus(_gridrun_status); \
  } while (0)

namespace gridrun::coordinator {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace gridrun::coordinator
