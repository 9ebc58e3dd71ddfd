// ResultsReader's dashboard reads: aggregates, sorted and filtered pages,
// downsampled curves and heat maps, each sized so that a 100,000-trial
// experiment answers in well under a second (docs/BENCHMARKS.md). Every
// value from the caller is bound as a parameter; keys and operators come from
// fixed lists, so no caller text becomes SQL.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "coordinator/compute_saved.h"
#include "coordinator/curve_downsample.h"
#include "coordinator/results_reader.h"
#include "coordinator/results_reader_internal.h"
#include "coordinator/trial_state.h"

namespace gridrun::coordinator {
namespace {

using reader_internal::kSqlParamsOfTrial;
using reader_internal::NoExperiment;
using reader_internal::ValueOrNaN;

constexpr char kSqlExperimentsNewestFirst[] =
    "SELECT experiment_id, name, status, spec_yaml, created_ms, search_json FROM experiments "
    "ORDER BY seq DESC";

// Per state: count, first start, last finish, compute (ms x ranks) and the
// summed fractions done (running trials only use the latter).
constexpr char kSqlStateAggregates[] =
    "SELECT state, count(*), min(CASE WHEN started_ms > 0 THEN started_ms END), "
    "       max(finished_ms), "
    "       sum(CASE WHEN started_ms = 0 THEN 0 "
    "                WHEN finished_ms > 0 THEN (finished_ms - started_ms) * ranks "
    "                WHEN state = 'RUNNING' THEN max(0, ?2 - started_ms) * ranks ELSE 0 END), "
    "       sum(CASE WHEN total_steps > 0 THEN min(1.0, step * 1.0 / total_steps) ELSE 0 END) "
    "FROM trials WHERE experiment_id = ?1 GROUP BY state";

constexpr char kTrialRowColumns[] =
    "t.trial_id, t.number, t.state, t.attempt, t.worker_id, t.reused_from, t.error, t.epoch, "
    "t.step, t.total_steps, t.started_ms, t.finished_ms, t.rung_epoch";

// Param (name, value) pairs in trial order, each pair once.
constexpr char kSqlParamPairs[] =
    "SELECT p.name, p.value, min(t.number) AS first FROM trials AS t "
    "JOIN trial_params AS p ON p.trial_id = t.trial_id WHERE t.experiment_id = ?1 "
    "GROUP BY p.name, p.value ORDER BY first, p.name";

constexpr char kSqlMetricNamesAll[] =
    "SELECT DISTINCT l.name FROM trials AS t "
    "JOIN trial_metrics_last AS l ON l.trial_id = t.trial_id WHERE t.experiment_id = ?1 "
    "UNION SELECT DISTINCT f.name FROM trials AS t "
    "JOIN trial_source AS s ON s.trial_id = t.trial_id "
    "JOIN final_metrics AS f ON f.trial_id = s.source_trial_id WHERE t.experiment_id = ?1 "
    "ORDER BY 1";

constexpr char kSqlSampleNamesAndEpochs[] =
    "SELECT DISTINCT x.name, x.epoch FROM trials AS t "
    "JOIN trial_source AS s ON s.trial_id = t.trial_id "
    "JOIN samples AS x ON x.trial_id = s.source_trial_id WHERE t.experiment_id = ?1";

constexpr char kSqlLastOfTrial[] = "SELECT name, value FROM trial_metrics_last WHERE trial_id = ?1";
constexpr char kSqlFinalOfTrial[] =
    "SELECT f.name, f.value FROM trial_source AS s "
    "JOIN final_metrics AS f ON f.trial_id = s.source_trial_id WHERE s.trial_id = ?1";

constexpr char kSqlCurve[] =
    "SELECT m.step, m.epoch, m.value FROM trial_source AS s "
    "JOIN metrics AS m ON m.trial_id = s.source_trial_id "
    "WHERE s.trial_id = ?1 AND m.name = ?2 ORDER BY m.step";

constexpr char kSqlHasParam[] =
    "SELECT 1 FROM trials AS t JOIN trial_params AS p ON p.trial_id = t.trial_id "
    "WHERE t.experiment_id = ?1 AND p.name = ?2 LIMIT 1";

constexpr char kSqlConfig[] = "SELECT config_json FROM trials WHERE trial_id = ?1";
constexpr char kSqlAttemptsOfTrialSource[] =
    "SELECT a.trial_id, a.attempt, a.worker_id, a.environment_json, a.started_ms "
    "FROM trial_source AS s JOIN trial_attempts AS a ON a.trial_id = s.source_trial_id "
    "WHERE s.trial_id = ?1 ORDER BY a.attempt";
constexpr char kSqlPointCounts[] =
    "SELECT m.name, count(*) FROM trial_source AS s "
    "JOIN metrics AS m ON m.trial_id = s.source_trial_id WHERE s.trial_id = ?1 GROUP BY m.name";
constexpr char kSqlSamplesOfTrial[] =
    "SELECT x.name, x.step, x.epoch, x.rows, x.cols FROM trial_source AS s "
    "JOIN samples AS x ON x.trial_id = s.source_trial_id WHERE s.trial_id = ?1 "
    "ORDER BY x.name, x.step";
constexpr char kSqlCheckpointsOfTrial[] =
    "SELECT c.trial_id, c.step, c.epoch, c.sha256, c.size_bytes, c.path, c.created_ms, c.best "
    "FROM trial_source AS s JOIN checkpoints AS c ON c.trial_id = s.source_trial_id "
    "WHERE s.trial_id = ?1 ORDER BY c.step";
// SQL text with numbered parameters, all bound as text or numbers later.
struct SqlBuilder {
  std::vector<std::string> binds;
  std::string Bind(std::string value) {
    binds.push_back(std::move(value));
    return absl::StrCat("?", binds.size());
  }
  // Binds the first `count` values (default: all).
  void BindAll(SQLite::Statement& statement, size_t count = SIZE_MAX) const {
    for (size_t i = 0; i < std::min(count, binds.size()); ++i) {
      statement.bind(static_cast<int>(i + 1), binds[i]);
    }
  }
};

// The SQL expression of a sort/filter key over `trials AS t`. `numeric` is
// set for keys whose values compare as numbers.
absl::StatusOr<std::string> KeyExpression(const std::string& key, SqlBuilder* sql, bool* numeric) {
  *numeric = false;
  if (key == "number" || key == "attempt") {
    *numeric = true;
    return absl::StrCat("t.", key);
  }
  if (key == "rung") {
    *numeric = true;
    return std::string("t.rung_epoch");
  }
  if (key == "state") return std::string("t.state");
  if (key == "worker") return std::string("t.worker_id");
  if (absl::StartsWith(key, "param:") && key.size() > 6) {
    return absl::StrCat("(SELECT value FROM trial_params WHERE trial_id = t.trial_id AND name = ",
                        sql->Bind(key.substr(6)), ")");
  }
  if (absl::StartsWith(key, "metric:") && key.size() > 7) {
    *numeric = true;
    const std::string name = sql->Bind(key.substr(7));
    return absl::StrCat(
        "coalesce((SELECT value FROM trial_metrics_last WHERE trial_id = t.trial_id AND name = ",
        name,
        "), (SELECT f.value FROM trial_source AS s JOIN final_metrics AS f "
        "ON f.trial_id = s.source_trial_id WHERE s.trial_id = t.trial_id AND f.name = ",
        name, "))");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown trial key '", key,
                   "'; keys: number, state, attempt, worker, rung, param:NAME, metric:NAME"));
}

// The WHERE clause of a trials page (experiment ?1 is bound first).
absl::StatusOr<std::string> WhereClause(const TrialsPageRequest& request, SqlBuilder* sql) {
  std::string where = "t.experiment_id = ?1";
  if (!request.states.empty()) {
    std::vector<std::string> marks;
    for (const std::string& state : request.states) {
      if (!ParseTrialState(state)) {
        return absl::InvalidArgumentError(absl::StrCat("unknown trial state '", state, "'"));
      }
      marks.push_back(sql->Bind(state));
    }
    absl::StrAppend(&where, " AND t.state IN (", absl::StrJoin(marks, ", "), ")");
  }
  if (request.filters.size() > TrialsPageRequest::kMaxFilters) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", TrialsPageRequest::kMaxFilters, " filters"));
  }
  static const std::set<std::string> kOps = {"=", "!=", "<", "<=", ">", ">="};
  for (const TrialFilter& filter : request.filters) {
    if (!kOps.count(filter.op)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown filter operator '", filter.op,
                                                     "'; operators: =, !=, <, <=, >, >="));
    }
    bool numeric = false;
    ASSIGN_OR_RETURN(std::string expression, KeyExpression(filter.key, sql, &numeric));
    double number = 0;
    const bool is_number = absl::SimpleAtod(filter.value, &number) && std::isfinite(number);
    if (numeric && !is_number) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter on '", filter.key, "' needs a number, not '", filter.value, "'"));
    }
    if (is_number) {
      absl::StrAppend(&where, " AND CAST(", expression, " AS REAL) ", filter.op, " CAST(",
                      sql->Bind(filter.value), " AS REAL)");
    } else {
      absl::StrAppend(&where, " AND ", expression, " ", filter.op, " ", sql->Bind(filter.value));
    }
  }
  return where;
}

