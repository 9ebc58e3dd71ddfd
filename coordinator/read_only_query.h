// The one guarded read-only SQL engine of gridrun (`gridrun query`,
// ResultsReader::Query, SqliteTrialStore::Query) and its one result type,
// QueryResult of SqlValue cells, which the CLI's printed tables use too.
//
// Thread-safety: RunReadOnlyQuery uses the connection it is given, which must
// be used by one thread at a time; the types are plain values.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun::coordinator {

// One cell of a query result, or of a table the CLI prints.
struct SqlValue {
  enum class Type { kNull, kInteger, kReal, kText, kBlob };
  Type type = Type::kNull;
  // kInteger, kReal: the number as text (as SQLite prints it in a query
  // result: REAL with 15 significant digits); kText: the text; kBlob: the
  // bytes; kNull: empty.
  std::string text;

  static SqlValue Integer(int64_t value);
  static SqlValue Text(std::string text);
  bool is_null() const { return type == Type::kNull; }
  // The value of a kInteger cell; std::nullopt for any other cell.
  std::optional<int64_t> AsInteger() const;
  // The value of a kInteger or kReal cell; std::nullopt for any other cell.
  std::optional<double> AsDouble() const;
};

// The one result type of ad-hoc SQL (and of the CLI's printed tables).
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
  bool truncated = false;  // more rows existed than QueryLimits::max_rows
};

// What one ad-hoc query may cost.
struct QueryLimits {
  int64_t max_rows = 10'000;
  int64_t timeout_ms = 10'000;
};

// THE guarded read-only SQL engine (`gridrun query`, ResultsReader::Query,
// SqliteTrialStore::Query). Runs exactly one statement of `sql` (a trailing
// ';' and comments are fine) and returns its rows, at most limits.max_rows
// (then `truncated`). While compiling, an authorizer allows only SELECT,
// reading tables, functions other than load_extension(), and these pragmas:
// table_info, table_xinfo, table_list, index_list, index_info, index_xinfo,
// foreign_key_list (with their table/index argument) and, read without a
// value, user_version, application_id, schema_version, foreign_keys,
// synchronous, page_size, page_count, freelist_count, encoding. Writes,
// schema changes, transactions, ATTACH, setting any pragma and loading
// extensions are refused, and sqlite3_stmt_readonly() must hold. Safe on a
// read-write connection: the authorizer and the progress handler are
// removed again before returning. Errors:
//   INVALID_ARGUMENT   "SQL error: <SQLite's message>", "SQL error: empty
//                      query", "SQL error: only one statement per query is
//                      allowed", "refused: <what> (queries are read-only;
//                      the database was not changed)";
//   DEADLINE_EXCEEDED  "query stopped after the time limit of N ms";
//   INTERNAL           storage errors (I/O, corruption).
absl::StatusOr<QueryResult> RunReadOnlyQuery(SQLite::Database& db, const std::string& sql,
                                             const QueryLimits& limits = {});

}  // namespace gridrun::coordinator
