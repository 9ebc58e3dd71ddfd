#include "cli/read_only_query.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>

#include "absl/status/status.h"

namespace gridrun::cli {
namespace {

struct Guard {
  std::string refused;  // first refused action, for the error message
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;
};

// Allows reading only. Called by SQLite while it compiles a statement.
int Authorize(void* user, int action, const char* arg1, const char* arg2,
              const char* /*db*/, const char* /*trigger*/) {
  auto* guard = static_cast<Guard*>(user);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_PRAGMA:
      // Reading a few harmless pragmas is fine; setting any is not (a
      // setting arrives with its value in arg2).
      if (arg1 != nullptr && arg2 == nullptr && (std::string(arg1) == "table_info" ||
                              std::string(arg1) == "table_list" ||
                              std::string(arg1) == "index_list" ||
                              std::string(arg1) == "user_version")) {
        return SQLITE_OK;
      }
      guard->refused = std::string("PRAGMA ") + (arg1 ? arg1 : "");
      return SQLITE_DENY;
    case SQLITE_ATTACH:
      guard->refused = "ATTACH";
      return SQLITE_DENY;
    default:
      if (guard->refused.empty()) guard->refused = "a statement that writes";
      return SQLITE_DENY;
  }
}

int Progress(void* user) {
  auto* guard = static_cast<Guard*>(user);
  if (std::chrono::steady_clock::now() > guard->deadline) {
    guard->timed_out = true;
    return 1;  // interrupt
  }
  return 0;
}

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

}  // namespace

absl::StatusOr<QueryResult> RunReadOnlyQuery(const std::string& db_path, const std::string& sql,
                                             const QueryLimits& limits) {
  struct stat info;
  if (::stat(db_path.c_str(), &info) != 0) {
    return absl::NotFoundError("database " + db_path + " does not exist");
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, CloseDb> db(raw);
  if (rc != SQLITE_OK) {
    return absl::InvalidArgumentError("cannot open " + db_path + ": " +
                                      (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_busy_timeout(db.get(), static_cast<int>(limits.timeout_ms));

  Guard guard;
  guard.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.timeout_ms);
  sqlite3_set_authorizer(db.get(), Authorize, &guard);
  sqlite3_progress_handler(db.get(), 1000, Progress, &guard);

  sqlite3_stmt* raw_stmt = nullptr;
  const char* tail = nullptr;
  rc = sqlite3_prepare_v2(db.get(), sql.c_str(), static_cast<int>(sql.size()), &raw_stmt, &tail);
  std::unique_ptr<sqlite3_stmt, FinalizeStmt> stmt(raw_stmt);
  if (rc != SQLITE_OK) {
    if (!guard.refused.empty()) {
      return absl::InvalidArgumentError("refused: " + guard.refused +
                                        " (queries are read-only; the database was not changed)");
    }
    return absl::InvalidArgumentError(std::string("SQL error: ") + sqlite3_errmsg(db.get()));
  }
  if (stmt == nullptr) return absl::InvalidArgumentError("SQL error: empty query");
  if (tail != nullptr) {
    std::string rest(tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string::npos) {
      return absl::InvalidArgumentError("SQL error: only one statement per query is allowed");
    }
  }
  if (!sqlite3_stmt_readonly(stmt.get())) {
    return absl::InvalidArgumentError(
        "refused: a statement that writes (queries are read-only; the database was not changed)");
  }

  QueryResult result;
  const int columns = sqlite3_column_count(stmt.get());
  for (int c = 0; c < columns; ++c) result.columns.push_back(sqlite3_column_name(stmt.get(), c));
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (static_cast<int64_t>(result.rows.size()) >= limits.max_rows) {
      result.truncated = true;
      break;
    }
    std::vector<QueryValue> row(columns);
    for (int c = 0; c < columns; ++c) {
      QueryValue& v = row[c];
      switch (sqlite3_column_type(stmt.get(), c)) {
        case SQLITE_NULL: v.type = QueryValue::Type::kNull; break;
        case SQLITE_INTEGER: v.type = QueryValue::Type::kInteger; break;
        case SQLITE_FLOAT: v.type = QueryValue::Type::kReal; break;
        case SQLITE_BLOB:
          v.type = QueryValue::Type::kBlob;
          v.text = "<blob " + std::to_string(sqlite3_column_bytes(stmt.get(), c)) + " bytes>";
          continue;
        default: v.type = QueryValue::Type::kText; break;
      }
      if (v.type != QueryValue::Type::kNull) {
        const unsigned char* text = sqlite3_column_text(stmt.get(), c);
        v.text = text ? reinterpret_cast<const char*>(text) : "";
      }
    }
    result.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    if (guard.timed_out) {
      return absl::DeadlineExceededError("query stopped after the time limit of " +
                                         std::to_string(limits.timeout_ms) + " ms");
    }
    return absl::InvalidArgumentError(std::string("SQL error: ") + sqlite3_errmsg(db.get()));
  }
  return result;
}

}  // namespace gridrun::cli