TrialRow RowOf(SQLite::Statement& row) {
  TrialRow trial;
  trial.trial_id = row.getColumn(0).getInt64();
  trial.number = row.getColumn(1).getInt64();
  trial.state = row.getColumn(2).getString();
  trial.attempt = row.getColumn(3).getInt();
  trial.worker_id = row.getColumn(4).getString();
  trial.reused_from = row.getColumn(5).getInt64();
  trial.error = row.getColumn(6).getString();
  trial.epoch = row.getColumn(7).getInt64();
  trial.step = row.getColumn(8).getInt64();
  trial.total_steps = row.getColumn(9).getInt64();
  trial.started_ms = row.getColumn(10).getInt64();
  trial.finished_ms = row.getColumn(11).getInt64();
  trial.rung_epoch = row.getColumn(12).getInt64();
  return trial;
}

absl::Status StorageError(const std::string& what, SQLite::Database& db, const std::exception& e) {
  return absl::InternalError(absl::StrCat(what, " from ", db.getFilename(), ": ", e.what()));
}

absl::Status NoTrial(const ExperimentInfo& info, int64_t number) {
  return absl::NotFoundError(absl::StrCat("experiment '", info.name, "' has no trial ", number));
}

}  // namespace

ExperimentSummary ResultsReader::SummaryLocked(const ExperimentInfo& info, int64_t now_ms) {
  ExperimentSummary summary;
  static_cast<ExperimentInfo&>(summary) = info;
  SQLite::Statement groups(*db_, kSqlStateAggregates);
  groups.bind(1, info.experiment_id);
  groups.bind(2, now_ms);
  double done = 0;
  while (groups.executeStep()) {
    const std::string state = groups.getColumn(0).getString();
    const int64_t count = groups.getColumn(1).getInt64();
    summary.trials += count;
    summary.trials_by_state[state] = count;
    if (!groups.getColumn(2).isNull()) {
      const int64_t started = groups.getColumn(2).getInt64();
      if (summary.started_ms == 0 || started < summary.started_ms) summary.started_ms = started;
    }
    summary.finished_ms = std::max(summary.finished_ms, groups.getColumn(3).getInt64());
    summary.compute_ms += groups.getColumn(4).getInt64();
    const std::optional<TrialState> parsed = ParseTrialState(state);
    if (parsed && IsTerminal(*parsed)) {
      done += static_cast<double>(count);
    } else if (parsed == TrialState::kRunning) {
      done += groups.getColumn(5).getDouble();
    }
  }
  summary.progress = summary.trials > 0 ? done / static_cast<double>(summary.trials) : 0;
  SQLite::Statement epochs(*db_, kSqlTrialEpochsOfExperiment);
  epochs.bind(1, info.experiment_id);
  if (epochs.executeStep()) {
    summary.trial_epochs_run = epochs.getColumn(0).getInt64();
    summary.trial_epochs_full = epochs.getColumn(1).getInt64();
  }
  return summary;
}

