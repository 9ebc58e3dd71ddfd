// ResultsReader: the one read path for results. It opens a gridrun database
// read-only (SQLITE_OPEN_READONLY, so it works while the coordinator writes:
// WAL readers never block the writer) and reads an experiment by id or name,
// its trials with params and last metric values, their learning curves and
// sample images, the best trial by one metric, and runs guarded ad-hoc SQL
// (RunReadOnlyQuery in read_only_query.h). `gridrun query`, `best`, `export`
// and `report` read through it; so does the dashboard (`gridrun ui`, ui/),
// whose reads are sized for 100,000-trial experiments: summaries by SQL
// aggregates, trials a sorted and filtered page at a time, curves
// downsampled (curve_downsample.h), heat maps grouped in SQL
// (results_reader_pages.cpp).
//
// A reused trial shows its source trial's data: every read here follows the
// schema's `trial_source` view, the one place that rule is written.
//
//   ASSIGN_OR_RETURN(auto reader, ResultsReader::Open("runs.db"));
//   ASSIGN_OR_RETURN(ExperimentResults results,
//                    reader->ReadExperiment("vae-kl-sweep", /*with_images=*/false));
//
// Each read runs in one read transaction: a consistent snapshot.
// Thread-safety: a ResultsReader is used by one thread at a time (it owns one
// connection); separate readers may run in parallel.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/read_only_query.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {

struct MetricSample {
  int64_t step = 0;
  int64_t epoch = 0;
  std::optional<double> value;  // std::nullopt: the worker reported NaN
};

struct SampleImage {
  std::string name;
  int64_t step = 0;
  int64_t epoch = 0;
  std::string png;  // bytes; empty when read without images
  int rows = 0;
  int cols = 0;
};

struct TrialResults {
  int64_t trial_id = 0;
  int64_t number = 0;
  std::string state;  // "COMPLETE", ... (TrialStateName)
  int attempt = 0;
  int64_t reused_from = 0;  // 0, or the trial whose results these are
  std::string error;
  std::map<std::string, std::string> params;
  // Last value (highest step) of each metric; metrics reported only with
  // CompleteTrial are included. NaN stands for a NULL value.
  std::map<std::string, double> last_metrics;
  std::map<std::string, std::vector<MetricSample>> series;  // by name, ascending step
  std::vector<SampleImage> samples;                         // by name, then ascending step
  // Where each attempt ran (trial_attempts; a reused trial shows its
  // source's attempts), ascending attempt.
  std::vector<AttemptRecord> attempts;
};

struct ExperimentInfo {
  std::string experiment_id;
  std::string name;
  std::string status;  // "ACTIVE", "DONE", "CANCELLED"
  std::string spec_yaml;
  int64_t created_ms = 0;
  // The user's model files the spec names: path as written -> text (schema
  // v7, experiments.model_files_json; empty before it or when none).
  std::map<std::string, std::string> model_files;
  // The spec's search settings as JSON (search::SearchSettingsToJson; schema
  // v6, experiments.search_json), '' for a plain grid.
  std::string search_json;
};

struct ExperimentResults : ExperimentInfo {
  // Grid axes in the spec's order, each with its values in the spec's order
  // (or, if the spec cannot be parsed, in order of first appearance).
  std::vector<std::string> axes;
  std::map<std::string, std::vector<std::string>> axis_values;
  std::vector<TrialResults> trials;  // in grid order
};

// The winner of BestTrial: the trial (params, no series or samples) and the
// last point of the metric it won by.
struct BestTrialResult {
  ExperimentInfo experiment;
  TrialResults trial;
  double value = 0;
  int64_t step = 0;
  int64_t epoch = 0;
};

// One row of the experiments page: an experiment and SQL aggregates of its
// trials.
struct ExperimentSummary : ExperimentInfo {
  int64_t trials = 0;
  std::map<std::string, int64_t> trials_by_state;  // state name -> count (states present)
  int64_t started_ms = 0;   // first lease of any trial; 0: none started
  int64_t finished_ms = 0;  // last trial to reach a terminal state; 0: none
  // Trial-milliseconds x ranks spent: finished trials' (finished - started),
  // running trials' (now - started).
  int64_t compute_ms = 0;
  // Fraction of the grid done: terminal trials count 1, running trials
  // step / total_steps, waiting trials 0.
  double progress = 0;
  // Trial-epochs trained, and what running every trial to its end takes
  // (compute_saved.h: what early stopping and reuse saved).
  int64_t trial_epochs_run = 0;
  int64_t trial_epochs_full = 0;
};

