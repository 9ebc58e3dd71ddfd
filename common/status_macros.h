// Status propagation: RETURN_IF_ERROR and ASSIGN_OR_RETURN.
//
// The one spelling of "if this failed, hand the failure to my caller" for
// absl::Status and absl::StatusOr at module boundaries (absl does not ship
// these macros in Debian 12's abseil; they follow the shape of the ones in
// Abseil's internal status_macros.h and gRPC's).
//
//   RETURN_IF_ERROR(store.Begin());             // returns the Status
//   ASSIGN_OR_RETURN(int64_t id, store.Find(n));  // declares id, or returns
//   ASSIGN_OR_RETURN(existing, store.Find(n));    // assigns to an existing name
//
// Both work in functions returning absl::Status or absl::StatusOr<T> (a
// Status converts to either). The expression is evaluated exactly once.
// Thread-safety: macros only; no state.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GRIDRUN_STATUS_CONCAT_INNER(a, b) a##b
#define GRIDRUN_STATUS_CONCAT(a, b) GRIDRUN_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// if it is not OK.
#define RETURN_IF_ERROR(expr)                                     \
  do {                                                            \
    ::absl::Status gridrun_status_macro_status = (expr);          \
    if (!gridrun_status_macro_status.ok()) {                      \
      return gridrun_status_macro_status;                         \
    }                                                             \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status from the
// enclosing function if it is not OK, otherwise moves its value into `lhs`
// (a declaration such as `auto x` or `int64_t id`, or an existing lvalue).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                              \
  GRIDRUN_ASSIGN_OR_RETURN_IMPL(GRIDRUN_STATUS_CONCAT(gridrun_statusor_, __LINE__), \
                                lhs, rexpr)

#define GRIDRUN_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()