absl::StatusOr<std::vector<ExperimentSummary>> ResultsReader::ListExperiments(int64_t now_ms) {
  try {
    SQLite::Transaction snapshot(*db_);
    std::vector<ExperimentInfo> infos;
    SQLite::Statement all(*db_, kSqlExperimentsNewestFirst);
    while (all.executeStep()) {
      ExperimentInfo info;
      info.experiment_id = all.getColumn(0).getString();
      info.name = all.getColumn(1).getString();
      info.status = all.getColumn(2).getString();
      info.spec_yaml = all.getColumn(3).getString();
      info.created_ms = all.getColumn(4).getInt64();
      info.search_json = all.getColumn(5).getString();
      infos.push_back(std::move(info));
    }
    std::vector<ExperimentSummary> summaries;
    for (const ExperimentInfo& info : infos) summaries.push_back(SummaryLocked(info, now_ms));
    return summaries;
  } catch (const std::exception& e) {
    return StorageError("listing experiments", *db_, e);
  }
}

absl::StatusOr<ExperimentOutline> ResultsReader::ReadOutline(const std::string& id_or_name,
                                                             int64_t now_ms) {
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    ExperimentOutline outline;
    static_cast<ExperimentSummary&>(outline) = SummaryLocked(*info, now_ms);
    std::vector<std::pair<std::string, std::string>> params;
    SQLite::Statement pairs(*db_, kSqlParamPairs);
    pairs.bind(1, info->experiment_id);
    while (pairs.executeStep()) {
      params.emplace_back(pairs.getColumn(0).getString(), pairs.getColumn(1).getString());
    }
    reader_internal::FillAxes(info->spec_yaml, params, &outline.axes, &outline.axis_values);
    SQLite::Statement metrics(*db_, kSqlMetricNamesAll);
    metrics.bind(1, info->experiment_id);
    while (metrics.executeStep()) outline.metrics.push_back(metrics.getColumn(0).getString());
    std::set<std::string> names;
    std::set<int64_t> epochs;
    SQLite::Statement samples(*db_, kSqlSampleNamesAndEpochs);
    samples.bind(1, info->experiment_id);
    while (samples.executeStep()) {
      names.insert(samples.getColumn(0).getString());
      epochs.insert(samples.getColumn(1).getInt64());
    }
    outline.sample_names.assign(names.begin(), names.end());
    outline.sample_epochs.assign(epochs.begin(), epochs.end());
    return outline;
  } catch (const std::exception& e) {
    return StorageError(absl::StrCat("reading experiment '", id_or_name, "'"), *db_, e);
  }
}