// What the experiment page needs before its first trial row.
struct ExperimentOutline : ExperimentSummary {
  std::vector<std::string> axes;  // as ExperimentResults::axes
  std::map<std::string, std::vector<std::string>> axis_values;
  std::vector<std::string> metrics;  // every metric name with a point or a final value
  std::vector<std::string> sample_names;
  std::vector<int64_t> sample_epochs;  // distinct epochs with a sample, ascending
};

// One row of the trials table (no series, samples or attempts).
struct TrialRow {
  int64_t trial_id = 0;
  int64_t number = 0;
  std::string state;
  int attempt = 0;
  std::string worker_id;
  int64_t reused_from = 0;
  std::string error;
  int64_t epoch = 0;  // progress as last reported
  int64_t step = 0;
  int64_t total_steps = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  int64_t rung_epoch = 0;  // early stopping: the highest rung epoch reached (0: none)
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;  // last values, then final-only ones; NaN for NULL
};

// A sort key or filter key of the trials table: "number", "state",
// "attempt", "worker", "rung" (TrialRow::rung_epoch), "param:NAME" or
// "metric:NAME" (the last value, else the final value). Params sort numerically where they are numbers.
struct TrialFilter {
  std::string key;
  std::string op;  // "=", "!=", "<", "<=", ">", ">="
  std::string value;
};

struct TrialsPageRequest {
  std::string sort = "number";
  bool descending = false;
  std::vector<std::string> states;  // empty: every state
  std::vector<TrialFilter> filters;  // all must hold; at most kMaxFilters
  int64_t offset = 0;
  int64_t limit = 100;  // 1..kMaxLimit
  static constexpr int64_t kMaxLimit = 5000;
  static constexpr size_t kMaxFilters = 16;
};

struct TrialsPage {
  int64_t total = 0;  // rows matching the states and filters
  std::vector<TrialRow> rows;
};

// One metric of one trial, downsampled (curve_downsample.h).
struct CurveSeries {
  int64_t trial_id = 0;
  int64_t number = 0;
  std::string metric;
  int64_t total_points = 0;  // before downsampling
  std::vector<MetricSample> points;  // ascending step
};

// The mean (and spread) of a metric over the trials of each (x, y) cell.
struct HeatMapCell {
  std::string x;
  std::string y;
  int64_t trials = 0;  // trials in the cell
  int64_t values = 0;  // of them with a (non-NaN) value
  double mean = 0, min = 0, max = 0;  // over those values; 0 when `values` is 0
};

struct HeatMap {
  std::string metric, x_axis, y_axis;
  std::vector<std::string> x_values, y_values;  // axis order (ExperimentResults::axis_values)
  std::vector<HeatMapCell> cells;  // cells with at least one trial
};

// One arrival of a trial at an ASHA rung (schema v6, rung_results).
struct RungArrival {
  int rung = 0;        // 0-based
  int64_t seq = 0;     // arrival order at this rung, from 1
  int64_t epoch = 0;
  std::optional<double> value;  // the scheduler's metric; std::nullopt: not finite
  bool promoted = false;
  int64_t arrived_ms = 0;
};

// One trial in full for the trial page: its row, the config, where each
// attempt ran, every metric's point count, samples (names and steps; the
// PNGs come one at a time through ReadSamplePng), checkpoints, and what
// early stopping decided about it (its own rungs and decisions; a reused
// trial was decided in its source's experiment, so it shows none).
struct TrialDetail {
  TrialRow row;
  std::string config_json;
  std::vector<AttemptRecord> attempts;
  std::map<std::string, int64_t> metric_points;  // name -> number of points
  std::vector<SampleImage> samples;
  std::vector<CheckpointRecord> checkpoints;
  std::vector<RungArrival> rungs;                 // ascending rung
  std::vector<SearchDecisionRecord> decisions;    // in the order made
};

class ResultsReader {
 public:
  // Opens the gridrun database at `path` read-only. Errors as
  // OpenReadOnlyDatabase(): NOT_FOUND "no gridrun database at PATH";
  // FAILED_PRECONDITION for a file that is not a gridrun database of this
  // schema version; INVALID_ARGUMENT for ":memory:".
  static absl::StatusOr<std::unique_ptr<ResultsReader>> Open(const std::string& path);

  // The experiment whose id is `id_or_name`, else whose name is (an id wins
  // over a name). NOT_FOUND "no experiment 'x'".
  absl::StatusOr<ExperimentInfo> FindExperiment(const std::string& id_or_name);

  // The experiment with its trials in grid order: params, last metric
  // values, every metric point, where each attempt ran and (when
  // `with_images`) every sample PNG (without: the samples' names and steps
  // only), axes from the spec.
  // NOT_FOUND "no experiment 'x'"; INTERNAL for storage errors.
  absl::StatusOr<ExperimentResults> ReadExperiment(const std::string& id_or_name, bool with_images);

