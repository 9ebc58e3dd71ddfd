#include "cli/best_command.h"

#include <memory>
#include <set>
#include <vector>

#include "cli/status_command.h"
#include "cli/table_format.h"
#include "common/status_macros.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {
namespace {

// The winning trial as one table row: its id, number, state, params (grid
// axes in the spec's order), then the metric's name, last value, step and
// epoch.
QueryResult BestRow(const coordinator::BestTrialResult& best, const std::string& metric,
                    bool for_people) {
  std::set<std::string> param_names;
  for (const auto& [param, text] : best.trial.params) param_names.insert(param);
  QueryResult result;
  result.columns = {"trial_id", "number", "state"};
  std::vector<SqlValue> row = {SqlValue::Integer(best.trial.trial_id),
                               SqlValue::Integer(best.trial.number),
                               SqlValue::Text(best.trial.state)};
  for (const std::string& param : OrderParamNames(best.experiment.spec_yaml, param_names)) {
    result.columns.push_back(param);
    row.push_back(ParamQueryValue(best.trial.params.at(param)));
  }
  for (const char* column : {"metric", "value", "step", "epoch"}) {
    result.columns.push_back(column);
  }
  row.push_back(SqlValue::Text(metric));
  row.push_back(
      {SqlValue::Type::kReal, for_people ? ShortNumber(best.value) : ExactNumber(best.value)});
  row.push_back(SqlValue::Integer(best.step));
  row.push_back(SqlValue::Integer(best.epoch));
  result.rows.push_back(std::move(row));
  return result;
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
  absl::StatusOr<coordinator::BestTrialResult> best =
      [&]() -> absl::StatusOr<coordinator::BestTrialResult> {
    ASSIGN_OR_RETURN(auto reader, coordinator::ResultsReader::Open(options.db_path));
    return reader->BestTrial(options.experiment, options.metric, options.maximize);
  }();
  if (!best.ok()) {
    err << "gridrun best: " << best.status().message() << "\n";
    return 1;
  }
  out << FormatResult(BestRow(*best, options.metric, *format == OutputFormat::kTable), *format);
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