void ResultsReader::FillParamsAndMetrics(TrialRow* row) {
  SQLite::Statement params(*db_, kSqlParamsOfTrial);
  params.bind(1, row->trial_id);
  while (params.executeStep()) {
    row->params[params.getColumn(0).getString()] = params.getColumn(1).getString();
  }
  SQLite::Statement last(*db_, kSqlLastOfTrial);
  last.bind(1, row->trial_id);
  while (last.executeStep()) {
    row->metrics[last.getColumn(0).getString()] = ValueOrNaN(last.getColumn(1));
  }
  SQLite::Statement finals(*db_, kSqlFinalOfTrial);
  finals.bind(1, row->trial_id);
  while (finals.executeStep()) {
    row->metrics.emplace(finals.getColumn(0).getString(), ValueOrNaN(finals.getColumn(1)));
  }
}

std::optional<TrialRow> ResultsReader::TrialRowLocked(const std::string& experiment_id,
                                                      int64_t number) {
  SQLite::Statement get(*db_, absl::StrCat("SELECT ", kTrialRowColumns,
                                           " FROM trials AS t WHERE t.experiment_id = ?1 "
                                           "AND t.number = ?2"));
  get.bind(1, experiment_id);
  get.bind(2, number);
  if (!get.executeStep()) return std::nullopt;
  TrialRow row = RowOf(get);
  FillParamsAndMetrics(&row);
  return row;
}