  // The experiment's trials (any state) ordered by the last value (highest
  // step) of `metric`, smallest first (largest with `maximize`); NaN values
  // take no part; ties go to the lower trial number. Returns the first.
  // NOT_FOUND "no experiment 'x'", or, naming the experiment, "experiment
  // 'n' has no metric 'm'; its metrics: a, b" ("...; it has no metrics yet")
  // or "every trial of experiment 'n' reported metric 'm' as NaN";
  // INVALID_ARGUMENT for an empty metric name.
  absl::StatusOr<BestTrialResult> BestTrial(const std::string& id_or_name,
                                            const std::string& metric, bool maximize);

  // ---- Dashboard reads (results_reader_pages.cpp); errors: NOT_FOUND "no
  // experiment 'x'" / "experiment 'n' has no trial N", INVALID_ARGUMENT
  // naming a bad key, operator, axis or limit, INTERNAL for storage errors.

  // Every experiment, newest first; `now_ms` prices running trials' compute.
  absl::StatusOr<std::vector<ExperimentSummary>> ListExperiments(int64_t now_ms);
  absl::StatusOr<ExperimentOutline> ReadOutline(const std::string& id_or_name, int64_t now_ms);
  // One page of trials sorted by request.sort (ties: trial number), after
  // the state and key filters.
  absl::StatusOr<TrialsPage> ReadTrialsPage(const std::string& id_or_name,
                                            const TrialsPageRequest& request);
  // Trial `number`'s curve of `metric` (follows trial_source), at most
  // `max_points` points (2..100,000) chosen by DownsampleMinMax. A metric
  // the trial has not reported yet gives no points (not an error).
  absl::StatusOr<CurveSeries> ReadCurve(const std::string& id_or_name, int64_t number,
                                        const std::string& metric, int64_t max_points);
  // The heat map of `metric` over two different axes (params).
  absl::StatusOr<HeatMap> ReadHeatMap(const std::string& id_or_name, const std::string& metric,
                                      const std::string& x_axis, const std::string& y_axis);
  absl::StatusOr<TrialDetail> ReadTrialDetail(const std::string& id_or_name, int64_t number);
  // The PNG of sample `name` at `step` of trial `number`. NOT_FOUND "trial N
  // has no sample 'name' at step S".
  absl::StatusOr<std::string> ReadSamplePng(const std::string& id_or_name, int64_t number,
                                            const std::string& name, int64_t step);
  // Changes whenever another connection committed to the database since the
  // last call on this reader (PRAGMA data_version): cheap change detection.
  absl::StatusOr<int64_t> DataVersion();

  // Ad-hoc SQL through the guarded engine (RunReadOnlyQuery: one read-only
  // statement; errors as there).
  absl::StatusOr<QueryResult> Query(const std::string& sql, const QueryLimits& limits = {});

 private:
  explicit ResultsReader(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

  // The helpers below run inside a read transaction and may throw.
  std::optional<ExperimentInfo> LookUp(const std::string& id_or_name);
  std::vector<std::string> MetricNamesLocked(const std::string& experiment_id);
  // ExperimentInfo::model_files of the experiment.
  std::map<std::string, std::string> ModelFilesOf(const std::string& experiment_id);
  std::map<std::string, std::string> ParamsOf(int64_t trial_id);
  // std::nullopt when the experiment has no trial `number`.
  std::optional<TrialRow> TrialRowLocked(const std::string& experiment_id, int64_t number);
  void FillParamsAndMetrics(TrialRow* row);
  // TrialDetail::rungs and ::decisions (results_reader_search.cpp).
  void FillSearchLocked(TrialDetail* detail);
  ExperimentSummary SummaryLocked(const ExperimentInfo& info, int64_t now_ms);

  std::unique_ptr<SQLite::Database> db_;
};

// ResultsReader::Open(db_path), then ReadExperiment(): errors as those.
absl::StatusOr<ExperimentResults> ReadExperimentFromFile(const std::string& db_path,
                                                         const std::string& id_or_name,
                                                         bool with_images);

// Ad-hoc SQL on ANY SQLite file (`gridrun query`: no gridrun schema needed),
// opened read-only with extension loading off; the busy timeout is the
// query's time limit. NOT_FOUND "database PATH does not exist";
// INVALID_ARGUMENT "cannot open PATH: ..."; otherwise as RunReadOnlyQuery.
absl::StatusOr<QueryResult> QueryDatabaseFile(const std::string& db_path, const std::string& sql,
                                              const QueryLimits& limits = {});

}  // namespace gridrun::coordinator
