// Runs user SQL against a gridrun database without any chance of changing it.
//
// Three independent guards: the file is opened SQLITE_OPEN_READONLY; an
// authorizer refuses every action that writes, attaches another database,
// changes a PRAGMA or loads an extension (extension loading is also off); and
// sqlite3_stmt_readonly() must hold for each statement. A row limit and a
// wall-clock limit (via the progress handler) bound what one query may cost.
// Works while the coordinator writes the same file (WAL readers never block
// the writer). Thread-safety: each call opens its own connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun::cli {

struct QueryLimits {
  int64_t max_rows = 10'000;
  int64_t timeout_ms = 10'000;
};

// A cell: SQL NULL is std::nullopt; numbers keep their SQLite text form.
struct QueryValue {
  enum class Type { kNull, kInteger, kReal, kText, kBlob } type = Type::kNull;
  std::string text;  // integer/real as printed, text as is, blob as "<blob N bytes>"
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<QueryValue>> rows;
  bool truncated = false;  // more rows existed than max_rows
};

// INVALID_ARGUMENT for SQL errors and refused statements (naming why),
// NOT_FOUND for a missing database, DEADLINE_EXCEEDED past the time limit.
// Exactly one statement is allowed.
absl::StatusOr<QueryResult> RunReadOnlyQuery(const std::string& db_path, const std::string& sql,
                                             const QueryLimits& limits = {});

}  // namespace gridrun::cli
