#include "cli/report_command.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <set>

#include "cli/status_command.h"
#include "coordinator/grid_spec.h"
#include "coordinator/sqlite_schema.h"

namespace gridrun::cli {
namespace {

// The trial whose metrics and samples a trial shows.
constexpr char kSourceTrial[] =
    "(CASE WHEN t.reused_from != 0 THEN t.reused_from ELSE t.trial_id END)";

double ValueOrNaN(const SQLite::Column& column) {
  return column.isNull() ? std::numeric_limits<double>::quiet_NaN() : column.getDouble();
}

std::string SizeText(uintmax_t bytes) {
  char buffer[32];
  if (bytes < 1024) {
    std::snprintf(buffer, sizeof(buffer), "%ju bytes", bytes);
  } else if (bytes < (1u << 20)) {
    std::snprintf(buffer, sizeof(buffer), "%.1f KiB", bytes / 1024.0);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1f MiB", bytes / 1048576.0);
  }
  return buffer;
}

// Fills results->axes/axis_values from the spec (file order), falling back
// to the params' order of first appearance.
void FillAxes(ExperimentResults* results) {
  auto spec = coordinator::ParseGridSpec(results->spec_yaml);
  if (spec.ok()) {
    for (const coordinator::GridAxis& axis : spec->axes) {
      results->axes.push_back(axis.name);
      auto& values = results->axis_values[axis.name];
      for (const coordinator::SpecValue& value : axis.values) {
        values.push_back(coordinator::SpecValueText(value));
      }
    }
  }
  // Values the trials hold that the spec did not list (or no spec at all).
  std::set<std::string> names;
  for (const TrialResults& trial : results->trials) {
    for (const auto& [name, value] : trial.params) names.insert(name);
  }
  for (const std::string& name : names) {
    if (std::find(results->axes.begin(), results->axes.end(), name) == results->axes.end()) {
      results->axes.push_back(name);
    }
  }
  for (const TrialResults& trial : results->trials) {
    for (const auto& [name, value] : trial.params) {
      auto& values = results->axis_values[name];
      if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
    }
  }
}

}  // namespace

absl::StatusOr<ExperimentResults> LoadExperimentResults(const std::string& db_path,
                                                        const std::string& experiment,
                                                        bool with_images) {
  auto db = coordinator::OpenReadOnlyDatabase(db_path);
  if (!db.ok()) return db.status();
  ExperimentResults results;
  try {
    // One read transaction: a consistent snapshot while the coordinator writes.
    SQLite::Transaction snapshot(**db);
    SQLite::Statement get(**db,
                          "SELECT experiment_id, name, status, spec_yaml, created_ms "
                          "FROM experiments WHERE experiment_id = ?1 OR name = ?1 "
                          "ORDER BY experiment_id = ?1 DESC LIMIT 1");
    get.bind(1, experiment);
    if (!get.executeStep()) {
      return absl::NotFoundError("no experiment '" + experiment + "'");
    }
    results.experiment_id = get.getColumn(0).getString();
    results.name = get.getColumn(1).getString();
    results.status = get.getColumn(2).getString();
    results.spec_yaml = get.getColumn(3).getString();
    results.created_ms = get.getColumn(4).getInt64();

    std::map<int64_t, size_t> index;  // trial_id -> position in results.trials
    SQLite::Statement trials(**db,
                             "SELECT trial_id, number, state, attempt, reused_from, error "
                             "FROM trials WHERE experiment_id = ?1 ORDER BY number");
    trials.bind(1, results.experiment_id);
    while (trials.executeStep()) {
      TrialResults trial;
      trial.trial_id = trials.getColumn(0).getInt64();
      trial.number = trials.getColumn(1).getInt64();
      trial.state = trials.getColumn(2).getString();
      trial.attempt = trials.getColumn(3).getInt();
      trial.reused_from = trials.getColumn(4).getInt64();
      trial.error = trials.getColumn(5).getString();
      index[trial.trial_id] = results.trials.size();
      results.trials.push_back(std::move(trial));
    }

    SQLite::Statement params(**db,
                             "SELECT p.trial_id, p.name, p.value FROM trial_params AS p "
                             "JOIN trials AS t ON t.trial_id = p.trial_id "
                             "WHERE t.experiment_id = ?1");
    params.bind(1, results.experiment_id);
    while (params.executeStep()) {
      results.trials[index.at(params.getColumn(0).getInt64())]
          .params[params.getColumn(1).getString()] = params.getColumn(2).getString();
    }

    // Last values (the view already follows reuse), then metrics reported
    // only with CompleteTrial.
    SQLite::Statement last(**db,
                           "SELECT l.trial_id, l.name, l.value FROM trial_metrics_last AS l "
                           "JOIN trials AS t ON t.trial_id = l.trial_id "
                           "WHERE t.experiment_id = ?1");
    last.bind(1, results.experiment_id);
    while (last.executeStep()) {
      results.trials[index.at(last.getColumn(0).getInt64())]
          .last_metrics[last.getColumn(1).getString()] = ValueOrNaN(last.getColumn(2));
    }
    SQLite::Statement finals(**db, std::string("SELECT t.trial_id, f.name, f.value "
                                               "FROM trials AS t JOIN final_metrics AS f "
                                               "ON f.trial_id = ") +
                                       kSourceTrial + " WHERE t.experiment_id = ?1");
    finals.bind(1, results.experiment_id);
    while (finals.executeStep()) {
      results.trials[index.at(finals.getColumn(0).getInt64())].last_metrics.emplace(
          finals.getColumn(1).getString(), ValueOrNaN(finals.getColumn(2)));
    }

    SQLite::Statement points(**db, std::string("SELECT t.trial_id, m.name, m.step, m.epoch, "
                                               "m.value FROM trials AS t JOIN metrics AS m "
                                               "ON m.trial_id = ") +
                                       kSourceTrial +
                                       " WHERE t.experiment_id = ?1 "
                                       "ORDER BY t.number, m.name, m.step");
    points.bind(1, results.experiment_id);
    while (points.executeStep()) {
      MetricSample point;
      point.step = points.getColumn(2).getInt64();
      point.epoch = points.getColumn(3).getInt64();
      if (!points.getColumn(4).isNull()) point.value = points.getColumn(4).getDouble();
      results.trials[index.at(points.getColumn(0).getInt64())]
          .series[points.getColumn(1).getString()]
          .push_back(point);
    }

    SQLite::Statement samples(
        **db, std::string("SELECT t.trial_id, s.name, s.step, s.epoch, s.rows, s.cols, ") +
                  (with_images ? "s.png" : "NULL") +
                  " FROM trials AS t JOIN samples AS s ON s.trial_id = " + kSourceTrial +
                  " WHERE t.experiment_id = ?1 ORDER BY t.number, s.name, s.step");
    samples.bind(1, results.experiment_id);
    while (samples.executeStep()) {
      SampleImage image;
      image.name = samples.getColumn(1).getString();
      image.step = samples.getColumn(2).getInt64();
      image.epoch = samples.getColumn(3).getInt64();
      image.rows = samples.getColumn(4).getInt();
      image.cols = samples.getColumn(5).getInt();
      if (with_images) image.png = samples.getColumn(6).getString();
      results.trials[index.at(samples.getColumn(0).getInt64())].samples.push_back(std::move(image));
    }
  } catch (const std::exception& e) {
    return absl::InternalError("reading experiment '" + experiment + "' from " + db_path + ": " +
                               e.what());
  }
  FillAxes(&results);
  return results;
}

int RunReport(const ReportCommandOptions& options, std::ostream& out, std::ostream& err) {
  auto results = LoadExperimentResults(options.db_path, options.experiment, /*with_images=*/true);
  if (!results.ok()) {
    err << "gridrun report: " << results.status().message() << "\n";
    return 1;
  }
  ReportOptions report;
  report.heatmap_metric = options.heatmap_metric;
  report.x_axis = options.x_axis;
  report.y_axis = options.y_axis;
  report.generated_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  auto html = RenderReportHtml(*results, report);
  if (!html.ok()) {
    err << "gridrun report: " << html.status().message() << "\n";
    return 1;
  }
  {
    std::ofstream file(options.out_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "gridrun report: cannot write " << options.out_path << ": " << std::strerror(errno)
          << "\n";
      return 1;
    }
    file << *html;
    file.close();
    if (!file) {
      err << "gridrun report: cannot write " << options.out_path << ": " << std::strerror(errno)
          << "\n";
      return 1;
    }
  }
  size_t images = 0;
  for (const TrialResults& trial : results->trials) images += trial.samples.size();
  out << "wrote " << options.out_path << " (" << results->trials.size() << " trials, "
      << results->MetricNames().size() << " metrics, " << images << " sample images, "
      << SizeText(html->size()) << ")\n";
  return 0;
}

void AddReportCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<ReportCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "write a self-contained HTML report of an experiment (tables, learning curves, "
      "sample grids, heat map)");
  cmd->add_option("--db", options->db_path, "the database file (read-only)")->required();
  cmd->add_option("experiment", options->experiment, "experiment id or name")->required();
  cmd->add_option("--out", options->out_path, "the HTML file to write")->required();
  cmd->add_option("--heatmap-metric", options->heatmap_metric,
                  "metric of the heat map (default: the first of fid, test/neg_elbo, loss/total)");
  cmd->add_option("--x", options->x_axis,
                  "grid axis across the heat map (default: the first with several values)");
  cmd->add_option("--y", options->y_axis, "grid axis down the heat map (default: the next one)");
  cmd->callback([options, &out, &err] {
    const int code = RunReport(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