absl::StatusOr<TrialsPage> ResultsReader::ReadTrialsPage(const std::string& id_or_name,
                                                         const TrialsPageRequest& request) {
  if (request.limit < 1 || request.limit > TrialsPageRequest::kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be 1..", TrialsPageRequest::kMaxLimit, ", not ", request.limit));
  }
  if (request.offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative offset ", request.offset));
  }
  SqlBuilder sql;
  sql.Bind("");  // ?1: the experiment id, set below
  ASSIGN_OR_RETURN(std::string where, WhereClause(request, &sql));
  const size_t where_binds = sql.binds.size();  // the sort key's come after
  bool numeric = false;
  ASSIGN_OR_RETURN(std::string sort, KeyExpression(request.sort, &sql, &numeric));
  const char* direction = request.descending ? " DESC" : "";
  // Missing values last either way; params compare as numbers where they are.
  std::string order = absl::StrCat("(", sort, ") IS NULL, ");
  if (absl::StartsWith(request.sort, "param:")) {
    absl::StrAppend(&order, "CAST(", sort, " AS NUMERIC)", direction, ", ");
  }
  absl::StrAppend(&order, sort, direction, ", t.number", direction);
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    sql.binds[0] = info->experiment_id;
    TrialsPage page;
    SQLite::Statement count(*db_, absl::StrCat("SELECT count(*) FROM trials AS t WHERE ", where));
    sql.BindAll(count, where_binds);
    if (count.executeStep()) page.total = count.getColumn(0).getInt64();
    SQLite::Statement rows(
        *db_,
        absl::StrCat("SELECT ", kTrialRowColumns, " FROM trials AS t WHERE ", where, " ORDER BY ",
                     order, " LIMIT ", request.limit, " OFFSET ", request.offset));
    sql.BindAll(rows);
    while (rows.executeStep()) page.rows.push_back(RowOf(rows));
    for (TrialRow& row : page.rows) FillParamsAndMetrics(&row);
    return page;
  } catch (const std::exception& e) {
    return StorageError(absl::StrCat("reading the trials of '", id_or_name, "'"), *db_, e);
  }
}

absl::StatusOr<CurveSeries> ResultsReader::ReadCurve(const std::string& id_or_name, int64_t number,
                                                     const std::string& metric,
                                                     int64_t max_points) {
  if (metric.empty()) return absl::InvalidArgumentError("empty metric name");
  if (max_points < 2 || max_points > 100'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("max points must be 2..100000, not ", max_points));
  }
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    SQLite::Statement find(*db_,
                           "SELECT trial_id FROM trials WHERE experiment_id = ?1 AND number = ?2");
    find.bind(1, info->experiment_id);
    find.bind(2, number);
    if (!find.executeStep()) return NoTrial(*info, number);
    CurveSeries curve;
    curve.trial_id = find.getColumn(0).getInt64();
    curve.number = number;
    curve.metric = metric;
    std::vector<MetricSample> points;
    SQLite::Statement rows(*db_, kSqlCurve);
    rows.bind(1, curve.trial_id);
    rows.bind(2, metric);
    while (rows.executeStep()) {
      MetricSample point;
      point.step = rows.getColumn(0).getInt64();
      point.epoch = rows.getColumn(1).getInt64();
      if (!rows.getColumn(2).isNull()) point.value = rows.getColumn(2).getDouble();
      points.push_back(point);
    }
    curve.total_points = static_cast<int64_t>(points.size());
    curve.points = DownsampleMinMax(points, static_cast<size_t>(max_points));
    return curve;
  } catch (const std::exception& e) {
    return StorageError(absl::StrCat("reading curve '", metric, "'"), *db_, e);
  }
}

