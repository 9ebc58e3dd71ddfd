// RETURN_GRPC_IF_ERROR for the coordinator's gRPC handlers. The status
// conversion itself (ToGrpcStatus / FromGrpcStatus) is proto/status_convert.h,
// shared with the clients. Thread-safe (a macro over pure functions).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "proto/status_convert.h"

// In a gRPC handler: return the mapped status when `expr` (an absl::Status)
// is not OK.
#define RETURN_GRPC_IF_ERROR(expr)                                          \
  do {                                                                     \
    const absl::Status _gridrun_status = (expr);                           \
    if (!_gridrun_status.ok()) return ::gridrun::ToGrpcStatus(_gridrun_status); \
  } while (0)
