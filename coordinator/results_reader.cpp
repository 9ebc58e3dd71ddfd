// ResultsReader: reads experiments, trials, curves, samples and the best
// trial from a read-only gridrun database, following `trial_source` for
// reused trials.
#include "coordinator/results_reader.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <nlohmann/json.hpp>
#include "common/status_macros.h"
#include "coordinator/grid_spec.h"
#include "coordinator/results_reader_internal.h"
#include "coordinator/sqlite_schema.h"

namespace gridrun::coordinator {
namespace {

using reader_internal::kSqlParamsOfTrial;
using reader_internal::NoExperiment;
using reader_internal::ValueOrNaN;

constexpr char kSqlFindExperiment[] =
    "SELECT experiment_id, name, status, spec_yaml, created_ms, search_json FROM experiments "
    "WHERE experiment_id = ?1 OR name = ?1 ORDER BY experiment_id = ?1 DESC LIMIT 1";

constexpr char kSqlModelFiles[] = "SELECT model_files_json FROM experiments WHERE experiment_id = ?1";

constexpr char kSqlTrials[] =
    "SELECT trial_id, number, state, attempt, reused_from, error "
    "FROM trials WHERE experiment_id = ?1 ORDER BY number";

constexpr char kSqlParamsOfExperiment[] =
    "SELECT p.trial_id, p.name, p.value FROM trial_params AS p "
    "JOIN trials AS t ON t.trial_id = p.trial_id WHERE t.experiment_id = ?1";


// Last values: trial_metrics_last already follows trial_source.
constexpr char kSqlLastMetrics[] =
    "SELECT l.trial_id, l.name, l.value FROM trial_metrics_last AS l "
    "JOIN trials AS t ON t.trial_id = l.trial_id WHERE t.experiment_id = ?1";

constexpr char kSqlFinalMetrics[] =
    "SELECT t.trial_id, f.name, f.value FROM trials AS t "
    "JOIN trial_source AS s ON s.trial_id = t.trial_id "
    "JOIN final_metrics AS f ON f.trial_id = s.source_trial_id "
    "WHERE t.experiment_id = ?1";

constexpr char kSqlMetricPoints[] =
    "SELECT t.trial_id, m.name, m.step, m.epoch, m.value FROM trials AS t "
    "JOIN trial_source AS s ON s.trial_id = t.trial_id "
    "JOIN metrics AS m ON m.trial_id = s.source_trial_id "
    "WHERE t.experiment_id = ?1 ORDER BY t.number, m.name, m.step";

// ?2: 1 to read the PNG bytes, 0 for names and steps only.
constexpr char kSqlSamples[] =
    "SELECT t.trial_id, x.name, x.step, x.epoch, x.rows, x.cols, "
    "       CASE WHEN ?2 THEN x.png END FROM trials AS t "
    "JOIN trial_source AS s ON s.trial_id = t.trial_id "
    "JOIN samples AS x ON x.trial_id = s.source_trial_id "
    "WHERE t.experiment_id = ?1 ORDER BY t.number, x.name, x.step";

constexpr char kSqlAttempts[] =
    "SELECT t.trial_id, a.trial_id, a.attempt, a.worker_id, a.environment_json, a.started_ms "
    "FROM trials AS t JOIN trial_source AS s ON s.trial_id = t.trial_id "
    "JOIN trial_attempts AS a ON a.trial_id = s.source_trial_id "
    "WHERE t.experiment_id = ?1 ORDER BY t.number, a.attempt";

// The newest point of one metric per trial: one primary-key probe of
// metrics_last per trial (docs/BENCHMARKS.md, part 6). The order (ASC or
// DESC) and the tie-break follow.
constexpr char kSqlBestByValue[] =
    "SELECT t.trial_id, t.number, t.state, t.attempt, t.reused_from, t.error, "
    "       l.value, l.step, l.epoch FROM trials AS t "
    "JOIN trial_metrics_last AS l ON l.trial_id = t.trial_id AND l.name = ?2 "
    "WHERE t.experiment_id = ?1 AND l.value IS NOT NULL ORDER BY l.value ";

// Every (trial, name) with a point has a last point.
constexpr char kSqlMetricNames[] =
    "SELECT DISTINCT l.name FROM trials AS t "
    "JOIN trial_metrics_last AS l ON l.trial_id = t.trial_id "
    "WHERE t.experiment_id = ?1 ORDER BY l.name";

// Columns 0-5 of kSqlTrials (and of the best-trial queries).
TrialResults TrialOf(SQLite::Statement& row) {
  TrialResults trial;
  trial.trial_id = row.getColumn(0).getInt64();
  trial.number = row.getColumn(1).getInt64();
  trial.state = row.getColumn(2).getString();
  trial.attempt = row.getColumn(3).getInt();
  trial.reused_from = row.getColumn(4).getInt64();
  trial.error = row.getColumn(5).getString();
  return trial;
}

// Fills results->axes/axis_values from the spec and the trials' params.
void FillAxes(ExperimentResults* results) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const TrialResults& trial : results->trials) {
    for (const auto& [name, value] : trial.params) params.emplace_back(name, value);
  }
  reader_internal::FillAxes(results->spec_yaml, params, &results->axes, &results->axis_values);
}

}  // namespace