absl::StatusOr<HeatMap> ResultsReader::ReadHeatMap(const std::string& id_or_name,
                                                   const std::string& metric,
                                                   const std::string& x_axis,
                                                   const std::string& y_axis) {
  if (metric.empty()) return absl::InvalidArgumentError("empty metric name");
  if (x_axis == y_axis) {
    return absl::InvalidArgumentError(
        absl::StrCat("the heat map needs two different axes, not '", x_axis, "' twice"));
  }
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    for (const std::string& axis : {x_axis, y_axis}) {
      SQLite::Statement has(*db_, kSqlHasParam);
      has.bind(1, info->experiment_id);
      has.bind(2, axis);
      if (!has.executeStep()) {
        return absl::InvalidArgumentError(
            absl::StrCat("experiment '", info->name, "' has no grid axis '", axis, "'"));
      }
    }
    SqlBuilder sql;
    sql.Bind(info->experiment_id);
    bool numeric = false;
    ASSIGN_OR_RETURN(std::string value, KeyExpression("metric:" + metric, &sql, &numeric));
    const std::string x = sql.Bind(x_axis);
    const std::string y = sql.Bind(y_axis);
    SQLite::Statement cells(
        *db_, absl::StrCat("SELECT px.value, py.value, count(*), count(q.v), avg(q.v), min(q.v), "
                           "max(q.v) FROM (SELECT t.trial_id AS trial_id, ",
                           value,
                           " AS v FROM trials AS t WHERE t.experiment_id = ?1) AS q "
                           "JOIN trial_params AS px ON px.trial_id = q.trial_id AND px.name = ",
                           x, " JOIN trial_params AS py ON py.trial_id = q.trial_id AND py.name = ",
                           y, " GROUP BY px.value, py.value"));
    sql.BindAll(cells);
    HeatMap map;
    map.metric = metric;
    map.x_axis = x_axis;
    map.y_axis = y_axis;
    std::vector<std::pair<std::string, std::string>> pairs;
    while (cells.executeStep()) {
      HeatMapCell cell;
      cell.x = cells.getColumn(0).getString();
      cell.y = cells.getColumn(1).getString();
      cell.trials = cells.getColumn(2).getInt64();
      cell.values = cells.getColumn(3).getInt64();
      if (cell.values > 0) {
        cell.mean = cells.getColumn(4).getDouble();
        cell.min = cells.getColumn(5).getDouble();
        cell.max = cells.getColumn(6).getDouble();
      }
      pairs.emplace_back(x_axis, cell.x);
      pairs.emplace_back(y_axis, cell.y);
      map.cells.push_back(std::move(cell));
    }
    // Axis values in the spec's order, then as they appear.
    std::vector<std::string> axes;
    std::map<std::string, std::vector<std::string>> values;
    reader_internal::FillAxes(info->spec_yaml, pairs, &axes, &values);
    // Only the values some cell has (a filter may leave others out).
    std::set<std::string> xs, ys;
    for (const HeatMapCell& cell : map.cells) {
      xs.insert(cell.x);
      ys.insert(cell.y);
    }
    for (const std::string& v : values[x_axis]) {
      if (xs.count(v)) map.x_values.push_back(v);
    }
    for (const std::string& v : values[y_axis]) {
      if (ys.count(v)) map.y_values.push_back(v);
    }
    return map;
  } catch (const std::exception& e) {
    return StorageError(absl::StrCat("reading the heat map of '", metric, "'"), *db_, e);
  }
}

