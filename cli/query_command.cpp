#include "cli/query_command.h"

#include "cli/table_format.h"
#include "common/duration.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {

int RunQuery(const QueryOptions& options, std::ostream& out, std::ostream& err) {
  auto format = ParseOutputFormat(options.format);
  if (!format.ok()) {
    err << "gridrun query: " << format.status().message() << "\n";
    return 1;
  }
  auto timeout = ParseDurationMs(options.timeout);
  if (!timeout.ok()) {
    err << "gridrun query: --timeout: " << timeout.status().message() << "\n";
    return 1;
  }
  if (options.max_rows < 1) {
    err << "gridrun query: --max-rows must be at least 1\n";
    return 1;
  }
  auto result = coordinator::QueryDatabaseFile(
      options.db_path, options.sql, coordinator::QueryLimits{options.max_rows, *timeout});
  if (!result.ok()) {
    err << "gridrun query: " << result.status().message() << "\n";
    return 1;
  }
  out << FormatResult(*result, *format);
  if (result->truncated && *format != OutputFormat::kTable) {
    err << "gridrun query: output truncated at " << result->rows.size()
        << " rows (raise --max-rows)\n";
  }
  return 0;
}

void AddQueryCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<QueryOptions>();
  CLI::App* cmd = app.add_subcommand(
      "query", "run one read-only SQL statement on a gridrun database and print the rows");
  cmd->add_option("--db", options->db_path, "the database file")->required();
  cmd->add_option("sql", options->sql, "the SQL statement (SELECT ...)")->required();
  cmd->add_option("--format", options->format, "table, csv or json")->capture_default_str();
  cmd->add_option("--max-rows", options->max_rows, "stop after this many rows")
      ->capture_default_str();
  cmd->add_option("--timeout", options->timeout, "stop the query after this long")
      ->capture_default_str();
  cmd->callback([options, &out, &err] {
    const int code = RunQuery(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
