// ResultsReader and the guarded query engine (RunReadOnlyQuery) on a
// database written with plain SQL: lookups by id or name, the reuse rule
// through trial_source, the best trial and its errors, what the one PRAGMA
// allow-list lets through and refuses, limits, and the version-4 migration.
#include "coordinator/results_reader.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "coordinator/sqlite_schema.h"

namespace gridrun::coordinator {
namespace {
namespace results_reader_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// Experiment "grid" (exp-1): #0 trial 1 COMPLETE (loss 0.9 then 0.4, fid 3.5,
// final acc 0.75, one sample), #1 trial 2 FAILED "boom" (loss NaN, nan_only
// NaN). Experiment "again" (exp-2): #0 trial 3 reuses trial 1, #1 trial 4
// WAITING. Experiment "exp-1" (exp-3): named like exp-1's id, no trials.
constexpr char kData[] = R"sql(
INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, created_ms, seq)
VALUES
  ('exp-1', 'grid', 'spec: 1', 'a', 'DONE', 1000, 1),
  ('exp-2', 'again', 'spec: 1', 'b', 'ACTIVE', 2000, 2),
  ('exp-3', 'exp-1', 'spec: 1', 'c', 'ACTIVE', 3000, 3);
INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, attempt, config_json,
                    config_sha256, reused_from, error, created_ms) VALUES
  (1, 'exp-1', 1, 0, 'COMPLETE', 1, '{}', 'x', 0, '', 1),
  (2, 'exp-1', 1, 1, 'FAILED', 3, '{}', 'y', 0, 'boom', 1),
  (3, 'exp-2', 2, 0, 'COMPLETE', 0, '{}', 'x', 1, '', 2),
  (4, 'exp-2', 2, 1, 'WAITING', 0, '{}', 'z', 0, '', 2);
INSERT INTO trial_params VALUES
  (1, 'kl_weight', '1'), (2, 'kl_weight', '0.5'), (3, 'kl_weight', '1'), (4, 'kl_weight', '0.25');
INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES
  (1, 'loss', 1, 0, 0.9), (1, 'loss', 2, 1, 0.4), (1, 'fid', 2, 1, 3.5),
  (2, 'loss', 1, 0, NULL), (2, 'nan_only', 1, 0, NULL);
INSERT INTO final_metrics VALUES (1, 'acc', 0.75);
INSERT INTO samples (trial_id, name, step, epoch, png, rows, cols) VALUES
  (1, 'grid', 2, 1, x'89504e47', 2, 3);
)sql";

// Where trials 1 and 2 ran (schema version 5): trial 2's first worker
// reported nothing.
constexpr char kAttemptsData[] = R"sql(
INSERT INTO trial_attempts VALUES
  (1, 1, 'w-1', '{"build_commit":"abc1234","hosts":["node-a"]}', 500),
  (2, 1, 'w-1', NULL, 600), (2, 2, 'w-2', '{"build_commit":"abc1234"}', 700);
)sql";

class ResultsReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("gridrun-reader-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "gridrun.db").string();
    absl::StatusOr<std::unique_ptr<SQLite::Database>> db = OpenDatabase(path_);
    ASSERT_TRUE(db.ok()) << db.status();
    writer_ = *std::move(db);
    writer_->exec(kData);
    writer_->exec(kAttemptsData);
    absl::StatusOr<std::unique_ptr<ResultsReader>> reader = ResultsReader::Open(path_);
    ASSERT_TRUE(reader.ok()) << reader.status();
    reader_ = *std::move(reader);
  }
  void TearDown() override {
    reader_.reset();
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SQLite::Database> writer_;
  std::unique_ptr<ResultsReader> reader_;
};