namespace reader_internal {

double ValueOrNaN(const SQLite::Column& column) {
  return column.isNull() ? std::numeric_limits<double>::quiet_NaN() : column.getDouble();
}

absl::Status NoExperiment(const std::string& id_or_name) {
  return absl::NotFoundError(absl::StrCat("no experiment '", id_or_name, "'"));
}

void FillAxes(const std::string& spec_yaml,
              const std::vector<std::pair<std::string, std::string>>& params,
              std::vector<std::string>* axes,
              std::map<std::string, std::vector<std::string>>* axis_values) {
  // Only the axes are needed: the spec's structure, not its model files.
  GridLimits structure_only;
  structure_only.structure_only = true;
  auto spec = ParseGridSpec(spec_yaml, structure_only);
  if (spec.ok()) {
    for (const GridAxis& axis : spec->axes) {
      axes->push_back(axis.name);
      auto& values = (*axis_values)[axis.name];
      for (const SpecValue& value : axis.values) values.push_back(SpecValueText(value));
    }
  }
  std::set<std::string> names;
  for (const auto& [name, value] : params) names.insert(name);
  for (const std::string& name : names) {
    if (std::find(axes->begin(), axes->end(), name) == axes->end()) axes->push_back(name);
  }
  for (const auto& [name, value] : params) {
    auto& values = (*axis_values)[name];
    if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
  }
}

}  // namespace reader_internal

absl::StatusOr<std::unique_ptr<ResultsReader>> ResultsReader::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SQLite::Database> db, OpenReadOnlyDatabase(path));
  return std::unique_ptr<ResultsReader>(new ResultsReader(std::move(db)));
}

std::optional<ExperimentInfo> ResultsReader::LookUp(const std::string& id_or_name) {
  SQLite::Statement get(*db_, kSqlFindExperiment);
  get.bind(1, id_or_name);
  if (!get.executeStep()) return std::nullopt;
  ExperimentInfo info;
  info.experiment_id = get.getColumn(0).getString();
  info.name = get.getColumn(1).getString();
  info.status = get.getColumn(2).getString();
  info.spec_yaml = get.getColumn(3).getString();
  info.created_ms = get.getColumn(4).getInt64();
  info.search_json = get.getColumn(5).getString();
  info.model_files = ModelFilesOf(info.experiment_id);
  return info;
}

