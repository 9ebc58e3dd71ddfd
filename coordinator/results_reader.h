// ResultsReader: the one read path for results. It opens a gridrun database
// read-only (SQLITE_OPEN_READONLY, so it works while the coordinator writes:
// WAL readers never block the writer) and reads an experiment by id or name,
// its trials with params and last metric values, their learning curves and
// sample images, the best trial by one metric, and runs guarded ad-hoc SQL
// (RunReadOnlyQuery in read_only_query.h). `gridrun query`, `best`, `export`
// and `report` read through it.
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

  // Ad-hoc SQL through the guarded engine (RunReadOnlyQuery: one read-only
  // statement; errors as there).
  absl::StatusOr<QueryResult> Query(const std::string& sql, const QueryLimits& limits = {});

 private:
  explicit ResultsReader(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

  // The helpers below run inside a read transaction and may throw.
  std::optional<ExperimentInfo> LookUp(const std::string& id_or_name);
  std::vector<std::string> MetricNamesLocked(const std::string& experiment_id);
  std::map<std::string, std::string> ParamsOf(int64_t trial_id);

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