TEST_F(ResultsReaderTest, FindsExperimentsByIdBeforeName) {
  absl::StatusOr<ExperimentInfo> by_name = reader_->FindExperiment("again");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_name->experiment_id, "exp-2");
  EXPECT_EQ(by_name->status, "ACTIVE");
  EXPECT_EQ(by_name->created_ms, 2000);
  EXPECT_EQ(reader_->FindExperiment("exp-1")->name, "grid");  // the id wins
  absl::Status missing = reader_->FindExperiment("nope").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "no experiment 'nope'");
  EXPECT_EQ(reader_->FindExperiment("grid' OR '1'='1").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ResultsReaderTest, ReadExperimentHasTrialsParamsCurvesAndSamples) {
  absl::StatusOr<ExperimentResults> results = reader_->ReadExperiment("grid", true);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(results->experiment_id, "exp-1");
  EXPECT_THAT(results->axes, ElementsAre("kl_weight"));
  EXPECT_THAT(results->axis_values.at("kl_weight"), ElementsAre("1", "0.5"));
  ASSERT_EQ(results->trials.size(), 2u);
  const TrialResults& first = results->trials[0];
  EXPECT_EQ(first.trial_id, 1);
  EXPECT_EQ(first.attempt, 1);
  EXPECT_THAT(first.params, ElementsAre(Pair("kl_weight", "1")));
  EXPECT_THAT(first.last_metrics,
              ElementsAre(Pair("acc", 0.75), Pair("fid", 3.5), Pair("loss", 0.4)));
  ASSERT_EQ(first.series.at("loss").size(), 2u);
  EXPECT_EQ(first.series.at("loss")[1].step, 2);
  EXPECT_EQ(first.series.at("loss")[1].value, 0.4);
  ASSERT_EQ(first.samples.size(), 1u);
  EXPECT_EQ(first.samples[0].png, std::string("\x89PNG", 4));
  EXPECT_EQ(first.samples[0].cols, 3);
  const TrialResults& failed = results->trials[1];
  EXPECT_EQ(failed.state, "FAILED");
  EXPECT_EQ(failed.error, "boom");
  EXPECT_TRUE(std::isnan(failed.last_metrics.at("loss")));
  EXPECT_FALSE(failed.series.at("loss")[0].value.has_value());

  // Without images: the samples are listed, their bytes are not read.
  absl::StatusOr<ExperimentResults> light = reader_->ReadExperiment("grid", false);
  ASSERT_TRUE(light.ok()) << light.status();
  ASSERT_EQ(light->trials[0].samples.size(), 1u);
  EXPECT_EQ(light->trials[0].samples[0].name, "grid");
  EXPECT_TRUE(light->trials[0].samples[0].png.empty());
  EXPECT_EQ(reader_->ReadExperiment("nope", false).status().code(), absl::StatusCode::kNotFound);
  // Every attempt in order; a worker that reported nothing reads as "".
  const std::vector<AttemptRecord>& attempts = results->trials[1].attempts;
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_EQ(attempts[0].environment_json, "");
  EXPECT_EQ(attempts[0].started_ms, 600);
  EXPECT_EQ(attempts[1].worker_id, "w-2");
  EXPECT_EQ(attempts[1].environment_json, R"({"build_commit":"abc1234"})");
}

TEST_F(ResultsReaderTest, AReusedTrialShowsItsSourcesData) {
  absl::StatusOr<ExperimentResults> results = reader_->ReadExperiment("again", true);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->trials.size(), 2u);
  const TrialResults& reused = results->trials[0];
  EXPECT_EQ(reused.trial_id, 3);
  EXPECT_EQ(reused.reused_from, 1);
  EXPECT_THAT(reused.last_metrics,
              ElementsAre(Pair("acc", 0.75), Pair("fid", 3.5), Pair("loss", 0.4)));
  EXPECT_EQ(reused.series.at("loss").size(), 2u);
  ASSERT_EQ(reused.samples.size(), 1u);
  EXPECT_EQ(reused.samples[0].png, std::string("\x89PNG", 4));
  EXPECT_TRUE(results->trials[1].last_metrics.empty());
  // Where it ran: the source's attempts.
  ASSERT_EQ(reused.attempts.size(), 1u);
  EXPECT_EQ(reused.attempts[0].trial_id, 1);
  EXPECT_EQ(reused.attempts[0].worker_id, "w-1");
  EXPECT_EQ(reused.attempts[0].environment_json, R"({"build_commit":"abc1234","hosts":["node-a"]})");
  EXPECT_TRUE(results->trials[1].attempts.empty());

  // The rule itself, as every view and the store read it.
  absl::StatusOr<QueryResult> sources =
      reader_->Query("SELECT trial_id, source_trial_id FROM trial_source ORDER BY trial_id");
  ASSERT_TRUE(sources.ok()) << sources.status();
  ASSERT_EQ(sources->rows.size(), 4u);
  const int64_t expected[] = {1, 2, 1, 4};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sources->rows[i][0].AsInteger(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(sources->rows[i][1].AsInteger(), expected[i]);
  }
}

TEST_F(ResultsReaderTest, BestTrialByTheLastValueOfAMetric) {
  absl::StatusOr<BestTrialResult> best = reader_->BestTrial("grid", "loss", false);
  ASSERT_TRUE(best.ok()) << best.status();  // trial 2's NaN takes no part
  EXPECT_EQ(best->experiment.name, "grid");
  EXPECT_EQ(best->trial.trial_id, 1);
  EXPECT_EQ(best->value, 0.4);
  EXPECT_EQ(best->step, 2);
  EXPECT_EQ(best->epoch, 1);
  EXPECT_THAT(best->trial.params, ElementsAre(Pair("kl_weight", "1")));
  EXPECT_EQ(reader_->BestTrial("grid", "loss", true)->trial.trial_id, 1);
  absl::StatusOr<BestTrialResult> reused = reader_->BestTrial("exp-2", "fid", true);
  ASSERT_TRUE(reused.ok()) << reused.status();
  EXPECT_EQ(reused->trial.trial_id, 3);
  EXPECT_EQ(reused->trial.reused_from, 1);
  EXPECT_EQ(reused->value, 3.5);
}