std::map<std::string, std::string> ResultsReader::ModelFilesOf(const std::string& experiment_id) {
  std::map<std::string, std::string> files;
  // A database older than schema v7 has no such column: no files.
  if (!db_->execAndGet("SELECT COUNT(*) FROM pragma_table_info('experiments') "
                       "WHERE name = 'model_files_json'")
           .getInt64()) {
    return files;
  }
  SQLite::Statement get(*db_, kSqlModelFiles);
  get.bind(1, experiment_id);
  if (!get.executeStep() || get.getColumn(0).getString().empty()) return files;
  const nlohmann::json parsed =
      nlohmann::json::parse(get.getColumn(0).getString(), nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return files;
  for (const auto& [path, text] : parsed.items()) {
    if (text.is_string()) files[path] = text.get<std::string>();
  }
  return files;
}

std::vector<std::string> ResultsReader::MetricNamesLocked(const std::string& experiment_id) {
  SQLite::Statement names(*db_, kSqlMetricNames);
  names.bind(1, experiment_id);
  std::vector<std::string> metrics;
  while (names.executeStep()) metrics.push_back(names.getColumn(0).getString());
  return metrics;
}

std::map<std::string, std::string> ResultsReader::ParamsOf(int64_t trial_id) {
  std::map<std::string, std::string> params;
  SQLite::Statement rows(*db_, kSqlParamsOfTrial);
  rows.bind(1, trial_id);
  while (rows.executeStep()) params[rows.getColumn(0).getString()] = rows.getColumn(1).getString();
  return params;
}

absl::StatusOr<ExperimentInfo> ResultsReader::FindExperiment(const std::string& id_or_name) {
  try {
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    return *std::move(info);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reading experiment '", id_or_name, "' from ",
                                            db_->getFilename(), ": ", e.what()));
  }
}

absl::StatusOr<ExperimentResults> ResultsReader::ReadExperiment(const std::string& id_or_name,
                                                                bool with_images) {
  ExperimentResults results;
  try {
    // One read transaction: a consistent snapshot while the coordinator writes.
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    static_cast<ExperimentInfo&>(results) = *std::move(info);

    std::map<int64_t, size_t> index;  // trial_id -> position in results.trials
    SQLite::Statement trials(*db_, kSqlTrials);
    trials.bind(1, results.experiment_id);
    while (trials.executeStep()) {
      index[trials.getColumn(0).getInt64()] = results.trials.size();
      results.trials.push_back(TrialOf(trials));
    }
    auto trial_of = [&](const SQLite::Column& trial_id) -> TrialResults& {
      return results.trials[index.at(trial_id.getInt64())];
    };

    SQLite::Statement params(*db_, kSqlParamsOfExperiment);
    params.bind(1, results.experiment_id);
    while (params.executeStep()) {
      trial_of(params.getColumn(0)).params[params.getColumn(1).getString()] =
          params.getColumn(2).getString();
    }

    // Last values, then metrics reported only with CompleteTrial.
    SQLite::Statement last(*db_, kSqlLastMetrics);
    last.bind(1, results.experiment_id);
    while (last.executeStep()) {
      trial_of(last.getColumn(0)).last_metrics[last.getColumn(1).getString()] =
          ValueOrNaN(last.getColumn(2));
    }
    SQLite::Statement finals(*db_, kSqlFinalMetrics);
    finals.bind(1, results.experiment_id);
    while (finals.executeStep()) {
      trial_of(finals.getColumn(0))
          .last_metrics.emplace(finals.getColumn(1).getString(), ValueOrNaN(finals.getColumn(2)));
    }

    SQLite::Statement points(*db_, kSqlMetricPoints);
    points.bind(1, results.experiment_id);
    while (points.executeStep()) {
      MetricSample point;
      point.step = points.getColumn(2).getInt64();
      point.epoch = points.getColumn(3).getInt64();
      if (!points.getColumn(4).isNull()) point.value = points.getColumn(4).getDouble();
      trial_of(points.getColumn(0)).series[points.getColumn(1).getString()].push_back(point);
    }

    SQLite::Statement samples(*db_, kSqlSamples);
    samples.bind(1, results.experiment_id);
    samples.bind(2, with_images ? 1 : 0);
    while (samples.executeStep()) {
      SampleImage image;
      image.name = samples.getColumn(1).getString();
      image.step = samples.getColumn(2).getInt64();
      image.epoch = samples.getColumn(3).getInt64();
      image.rows = samples.getColumn(4).getInt();
      image.cols = samples.getColumn(5).getInt();
      if (with_images) image.png = samples.getColumn(6).getString();
      trial_of(samples.getColumn(0)).samples.push_back(std::move(image));
    }

    SQLite::Statement attempts(*db_, kSqlAttempts);
    attempts.bind(1, results.experiment_id);
    while (attempts.executeStep()) {
      AttemptRecord attempt;
      attempt.trial_id = attempts.getColumn(1).getInt64();  // the source's id
      attempt.attempt = attempts.getColumn(2).getInt();
      attempt.worker_id = attempts.getColumn(3).getString();
      attempt.environment_json = attempts.getColumn(4).getString();  // NULL reads as ""
      attempt.started_ms = attempts.getColumn(5).getInt64();
      trial_of(attempts.getColumn(0)).attempts.push_back(std::move(attempt));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reading experiment '", id_or_name, "' from ",
                                            db_->getFilename(), ": ", e.what()));
  }
  FillAxes(&results);
  return results;
}

