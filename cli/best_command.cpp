#include "cli/best_command.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "cli/read_only_query.h"
#include "cli/status_command.h"
#include "cli/table_format.h"
#include "coordinator/sqlite_schema.h"

namespace gridrun::cli {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

int RunBest(const BestOptions& options, std::ostream& out, std::ostream& err) {
  auto format = ParseOutputFormat(options.format);
  if (!format.ok()) {
    err << "gridrun best: " << format.status().message() << "\n";
    return 1;
  }
  if (options.metric.empty()) {
    err << "gridrun best: --metric: empty metric name\n";
    return 1;
  }
  auto db = coordinator::OpenReadOnlyDatabase(options.db_path);
  if (!db.ok()) {
    err << "gridrun best: " << db.status().message() << "\n";
    return 1;
  }
  QueryResult result;
  try {
    SQLite::Transaction snapshot(**db);
    SQLite::Statement get(**db,
                          "SELECT experiment_id, name, spec_yaml FROM experiments "
                          "WHERE experiment_id = ?1 OR name = ?1 "
                          "ORDER BY experiment_id = ?1 DESC LIMIT 1");
    get.bind(1, options.experiment);
    if (!get.executeStep()) {
      err << "gridrun best: no experiment '" << options.experiment << "'\n";
      return 1;
    }
    const std::string experiment_id = get.getColumn(0).getString();
    const std::string name = get.getColumn(1).getString();
    const std::string spec_yaml = get.getColumn(2).getString();

    // The newest point of the metric per trial (from the source trial of a
    // reused one), as the view trial_metrics_last shows it: one primary-key
    // probe of metrics_last per trial (docs/BENCHMARKS.md, part 6).
    SQLite::Statement best(
        **db,
        std::string(
            "SELECT t.trial_id, t.number, t.state, l.value, l.step, l.epoch "
            "FROM trials AS t "
            "JOIN metrics_last AS l "
            "  ON l.trial_id = (CASE WHEN t.reused_from != 0 THEN t.reused_from "
            "                        ELSE t.trial_id END) "
            " AND l.name = ?2 "
            "WHERE t.experiment_id = ?1 AND l.value IS NOT NULL "
            "ORDER BY l.value ") +
            (options.maximize ? "DESC" : "ASC") + ", t.number LIMIT 1");
    best.bind(1, experiment_id);
    best.bind(2, options.metric);
    if (!best.executeStep()) {
      // Every (trial, name) with a point has a last point: the view's names are
      // those of any point of the experiment's (source) trials.
      SQLite::Statement names(**db,
                              "SELECT DISTINCT m.name FROM trials AS t "
                              "JOIN metrics AS m "
                              "  ON m.trial_id = (CASE WHEN t.reused_from != 0 THEN t.reused_from "
                              "                        ELSE t.trial_id END) "
                              "WHERE t.experiment_id = ?1 ORDER BY m.name");
      names.bind(1, experiment_id);
      std::vector<std::string> metrics;
      bool exists = false;
      while (names.executeStep()) {
        metrics.push_back(names.getColumn(0).getString());
        exists = exists || metrics.back() == options.metric;
      }
      err << "gridrun best: ";
      if (exists) {
        err << "every trial of experiment '" << name << "' reported metric '" << options.metric
            << "' as NaN\n";
      } else if (metrics.empty()) {
        err << "experiment '" << name << "' has no metric '" << options.metric
            << "'; it has no metrics yet\n";
      } else {
        err << "experiment '" << name << "' has no metric '" << options.metric
            << "'; its metrics: " << Join(metrics) << "\n";
      }
      return 1;
    }
    const int64_t trial_id = best.getColumn(0).getInt64();
    const int64_t number = best.getColumn(1).getInt64();
    const std::string state = best.getColumn(2).getString();
    const double value = best.getColumn(3).getDouble();
    const int64_t step = best.getColumn(4).getInt64();
    const int64_t epoch = best.getColumn(5).getInt64();

    std::map<std::string, std::string> params;
    SQLite::Statement param_rows(**db, "SELECT name, value FROM trial_params WHERE trial_id = ?1");
    param_rows.bind(1, trial_id);
    while (param_rows.executeStep()) {
      params[param_rows.getColumn(0).getString()] = param_rows.getColumn(1).getString();
    }
    std::set<std::string> param_names;
    for (const auto& [param, text] : params) param_names.insert(param);
    const std::vector<std::string> order = OrderParamNames(spec_yaml, param_names);

    const bool people = *format == OutputFormat::kTable;
    result.columns = {"trial_id", "number", "state"};
    std::vector<QueryValue> row = {{QueryValue::Type::kInteger, std::to_string(trial_id)},
                                   {QueryValue::Type::kInteger, std::to_string(number)},
                                   {QueryValue::Type::kText, state}};
    for (const std::string& param : order) {
      result.columns.push_back(param);
      row.push_back(ParamQueryValue(params[param]));
    }
    for (const char* column : {"metric", "value", "step", "epoch"}) {
      result.columns.push_back(column);
    }
    row.push_back({QueryValue::Type::kText, options.metric});
    row.push_back({QueryValue::Type::kReal, people ? ShortNumber(value) : ExactNumber(value)});
    row.push_back({QueryValue::Type::kInteger, std::to_string(step)});
    row.push_back({QueryValue::Type::kInteger, std::to_string(epoch)});
    result.rows.push_back(std::move(row));
  } catch (const std::exception& e) {
    err << "gridrun best: reading " << options.db_path << ": " << e.what() << "\n";
    return 1;
  }
  out << FormatResult(result, *format);
  return 0;
}

void AddBestCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<BestOptions>();
  CLI::App* cmd = app.add_subcommand(
      "best", "show the winning trial of an experiment by the last value of a metric");
  cmd->add_option("--db", options->db_path, "the database file (read-only)")->required();
  cmd->add_option("experiment", options->experiment, "experiment id or name")->required();
  cmd->add_option("--metric", options->metric, "metric name, e.g. fid or test/neg_elbo")
      ->required();
  cmd->add_flag("--max", options->maximize, "the largest value wins (default: the smallest)");
  cmd->add_option("--format", options->format, "table, csv or json")->capture_default_str();
  cmd->callback([options, &out, &err] {
    const int code = RunBest(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
