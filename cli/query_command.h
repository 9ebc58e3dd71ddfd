// `gridrun query --db FILE "SQL" [--format table|csv|json]`: runs one
// read-only SQL statement against a gridrun database -- or any SQLite file --
// through coordinator::QueryDatabaseFile (results_reader.h; the guards are
// RunReadOnlyQuery's in coordinator/read_only_query.h) and prints the rows.
//
//   $ gridrun query --db runs.db "SELECT trial_id, state FROM trials LIMIT 2"
//   trial_id  state
//   --------  --------
//          1  COMPLETE
//          2  RUNNING
//
// Exit codes: 0 success, 1 refused/bad SQL/missing database (reason on the
// error stream, database unchanged). Thread-safety: as RunValidate.
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace gridrun::cli {

struct QueryOptions {
  std::string db_path;
  std::string sql;
  std::string format = "table";
  int64_t max_rows = 10'000;
  std::string timeout = "10s";
};

int RunQuery(const QueryOptions& options, std::ostream& out, std::ostream& err);

void AddQueryCommand(CLI::App& app, std::ostream& out = std::cout,
                     std::ostream& err = std::cerr);

}  // namespace gridrun::cli