absl::StatusOr<BestTrialResult> ResultsReader::BestTrial(const std::string& id_or_name,
                                                         const std::string& metric, bool maximize) {
  if (metric.empty()) return absl::InvalidArgumentError("empty metric name");
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    SQLite::Statement best(
        *db_, absl::StrCat(kSqlBestByValue, maximize ? "DESC" : "ASC", ", t.number LIMIT 1"));
    best.bind(1, info->experiment_id);
    best.bind(2, metric);
    if (!best.executeStep()) {
      const std::vector<std::string> metrics = MetricNamesLocked(info->experiment_id);
      if (std::find(metrics.begin(), metrics.end(), metric) != metrics.end()) {
        return absl::NotFoundError(absl::StrCat("every trial of experiment '", info->name,
                                                "' reported metric '", metric, "' as NaN"));
      }
      return absl::NotFoundError(
          absl::StrCat("experiment '", info->name, "' has no metric '", metric, "'; ",
                       metrics.empty() ? "it has no metrics yet"
                                       : "its metrics: " + absl::StrJoin(metrics, ", ")));
    }
    BestTrialResult result;
    result.experiment = *std::move(info);
    result.trial = TrialOf(best);
    result.value = best.getColumn(6).getDouble();
    result.step = best.getColumn(7).getInt64();
    result.epoch = best.getColumn(8).getInt64();
    result.trial.params = ParamsOf(result.trial.trial_id);
    return result;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reading experiment '", id_or_name, "' from ",
                                            db_->getFilename(), ": ", e.what()));
  }
}

absl::StatusOr<QueryResult> ResultsReader::Query(const std::string& sql,
                                                 const QueryLimits& limits) {
  return RunReadOnlyQuery(*db_, sql, limits);
}

absl::StatusOr<ExperimentResults> ReadExperimentFromFile(const std::string& db_path,
                                                         const std::string& id_or_name,
                                                         bool with_images) {
  ASSIGN_OR_RETURN(std::unique_ptr<ResultsReader> reader, ResultsReader::Open(db_path));
  return reader->ReadExperiment(id_or_name, with_images);
}

absl::StatusOr<QueryResult> QueryDatabaseFile(const std::string& db_path, const std::string& sql,
                                              const QueryLimits& limits) {
  struct stat info;
  if (::stat(db_path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("database ", db_path, " does not exist"));
  }
  std::unique_ptr<SQLite::Database> db;
  try {
    db = std::make_unique<SQLite::Database>(db_path, SQLite::OPEN_READONLY,
                                            static_cast<int>(limits.timeout_ms));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open ", db_path, ": ", e.what()));
  }
  sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  return RunReadOnlyQuery(*db, sql, limits);
}

}  // namespace gridrun::coordinator