TEST_F(ResultsReaderTest, BestTrialErrorsNameWhatExists) {
  absl::Status status = reader_->BestTrial("grid", "nope", false).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "experiment 'grid' has no metric 'nope'; its metrics: fid, loss, nan_only");
  status = reader_->BestTrial("grid", "nan_only", false).status();
  EXPECT_EQ(status.message(), "every trial of experiment 'grid' reported metric 'nan_only' as NaN");
  status = reader_->BestTrial("exp-3", "loss", false).status();
  EXPECT_EQ(status.message(), "experiment 'exp-1' has no metric 'loss'; it has no metrics yet");
  EXPECT_EQ(reader_->BestTrial("nope", "loss", false).status().message(), "no experiment 'nope'");
  EXPECT_EQ(reader_->BestTrial("grid", "", false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ResultsReaderTest, QueryAllowsReadsAndTheListedPragmas) {
  for (const char* sql :
       {"SELECT COUNT(*) FROM results;  -- trailing comment", "PRAGMA table_info(trials)",
        "PRAGMA index_list(trials)", "PRAGMA table_list", "PRAGMA user_version",
        "PRAGMA application_id", "PRAGMA foreign_keys",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) "
        "SELECT SUM(x) FROM c"}) {
    absl::StatusOr<QueryResult> result = reader_->Query(sql);
    EXPECT_TRUE(result.ok()) << sql << ": " << result.status();
  }
  absl::StatusOr<QueryResult> columns = reader_->Query("PRAGMA table_info(trial_params)");
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_EQ(columns->rows.size(), 3u);
  absl::StatusOr<QueryResult> cells =
      reader_->Query("SELECT 7, 2.5, 'text', NULL, png FROM samples");
  ASSERT_TRUE(cells.ok()) << cells.status();
  const std::vector<SqlValue>& row = cells->rows.at(0);
  EXPECT_EQ(row[0].AsInteger(), 7);
  EXPECT_EQ(row[1].AsDouble(), 2.5);
  EXPECT_EQ(row[1].AsInteger(), std::nullopt);
  EXPECT_EQ(row[2].type, SqlValue::Type::kText);
  EXPECT_EQ(row[2].AsDouble(), std::nullopt);
  EXPECT_TRUE(row[3].is_null());
  EXPECT_EQ(row[4].type, SqlValue::Type::kBlob);
  EXPECT_EQ(row[4].text, std::string("\x89PNG", 4));
}

// The union of what the two former engines refused (cli/read_only_query and
// the schema's), on the reader's read-only connection.
TEST_F(ResultsReaderTest, QueryRefusesEverythingThatIsNotARead) {
  for (const char* sql : {"DELETE FROM trials",
                          "UPDATE trials SET state = 'FAILED'",
                          "INSERT INTO workers "
                          "(worker_id) VALUES ('w')",
                          "DROP TABLE metrics",
                          "CREATE TABLE u (x)",
                          "PRAGMA user_version = 99",
                          "PRAGMA journal_mode = DELETE",
                          "PRAGMA journal_mode",
                          "PRAGMA foreign_keys = OFF",
                          "PRAGMA integrity_check",
                          "PRAGMA wal_checkpoint",
                          "PRAGMA optimize",
                          "BEGIN",
                          "VACUUM",
                          "ATTACH DATABASE ':memory:' AS other",
                          "SELECT load_extension('/tmp/evil.so')",
                          "SELECT LOAD_EXTENSION('/tmp/evil.so')",
                          "SELECT 1; DELETE FROM trials",
                          "SELECT 1; SELECT 2",
                          "WITH x AS (SELECT 1) DELETE FROM trials",
                          "SELEC 1",
                          "",
                          "  ;"}) {
    absl::StatusOr<QueryResult> result = reader_->Query(sql);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << sql << "': " << result.status();
  }
  EXPECT_EQ(reader_->Query("ATTACH DATABASE ':memory:' AS other").status().message(),
            "refused: ATTACH (queries are read-only; the database was not changed)");
  EXPECT_EQ(reader_->Query("PRAGMA user_version = 99").status().message(),
            "refused: PRAGMA user_version (queries are read-only; the database was not changed)");
  EXPECT_EQ(reader_->Query("SELECT load_extension('x')").status().message(),
            "refused: load_extension() (queries are read-only; the database was not changed)");
  EXPECT_EQ(reader_->Query("SELECT 1; SELECT 2").status().message(),
            "SQL error: only one statement per query is allowed");
  EXPECT_EQ(reader_->Query("").status().message(), "SQL error: empty query");
  EXPECT_EQ(reader_->Query("SELECT COUNT(*) FROM trials")->rows[0][0].AsInteger(), 4);
  EXPECT_EQ(reader_->Query("PRAGMA user_version")->rows[0][0].AsInteger(), LatestSchemaVersion());
}

