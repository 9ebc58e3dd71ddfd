// The guarded read-only SQL engine: one statement, an authorizer that lets
// only reads through, row and time limits.
#include "coordinator/read_only_query.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gridrun::coordinator {
namespace {

// Pragmas a query may run. The schema pragmas take a table or index name
// as their argument; the value pragmas only report (`PRAGMA x = v` would set
// one and is refused). Every other pragma is refused.
constexpr std::string_view kSchemaPragmas[] = {"table_info",      "table_xinfo", "table_list",
                                               "index_list",      "index_info",  "index_xinfo",
                                               "foreign_key_list"};
constexpr std::string_view kValuePragmas[] = {"user_version", "application_id", "schema_version",
                                              "foreign_keys", "synchronous",    "page_size",
                                              "page_count",   "freelist_count", "encoding"};

bool Listed(std::string_view name, const auto& list) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

// What one guarded query is doing: the first action the authorizer refused
// (for the message) and the deadline the progress handler enforces.
struct QueryGuard {
  std::string refused;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;
};

// Allows reading only: plain SELECTs, functions other than load_extension(),
// and the pragmas above. Called by SQLite while it compiles a statement.
int ReadOnlyAuthorizer(void* user, int action, const char* arg1, const char* arg2,
                       const char* /*database*/, const char* /*trigger*/) {
  auto* guard = static_cast<QueryGuard*>(user);
  auto refuse = [guard](std::string what) {
    if (guard->refused.empty()) guard->refused = std::move(what);
    return SQLITE_DENY;
  };
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_FUNCTION:
      if (arg2 != nullptr && absl::AsciiStrToLower(arg2) == "load_extension") {
        return refuse("load_extension()");
      }
      return SQLITE_OK;
    case SQLITE_PRAGMA: {
      const std::string name = absl::AsciiStrToLower(arg1 != nullptr ? arg1 : "");
      if (Listed(name, kSchemaPragmas) || (arg2 == nullptr && Listed(name, kValuePragmas))) {
        return SQLITE_OK;
      }
      return refuse("PRAGMA " + name);
    }
    case SQLITE_ATTACH:
      return refuse("ATTACH");
    default:
      return refuse("a statement that writes");
  }
}

int QueryProgress(void* user) {
  auto* guard = static_cast<QueryGuard*>(user);
  if (std::chrono::steady_clock::now() > guard->deadline) {
    guard->timed_out = true;
    return 1;  // interrupts the statement
  }
  return 0;
}

std::string RefusedMessage(const std::string& what) {
  return absl::StrCat("refused: ", what, " (queries are read-only; the database was not changed)");
}

// SQL mistakes and refusals are the caller's (INVALID_ARGUMENT); anything
// else (I/O, corruption) is INTERNAL.
absl::Status QueryError(int rc, sqlite3* handle, const QueryGuard& guard) {
  if (!guard.refused.empty()) return absl::InvalidArgumentError(RefusedMessage(guard.refused));
  const std::string message = absl::StrCat("SQL error: ", sqlite3_errmsg(handle));
  if ((rc & 0xff) == SQLITE_ERROR || (rc & 0xff) == SQLITE_AUTH) {
    return absl::InvalidArgumentError(message);
  }
  return absl::InternalError(message);
}

struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// Installs the authorizer (while compiling) or the progress handler (while
// stepping) on a connection for one scope; the connection may be the store's
// own, so both are removed again.
class ScopedAuthorizer {
 public:
  ScopedAuthorizer(sqlite3* handle, QueryGuard* guard) : handle_(handle) {
    sqlite3_set_authorizer(handle_, ReadOnlyAuthorizer, guard);
  }
  ~ScopedAuthorizer() { sqlite3_set_authorizer(handle_, nullptr, nullptr); }

 private:
  sqlite3* handle_;
};

class ScopedProgressHandler {
 public:
  ScopedProgressHandler(sqlite3* handle, QueryGuard* guard) : handle_(handle) {
    sqlite3_progress_handler(handle_, 1000, QueryProgress, guard);
  }
  ~ScopedProgressHandler() { sqlite3_progress_handler(handle_, 0, nullptr, nullptr); }