absl::StatusOr<TrialDetail> ResultsReader::ReadTrialDetail(const std::string& id_or_name,
                                                           int64_t number) {
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    std::optional<TrialRow> row = TrialRowLocked(info->experiment_id, number);
    if (!row) return NoTrial(*info, number);
    TrialDetail detail;
    detail.row = *std::move(row);
    const int64_t id = detail.row.trial_id;
    SQLite::Statement config(*db_, kSqlConfig);
    config.bind(1, id);
    if (config.executeStep()) detail.config_json = config.getColumn(0).getString();
    SQLite::Statement attempts(*db_, kSqlAttemptsOfTrialSource);
    attempts.bind(1, id);
    while (attempts.executeStep()) {
      AttemptRecord attempt;
      attempt.trial_id = attempts.getColumn(0).getInt64();
      attempt.attempt = attempts.getColumn(1).getInt();
      attempt.worker_id = attempts.getColumn(2).getString();
      attempt.environment_json = attempts.getColumn(3).getString();
      attempt.started_ms = attempts.getColumn(4).getInt64();
      detail.attempts.push_back(std::move(attempt));
    }
    SQLite::Statement counts(*db_, kSqlPointCounts);
    counts.bind(1, id);
    while (counts.executeStep()) {
      detail.metric_points[counts.getColumn(0).getString()] = counts.getColumn(1).getInt64();
    }
    SQLite::Statement samples(*db_, kSqlSamplesOfTrial);
    samples.bind(1, id);
    while (samples.executeStep()) {
      SampleImage image;
      image.name = samples.getColumn(0).getString();
      image.step = samples.getColumn(1).getInt64();
      image.epoch = samples.getColumn(2).getInt64();
      image.rows = samples.getColumn(3).getInt();
      image.cols = samples.getColumn(4).getInt();
      detail.samples.push_back(std::move(image));
    }
    SQLite::Statement checkpoints(*db_, kSqlCheckpointsOfTrial);
    checkpoints.bind(1, id);
    while (checkpoints.executeStep()) {
      CheckpointRecord checkpoint;
      checkpoint.trial_id = checkpoints.getColumn(0).getInt64();
      checkpoint.step = checkpoints.getColumn(1).getInt64();
      checkpoint.epoch = checkpoints.getColumn(2).getInt64();
      checkpoint.sha256 = checkpoints.getColumn(3).getString();
      checkpoint.size_bytes = checkpoints.getColumn(4).getInt64();
      checkpoint.path = checkpoints.getColumn(5).getString();
      checkpoint.created_ms = checkpoints.getColumn(6).getInt64();
      checkpoint.best = checkpoints.getColumn(7).getInt() != 0;
      detail.checkpoints.push_back(std::move(checkpoint));
    }
    FillSearchLocked(&detail);
    return detail;
  } catch (const std::exception& e) {
    return StorageError(absl::StrCat("reading trial ", number), *db_, e);
  }
}

absl::StatusOr<std::string> ResultsReader::ReadSamplePng(const std::string& id_or_name,
                                                         int64_t number, const std::string& name,
                                                         int64_t step) {
  try {
    SQLite::Transaction snapshot(*db_);
    std::optional<ExperimentInfo> info = LookUp(id_or_name);
    if (!info) return NoExperiment(id_or_name);
    SQLite::Statement png(*db_, absl::StrCat("SELECT x.png FROM trials AS t ",
                                             "JOIN trial_source AS s ON s.trial_id = t.trial_id ",
                                             "JOIN samples AS x ON x.trial_id = s.source_trial_id ",
                                             "WHERE t.experiment_id = ?1 AND t.number = ?2 ",
                                             "AND x.name = ?3 AND x.step = ?4"));
    png.bind(1, info->experiment_id);
    png.bind(2, number);
    png.bind(3, name);
    png.bind(4, step);
    if (!png.executeStep()) {
      return absl::NotFoundError(
          absl::StrCat("trial ", number, " has no sample '", name, "' at step ", step));
    }
    return png.getColumn(0).getString();
  } catch (const std::exception& e) {
    return StorageError(absl::StrCat("reading sample '", name, "'"), *db_, e);
  }
}

absl::StatusOr<int64_t> ResultsReader::DataVersion() {
  try {
    SQLite::Statement version(*db_, "PRAGMA data_version");
    if (!version.executeStep()) return absl::InternalError("PRAGMA data_version gave no row");
    return version.getColumn(0).getInt64();
  } catch (const std::exception& e) {
    return StorageError("reading the data version", *db_, e);
  }
}

}  // namespace gridrun::coordinator