TEST_F(ResultsReaderTest, QueryLimitsRowsAndTime) {
  absl::StatusOr<QueryResult> some =
      reader_->Query("SELECT trial_id FROM trials ORDER BY trial_id", QueryLimits{2, 10'000});
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(some->rows.size(), 2u);
  EXPECT_TRUE(some->truncated);
  EXPECT_FALSE(reader_->Query("SELECT trial_id FROM trials", QueryLimits{4, 10'000})->truncated);
  absl::Status endless = reader_
                             ->Query(
                                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                 "FROM c) SELECT count(*) FROM c",
                                 QueryLimits{10, 100})
                             .status();
  EXPECT_EQ(endless.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(endless.message(), "query stopped after the time limit of 100 ms");
}

// The store runs the engine on its read-write connection: the guards must
// not outlive the call.
TEST_F(ResultsReaderTest, TheEngineLeavesAReadWriteConnectionAsItWas) {
  EXPECT_EQ(RunReadOnlyQuery(*writer_, "DELETE FROM workers").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunReadOnlyQuery(*writer_,
                             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                             "SELECT count(*) FROM c",
                             QueryLimits{10, 50})
                .status()
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  writer_->exec("INSERT INTO workers (worker_id) VALUES ('w-1')");
  EXPECT_EQ(writer_
                ->execAndGet("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                             "WHERE x < 200000) SELECT count(*) FROM c")
                .getInt64(),
            200000);
  EXPECT_EQ(RunReadOnlyQuery(*writer_, "SELECT COUNT(*) FROM workers")->rows[0][0].AsInteger(), 1);
}

TEST_F(ResultsReaderTest, OpenAndQueryFileErrors) {
  const std::string missing = (dir_ / "missing.db").string();
  absl::Status status = ResultsReader::Open(missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no gridrun database at " + missing);
  status = QueryDatabaseFile(missing, "SELECT 1").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "database " + missing + " does not exist");
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_EQ(ReadExperimentFromFile(missing, "grid", false).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<ExperimentResults> read = ReadExperimentFromFile(path_, "grid", false);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->trials.size(), 2u);
  // Any SQLite file takes ad-hoc SQL, read-only.
  absl::StatusOr<QueryResult> count = QueryDatabaseFile(path_, "SELECT COUNT(*) FROM trials");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->rows[0][0].AsInteger(), 4);
  EXPECT_EQ(QueryDatabaseFile(path_, "DELETE FROM trials").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A database as gridrun with schema version 3 left it, with a reused trial:
// version 4 rebuilds the views on trial_source, which show the same rows.
TEST(SchemaMigrationTest, Version3DatabaseGetsTrialSource) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("gridrun-v4-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "gridrun.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    const std::vector<Migration> v3(SchemaMigrations().begin(), SchemaMigrations().begin() + 3);
    ASSERT_TRUE(ApplyMigrations(db, v3).ok());
    EXPECT_EQ(
        db.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE name = 'trial_source'").getInt(),
        0);
    db.exec(kData);
  }
  {
    absl::StatusOr<std::unique_ptr<SQLite::Database>> db = OpenDatabase(path);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ(*ReadSchemaVersion(**db), LatestSchemaVersion());
    absl::StatusOr<QueryResult> last =
        RunReadOnlyQuery(**db,
                         "SELECT trial_id, source_trial_id, name, value FROM trial_metrics_last "
                         "WHERE trial_id = 3 ORDER BY name");
    ASSERT_TRUE(last.ok()) << last.status();
    ASSERT_EQ(last->rows.size(), 2u);
    EXPECT_EQ(last->rows[0][1].AsInteger(), 1);
    EXPECT_EQ(last->rows[0][2].text, "fid");
    EXPECT_EQ(last->rows[1][3].AsDouble(), 0.4);
    absl::StatusOr<QueryResult> results = RunReadOnlyQuery(
        **db, "SELECT metrics_json, final_metrics_json FROM results WHERE trial_id = 3");
    ASSERT_TRUE(results.ok()) << results.status();
    EXPECT_EQ(results->rows.at(0)[0].text, R"({"fid":3.5,"loss":0.4})");
    EXPECT_EQ(results->rows.at(0)[1].text, R"({"acc":0.75})");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace results_reader_test
}  // namespace
}  // namespace gridrun::coordinator