 private:
  sqlite3* handle_;
};

// Compiles the one statement of `sql`: INVALID_ARGUMENT when it does not
// compile, is refused, is empty, or is followed by another statement.
absl::StatusOr<StatementPtr> PrepareOneReadOnly(sqlite3* handle, const std::string& sql,
                                                QueryGuard* guard) {
  ScopedAuthorizer authorizer(handle, guard);
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(handle, sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
  StatementPtr stmt(raw);
  if (rc != SQLITE_OK) return QueryError(rc, handle, *guard);
  if (stmt == nullptr) return absl::InvalidArgumentError("SQL error: empty query");
  // Whatever follows may only be blanks, ';' and comments.
  QueryGuard tail_guard;
  sqlite3_set_authorizer(handle, ReadOnlyAuthorizer, &tail_guard);
  while (tail != nullptr && *tail != '\0') {
    sqlite3_stmt* next_raw = nullptr;
    rc = sqlite3_prepare_v2(handle, tail, -1, &next_raw, &tail);
    StatementPtr next(next_raw);
    if (rc != SQLITE_OK || next != nullptr) {
      return absl::InvalidArgumentError("SQL error: only one statement per query is allowed");
    }
  }
  if (sqlite3_stmt_readonly(stmt.get()) == 0) {
    return absl::InvalidArgumentError(RefusedMessage("a statement that writes"));
  }
  return stmt;
}

SqlValue CellOf(sqlite3_stmt* stmt, int column) {
  SqlValue cell;
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_NULL:
      return cell;
    case SQLITE_INTEGER:
      cell.type = SqlValue::Type::kInteger;
      break;
    case SQLITE_FLOAT:
      cell.type = SqlValue::Type::kReal;
      break;
    case SQLITE_BLOB:
      cell.type = SqlValue::Type::kBlob;
      break;
    default:
      cell.type = SqlValue::Type::kText;
      break;
  }
  // A BLOB's bytes; anything else as text (numbers as SQLite prints them).
  const void* data = cell.type == SqlValue::Type::kBlob
                         ? sqlite3_column_blob(stmt, column)
                         : static_cast<const void*>(sqlite3_column_text(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  if (data != nullptr) cell.text.assign(static_cast<const char*>(data), size);
  return cell;
}

}  // namespace

SqlValue SqlValue::Integer(int64_t value) {
  return SqlValue{Type::kInteger, std::to_string(value)};
}

SqlValue SqlValue::Text(std::string text) { return SqlValue{Type::kText, std::move(text)}; }

std::optional<int64_t> SqlValue::AsInteger() const {
  if (type != Type::kInteger) return std::nullopt;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> SqlValue::AsDouble() const {
  if (type != Type::kInteger && type != Type::kReal) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

absl::StatusOr<QueryResult> RunReadOnlyQuery(SQLite::Database& db, const std::string& sql,
                                             const QueryLimits& limits) {
  sqlite3* handle = db.getHandle();
  QueryGuard guard;
  guard.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.timeout_ms);
  ASSIGN_OR_RETURN(StatementPtr stmt, PrepareOneReadOnly(handle, sql, &guard));

  QueryResult result;
  const int columns = sqlite3_column_count(stmt.get());
  for (int c = 0; c < columns; ++c) result.columns.emplace_back(sqlite3_column_name(stmt.get(), c));
  ScopedProgressHandler progress(handle, &guard);
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (static_cast<int64_t>(result.rows.size()) >= limits.max_rows) {
      result.truncated = true;
      return result;
    }
    std::vector<SqlValue>& row = result.rows.emplace_back();
    row.reserve(columns);
    for (int c = 0; c < columns; ++c) row.push_back(CellOf(stmt.get(), c));
  }
  if (rc != SQLITE_DONE) {
    if (guard.timed_out) {
      return absl::DeadlineExceededError(
          absl::StrCat("query stopped after the time limit of ", limits.timeout_ms, " ms"));
    }
    return QueryError(rc, handle, guard);
  }
  return result;
}

}  // namespace gridrun::coordinator
