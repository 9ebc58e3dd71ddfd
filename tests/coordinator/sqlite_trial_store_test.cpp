#include "coordinator/sqlite_trial_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "coordinator/sqlite_schema.h"
#include "coordinator/sqlite_store_internal.h"
#include "tests/coordinator/trial_store_contract.h"

namespace gridrun::coordinator {
namespace {
namespace sqlite_trial_store_test {

using store_test::LeaseOf;
using store_test::MakeTestExperiment;
using store_test::ScratchDir;
using store_test::TestPoint;

absl::StatusOr<std::unique_ptr<TrialStore>> AsTrialStore(
    absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store) {
  if (!store.ok()) return store.status();
  return std::unique_ptr<TrialStore>(std::move(*store));
}

struct SqliteMemoryTraits {
  static constexpr const char* kName = "Memory";
  static absl::StatusOr<std::unique_ptr<TrialStore>> Open(const std::filesystem::path&) {
    return AsTrialStore(SqliteTrialStore::Open(":memory:"));
  }
};

struct SqliteFileTraits {
  static constexpr const char* kName = "File";
  static absl::StatusOr<std::unique_ptr<TrialStore>> Open(const std::filesystem::path& dir) {
    return AsTrialStore(SqliteTrialStore::Open((dir / "gridrun.db").string()));
  }
};

}  // namespace sqlite_trial_store_test
}  // namespace

namespace store_test {
using sqlite_trial_store_test::SqliteFileTraits;
using sqlite_trial_store_test::SqliteMemoryTraits;
using SqliteStores = ::testing::Types<SqliteMemoryTraits, SqliteFileTraits>;
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, TrialStoreContractTest, SqliteStores, TrialStoreTraitsNames);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, PersistentTrialStoreContractTest,
                               ::testing::Types<SqliteFileTraits>, TrialStoreTraitsNames);
}  // namespace store_test

namespace {
namespace sqlite_trial_store_test {

constexpr int64_t kLeaseMs = 30'000;

std::string Text(const SqlValue& value) {
  if (value.type == SqlValue::Type::kText) return value.text;
  ADD_FAILURE() << "not TEXT";
  return "";
}

int64_t Int(const SqlValue& value) {
  if (std::optional<int64_t> i = value.AsInteger()) return *i;
  ADD_FAILURE() << "not INTEGER";
  return 0;
}

double Real(const SqlValue& value) {
  if (std::optional<double> d = value.AsDouble()) return *d;
  ADD_FAILURE() << "not a number";
  return 0;
}

// Store-specific behaviour (the schema, its views, raw SQL), on an in-memory
// database and on a file.
class SqliteTrialStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    path_ = GetParam() ? (dir_.path() / "gridrun.db").string() : ":memory:";
    absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store = SqliteTrialStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  QueryResult Query(const std::string& sql) {
    absl::StatusOr<QueryResult> result = store_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status() << "\n" << sql;
    return result.ok() ? *result : QueryResult{};
  }

  TrialRecord Claim(const std::string& worker_id) {
    absl::StatusOr<std::optional<TrialRecord>> claimed =
        store_->ClaimNextTrial(worker_id, 1, "cpu", clock_.NowMs(), kLeaseMs);
    EXPECT_TRUE(claimed.ok() && claimed->has_value());
    return claimed.ok() && claimed->has_value() ? **claimed : TrialRecord{};
  }

  void Submit(const std::string& name, const std::vector<TestPoint>& points) {
    absl::StatusOr<SubmitResult> result =
        store_->SubmitExperiment(MakeTestExperiment(name, points), false, clock_.NowMs());
    ASSERT_TRUE(result.ok()) << result.status();
  }

  FakeClock clock_;
  ScratchDir dir_;
  std::string path_;
  std::unique_ptr<SqliteTrialStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteTrialStoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "File" : "Memory";
                         });

TEST_P(SqliteTrialStoreTest, ResultsViewHasOneRowPerTrialWithParamsAndMetrics) {
  Submit("first", {{1.0, 2}, {0.5, 64}});
  TrialRecord trained = Claim("w-1");
  ASSERT_TRUE(store_
                  ->WriteMetrics(LeaseOf(trained), {{"loss", 1, 0, 0.9, 0},
                                                    {"loss", 2, 1, 0.4, 0},
                                                    {"test_elbo", 2, 1, -100.5, 0}})
                  .ok());
  ASSERT_TRUE(store_->CompleteTrial(LeaseOf(trained), {{"fid", 3.25}}, clock_.NowMs()).ok());
  Submit("second", {{1.0, 2}, {0.25, 2}});  // #0 reuses `trained`

  QueryResult all = Query(
      "SELECT experiment, trial_id, number, state, attempt, reused_from, params_json, "
      "metrics_json, final_metrics_json FROM results ORDER BY trial_id");
  ASSERT_EQ(all.rows.size(), 4u);
  EXPECT_EQ(all.columns[0], "experiment");
  QueryResult distinct = Query("SELECT COUNT(*), COUNT(DISTINCT trial_id) FROM results");
  EXPECT_EQ(Int(distinct.rows[0][0]), 4);
  EXPECT_EQ(Int(distinct.rows[0][1]), 4);

  const std::vector<SqlValue>& original = all.rows[0];
  EXPECT_EQ(Text(original[0]), "first");
  EXPECT_EQ(Int(original[1]), trained.trial_id);
  EXPECT_EQ(Text(original[3]), "COMPLETE");
  EXPECT_EQ(Int(original[4]), 1);
  EXPECT_EQ(Int(original[5]), 0);
  // Params come out typed: numbers, not strings.
  EXPECT_EQ(nlohmann::json::parse(Text(original[6])),
            nlohmann::json::parse(R"({"kl_weight": 1.0, "latent_size": 2})"));
  EXPECT_EQ(nlohmann::json::parse(Text(original[7])),
            nlohmann::json::parse(R"({"loss": 0.4, "test_elbo": -100.5})"));
  EXPECT_EQ(nlohmann::json::parse(Text(original[8])), nlohmann::json::parse(R"({"fid": 3.25})"));

  const std::vector<SqlValue>& waiting = all.rows[1];
  EXPECT_EQ(Text(waiting[3]), "WAITING");
  EXPECT_EQ(Text(waiting[7]), "{}");
  EXPECT_EQ(Text(waiting[8]), "{}");

  const std::vector<SqlValue>& reused = all.rows[2];
  EXPECT_EQ(Text(reused[0]), "second");
  EXPECT_EQ(Text(reused[3]), "COMPLETE");
  EXPECT_EQ(Int(reused[5]), trained.trial_id);
  EXPECT_EQ(Text(reused[7]), Text(original[7]));
  EXPECT_EQ(Text(reused[8]), Text(original[8]));

  // The one-liner users type.
  QueryResult one = Query(
      "SELECT json_extract(params_json, '$.kl_weight'), json_extract(metrics_json, '$.loss') "
      "FROM results WHERE experiment = 'second' AND number = 0");
  ASSERT_EQ(one.rows.size(), 1u);
  EXPECT_DOUBLE_EQ(Real(one.rows[0][0]), 1.0);
  EXPECT_DOUBLE_EQ(Real(one.rows[0][1]), 0.4);
}

// A batch goes in as multi-row upserts of up to 64 points: 70 points are
// two statements, and a point repeated in one batch (in one statement or
// across two) keeps its last value, as it would one statement per point.
TEST_P(SqliteTrialStoreTest, ALargeBatchWithRepeatedPointsKeepsEachPointsLastValue) {
  Submit("batch", {{1.0}});
  TrialRecord t = Claim("w-1");
  std::vector<MetricPointRecord> points;
  for (int64_t step = 0; step < 68; ++step) {
    points.push_back({"loss", step, step / 10, 1.0 / static_cast<double>(step + 1), 0});
  }
  // Points 64-69 are the second statement: step 65's first copy is in it
  // too, step 3's is in the first.
  points.push_back({"loss", 65, 6, 42.0, 0});
  points.push_back({"loss", 3, 0, 43.0, 0});
  absl::StatusOr<int64_t> written = store_->WriteMetrics(LeaseOf(t), points);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 70);
  std::vector<MetricPointRecord> stored = store_->ListMetrics(t.trial_id).value();
  ASSERT_EQ(stored.size(), 68u);
  EXPECT_DOUBLE_EQ(stored[65].value, 42.0);
  EXPECT_DOUBLE_EQ(stored[3].value, 43.0);
  EXPECT_DOUBLE_EQ(stored[40].value, 1.0 / 41);
  EXPECT_DOUBLE_EQ(stored[67].value, 1.0 / 68);
  EXPECT_EQ(stored[67].epoch, 6);
  EXPECT_DOUBLE_EQ(store_->LatestMetrics(t.trial_id).value().at("loss"), 1.0 / 68);
}

TEST_P(SqliteTrialStoreTest, TrialMetricsLastHasTheLastStepOfEachMetric) {
  Submit("first", {{1.0}});
  TrialRecord t = Claim("w-1");
  ASSERT_TRUE(
      store_
          ->WriteMetrics(LeaseOf(t),
                         {{"loss", 30, 3, 0.3, 0}, {"loss", 10, 1, 0.1, 0}, {"acc", 20, 2, 0.8, 0}})
          .ok());
  // A resumed trial rewriting an older step leaves the newest point in place;
  // rewriting the newest step itself replaces its value.
  ASSERT_TRUE(store_->WriteMetrics(LeaseOf(t), {{"loss", 10, 1, 0.15, 0}}).ok());
  ASSERT_TRUE(store_->WriteMetrics(LeaseOf(t), {{"acc", 20, 2, 0.85, 0}}).ok());
  EXPECT_EQ(store_->LatestMetrics(t.trial_id).value(),
            (std::map<std::string, double>{{"acc", 0.85}, {"loss", 0.3}}));
  ASSERT_TRUE(store_->CompleteTrial(LeaseOf(t), {}, clock_.NowMs()).ok());
  Submit("second", {{1.0}});
  const int64_t reused_id = store_->ListTrials("second", {}).value().at(0).trial_id;

  QueryResult rows = Query(
      "SELECT trial_id, source_trial_id, name, step, value FROM trial_metrics_last "
      "ORDER BY trial_id, name");
  ASSERT_EQ(rows.rows.size(), 4u);
  for (int i : {0, 2}) {
    EXPECT_EQ(Int(rows.rows[i][0]), i == 0 ? t.trial_id : reused_id);
    EXPECT_EQ(Int(rows.rows[i][1]), t.trial_id);
    EXPECT_EQ(Text(rows.rows[i][2]), "acc");
    EXPECT_EQ(Int(rows.rows[i][3]), 20);
    EXPECT_DOUBLE_EQ(Real(rows.rows[i][4]), 0.85);
    EXPECT_EQ(Text(rows.rows[i + 1][2]), "loss");
    EXPECT_EQ(Int(rows.rows[i + 1][3]), 30);
    EXPECT_DOUBLE_EQ(Real(rows.rows[i + 1][4]), 0.3);
  }
}

TEST_P(SqliteTrialStoreTest, SchemaIsCurrentAndPragmasAreSet) {
  EXPECT_EQ(Int(Query("PRAGMA user_version").rows.at(0).at(0)), LatestSchemaVersion());
  EXPECT_EQ(Int(Query("PRAGMA application_id").rows.at(0).at(0)), kGridrunApplicationId);
  EXPECT_EQ(Int(Query("PRAGMA foreign_keys").rows.at(0).at(0)), 1);
  if (GetParam()) {
    EXPECT_EQ(Int(Query("PRAGMA synchronous").rows.at(0).at(0)), 1);  // NORMAL
    // journal_mode is persistent in the file; Query() refuses the pragma.
    absl::StatusOr<std::unique_ptr<SQLite::Database>> raw = OpenReadOnlyDatabase(path_);
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_EQ((*raw)->execAndGet("PRAGMA journal_mode").getString(), "wal");
  }
  for (const char* table :
       {"experiments", "trials", "trial_params", "metrics", "samples", "checkpoints", "workers",
        "final_metrics", "metrics_last", "results", "trial_metrics_last"}) {
    QueryResult found =
        Query(std::string("SELECT COUNT(*) FROM sqlite_master WHERE name = '") + table + "'");
    EXPECT_EQ(Int(found.rows.at(0).at(0)), 1) << table;
  }
}

TEST_P(SqliteTrialStoreTest, LeasingIsOneIndexProbeWithoutSorting) {
  QueryResult plan = Query(
      "EXPLAIN QUERY PLAN SELECT trial_id FROM trials WHERE state = 'WAITING' AND ranks = 1 "
      "AND device = 'cpu' ORDER BY experiment_seq, number LIMIT 1");
  std::string details;
  for (const std::vector<SqlValue>& row : plan.rows) details += Text(row.back()) + "\n";
  EXPECT_NE(details.find("trials_lease"), std::string::npos) << details;
  EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << details;
}

TEST_P(SqliteTrialStoreTest, CompletingATrialLooksUpPausedTrialsWithoutScanningItsExperiment) {
  // Every completion runs this query; read in trial-number order it cost a
  // pass over all the experiment's trials.
  Submit("grid", {{1.0}, {0.5}});
  QueryResult plan =
      Query(std::string("EXPLAIN QUERY PLAN ") + sqlite_store::kSqlPausedWhenIdle);
  std::string details;
  for (const std::vector<SqlValue>& row : plan.rows) details += Text(row.back()) + "\n";
  EXPECT_NE(details.find("SEARCH trials USING INDEX trials_experiment_state (experiment_id=? "
                         "AND state=?)"),
            std::string::npos)
      << details;
  EXPECT_EQ(details.find("sqlite_autoindex_trials"), std::string::npos) << details;
}

TEST_P(SqliteTrialStoreTest, QueryRunsOnlyOneReadOnlyStatement) {
  Submit("grid", {{1.0}});
  EXPECT_EQ(Query("SELECT COUNT(*) FROM trials;  -- trailing comment").rows.size(), 1u);
  for (const char* sql :
       {"DELETE FROM trials", "UPDATE trials SET state = 'FAILED'", "DROP TABLE metrics",
        "PRAGMA foreign_keys = OFF", "BEGIN", "ATTACH DATABASE ':memory:' AS other",
        "SELECT 1; DELETE FROM trials", "SELECT 1; SELECT 2", "SELEC 1", "", "  ;"}) {
    absl::StatusOr<QueryResult> result = store_->Query(sql);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << sql << "': " << result.status();
  }
  EXPECT_EQ(Int(Query("SELECT COUNT(*) FROM trials").rows[0][0]), 1);
  EXPECT_EQ(Int(Query("PRAGMA foreign_keys").rows[0][0]), 1);
  // The store still works after the refused statements.
  EXPECT_EQ(Claim("w-1").number, 0);
}

TEST_P(SqliteTrialStoreTest, BadInputIsInvalidArgument) {
  EXPECT_EQ(store_->SubmitExperiment(MakeTestExperiment("", {{1.0}}), false, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  NewExperiment twice = MakeTestExperiment("twice", {{1.0}, {0.5}});
  twice.trials[1].number = 0;
  EXPECT_EQ(store_->SubmitExperiment(twice, false, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ClaimNextTrial("", 1, "cpu", 0, kLeaseMs).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ClaimNextTrial("w-1", 1, "cpu", 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Int(Query("SELECT COUNT(*) FROM experiments").rows[0][0]), 0);
}

TEST_P(SqliteTrialStoreTest, ExperimentIdsDeriveFromNameAndSpec) {
  NewExperiment experiment = MakeTestExperiment("vae", {{1.0}});
  absl::StatusOr<SubmitResult> submitted = store_->SubmitExperiment(experiment, false, 0);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->experiment_id,
            "exp-" + Sha256Hex(experiment.name + experiment.spec_sha256).substr(0, 8));
}

// A database file, opened in several ways.
class SqliteTrialStoreFileTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return (dir_.path() / "gridrun.db").string(); }

  std::unique_ptr<SqliteTrialStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store = SqliteTrialStore::Open(DbPath());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  ScratchDir dir_;
};

TEST_F(SqliteTrialStoreFileTest, ReadOnlyConnectionsReadButCannotWrite) {
  std::unique_ptr<SqliteTrialStore> writer = OpenStore();
  ASSERT_TRUE(writer->SubmitExperiment(MakeTestExperiment("grid", {{1.0}}), false, 0).ok());

  absl::StatusOr<std::unique_ptr<SqliteTrialStore>> reader =
      SqliteTrialStore::OpenReadOnly(DbPath());
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->read_only());
  ASSERT_TRUE((*reader)->ListTrials("grid", {}).ok());
  EXPECT_EQ((*reader)->ListTrials("grid", {})->size(), 1u);
  absl::Status refused =
      (*reader)->SubmitExperiment(MakeTestExperiment("other", {{0.5}}), false, 0).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_EQ((*reader)->ClaimNextTrial("w-1", 1, "cpu", 0, kLeaseMs).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*reader)->CancelExperiment("grid", 0).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // The raw read-only connection of the CLI query path.
  absl::StatusOr<std::unique_ptr<SQLite::Database>> raw = OpenReadOnlyDatabase(DbPath());
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_THROW((*raw)->exec("DELETE FROM trials"), SQLite::Exception);
  EXPECT_THROW((*raw)->exec("CREATE TABLE x (y)"), SQLite::Exception);
  absl::StatusOr<QueryResult> count = RunReadOnlyQuery(**raw, "SELECT COUNT(*) FROM results");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(Int(count->rows[0][0]), 1);

  // Readers see what the writer commits later.
  ASSERT_TRUE(writer->ClaimNextTrial("w-1", 1, "cpu", 0, kLeaseMs).ok());
  EXPECT_EQ((*reader)->ListTrials("grid", {})->at(0).state, TrialState::kRunning);
  EXPECT_EQ(writer->ListTrials("grid", {})->size(), 1u);
}

TEST_F(SqliteTrialStoreFileTest, OpenReadOnlyNeedsAnExistingCurrentDatabase) {
  EXPECT_EQ(SqliteTrialStore::OpenReadOnly(DbPath()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(DbPath()));  // and did not create it
  EXPECT_EQ(OpenReadOnlyDatabase(":memory:").status().code(), absl::StatusCode::kInvalidArgument);
  { SQLite::Database empty(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
  absl::Status older = OpenReadOnlyDatabase(DbPath()).status();
  EXPECT_EQ(older.code(), absl::StatusCode::kFailedPrecondition) << older;
  EXPECT_NE(older.message().find("older"), std::string::npos) << older;
}

TEST_F(SqliteTrialStoreFileTest, ANewerSchemaIsRefused) {
  ASSERT_NE(OpenStore(), nullptr);
  {
    SQLite::Database raw(DbPath(), SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = " + std::to_string(LatestSchemaVersion() + 1));
  }
  const std::string expected =
      "database schema version " + std::to_string(LatestSchemaVersion() + 1) +
      " is newer than this gridrun (knows up to " +
      std::to_string(LatestSchemaVersion()) + "); upgrade gridrun";
  absl::Status status = SqliteTrialStore::Open(DbPath()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), expected);
  status = SqliteTrialStore::OpenReadOnly(DbPath()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), expected);
}

TEST_F(SqliteTrialStoreFileTest, AForeignDatabaseIsRefused) {
  {
    SQLite::Database raw(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY)");
  }
  absl::Status status = SqliteTrialStore::Open(DbPath()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("not a gridrun database"), std::string::npos) << status;
}

TEST_F(SqliteTrialStoreFileTest, MigrationsApplyInOrderFromTheStoredVersion) {
  SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::vector<Migration> v1 = {{1, "table a", "CREATE TABLE a (x INTEGER);"}};
  ASSERT_TRUE(ApplyMigrations(db, v1).ok());
  EXPECT_EQ(*ReadSchemaVersion(db), 1);
  // Version 1 must not run again (it would fail: table a exists).
  const std::vector<Migration> v2 = {
      v1[0], {2, "column y", "ALTER TABLE a ADD COLUMN y INTEGER; INSERT INTO a VALUES (1, 2);"}};
  absl::Status s = ApplyMigrations(db, v2);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(*ReadSchemaVersion(db), 2);
  EXPECT_EQ(db.execAndGet("SELECT y FROM a").getInt(), 2);
  ASSERT_TRUE(ApplyMigrations(db, v2).ok());  // nothing pending
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM a").getInt(), 1);
  // Going back is refused.
  EXPECT_EQ(ApplyMigrations(db, v1).code(), absl::StatusCode::kFailedPrecondition);
  // Misnumbered lists are a programming error.
  EXPECT_EQ(ApplyMigrations(db, {{1, "", ""}, {3, "", ""}}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteTrialStoreFileTest, Version1DatabaseGetsMetricsLastFromItsMetrics) {
  {
    // A database as gridrun with schema version 1 left it.
    SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(ApplyMigrations(db, {SchemaMigrations().at(0)}).ok());
    db.exec(
        "INSERT INTO experiments VALUES ('exp-1', 'old', 'spec', 'sha', 'DONE', 1, 1);"
        "INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, "
        "  config_json, config_sha256, created_ms) VALUES "
        "  (1, 'exp-1', 1, 0, 'COMPLETE', '{}', 'a', 1), (2, 'exp-1', 1, 1, 'COMPLETE', '{}', 'b', 1);"
        "INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES "
        "  (1, 'loss', 1, 0, 0.9), (1, 'loss', 5, 1, 0.5), (1, 'loss', 3, 0, 0.7),"
        "  (1, 'fid', 5, 1, 40.0), (2, 'loss', 2, 0, NULL);");
  }
  std::unique_ptr<SqliteTrialStore> store = OpenStore();
  QueryResult rows =
      store->Query("SELECT trial_id, name, step, epoch, value FROM metrics_last "
                   "ORDER BY trial_id, name").value();
  ASSERT_EQ(rows.rows.size(), 3u);
  EXPECT_EQ(Text(rows.rows[0][1]), "fid");
  EXPECT_EQ(Int(rows.rows[1][2]), 5);
  EXPECT_EQ(Int(rows.rows[1][3]), 1);
  EXPECT_DOUBLE_EQ(Real(rows.rows[1][4]), 0.5);
  EXPECT_EQ(Int(rows.rows[2][0]), 2);
  EXPECT_TRUE(rows.rows[2][4].is_null());  // NaN stays NULL
  EXPECT_EQ(Int(store->Query("PRAGMA user_version").value().rows.at(0).at(0)),
            LatestSchemaVersion());
}

TEST_F(SqliteTrialStoreFileTest, Version8TrialsGetTheirWarmStartSourceFromTheirConfig) {
  {
    // A database as gridrun with schema version 8 left it: trial 2 warm-
    // starts from trial 1 (its config's init_from, a JSON text field).
    SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    std::vector<Migration> v8(SchemaMigrations().begin(), SchemaMigrations().begin() + 8);
    ASSERT_TRUE(ApplyMigrations(db, v8).ok());
    db.exec(
        "INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, "
        "  created_ms, seq) VALUES ('exp-1', 'old', 'spec', 'sha', 'ACTIVE', 1, 1);"
        "INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, "
        "  config_json, config_sha256, created_ms) VALUES "
        "  (1, 'exp-1', 1, 0, 'COMPLETE', '{\"epochs\":2}', 'a', 1),"
        "  (2, 'exp-1', 1, 1, 'WAITING', "
        "   '{\"epochs\":2,\"init_from\":\"{\\\"layers\\\":1,\\\"trial\\\":1}\"}', 'b', 1);");
  }
  std::unique_ptr<SqliteTrialStore> store = OpenStore();
  QueryResult rows =
      store->Query("SELECT trial_id, init_from_trial FROM trials ORDER BY trial_id").value();
  ASSERT_EQ(rows.rows.size(), 2u);
  EXPECT_TRUE(rows.rows[0][1].is_null());
  EXPECT_EQ(Int(rows.rows[1][1]), 1);
}

TEST_F(SqliteTrialStoreFileTest, Version2TrialsStartWithNoPreemptions) {
  {
    // A database as gridrun with schema version 2 left it: a trial on its
    // second attempt.
    SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(ApplyMigrations(db, {SchemaMigrations().at(0), SchemaMigrations().at(1)}).ok());
    db.exec(
        "INSERT INTO experiments VALUES ('exp-1', 'old', 'spec', 'sha', 'ACTIVE', 1, 1);"
        "INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, attempt, "
        "  config_json, config_sha256, created_ms) VALUES "
        "  (1, 'exp-1', 1, 0, 'WAITING', 1, '{}', 'a', 1);");
  }
  std::unique_ptr<SqliteTrialStore> store = OpenStore();
  EXPECT_EQ(Int(store->Query("PRAGMA user_version").value().rows.at(0).at(0)),
            LatestSchemaVersion());
  absl::StatusOr<TrialRecord> trial = store->GetTrial(1);
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(trial->attempt, 1);
  EXPECT_EQ(trial->preemptions, 0);
  // Its next lease is attempt 2; a hand-back counts.
  auto claimed = store->ClaimNextTrial("w-1", 1, "cpu", 0, 1000);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  ASSERT_TRUE(store->HandBackTrial({1, "w-1", 2}, "preempted", 5).ok());
  EXPECT_EQ(store->GetTrial(1)->preemptions, 1);
}

TEST_F(SqliteTrialStoreFileTest, Version3DatabaseGetsAnEmptyAttemptsTable) {
  {
    // A database as gridrun with schema version 3 left it: a trial running
    // its first attempt, leased before attempts were recorded.
    SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(ApplyMigrations(db, {SchemaMigrations().at(0), SchemaMigrations().at(1),
                                     SchemaMigrations().at(2)})
                    .ok());
    db.exec(
        "INSERT INTO experiments VALUES ('exp-1', 'old', 'spec', 'sha', 'ACTIVE', 1, 1);"
        "INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, attempt, "
        "  worker_id, lease_expires_ms, config_json, config_sha256, created_ms) VALUES "
        "  (1, 'exp-1', 1, 0, 'RUNNING', 1, 'w-1', 100000, '{}', 'a', 1);");
    EXPECT_FALSE(db.tableExists("trial_attempts"));
  }
  std::unique_ptr<SqliteTrialStore> store = OpenStore();
  EXPECT_EQ(Int(store->Query("PRAGMA user_version").value().rows.at(0).at(0)), 10);
  EXPECT_EQ(LatestSchemaVersion(), 10);
  // The attempt that ran before the upgrade has no row: its environment is unknown.
  absl::StatusOr<std::vector<AttemptRecord>> attempts = store->ListAttempts(1);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  EXPECT_TRUE(attempts->empty());
  // The running lease records into the new table.
  ASSERT_TRUE(store->RecordAttempt({1, "w-1", 1}, R"({"hosts":["n1"]})", 7).ok());
  attempts = store->ListAttempts(1);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ(attempts->at(0).environment_json, R"({"hosts":["n1"]})");
  EXPECT_EQ(attempts->at(0).started_ms, 7);
}

TEST_F(SqliteTrialStoreFileTest, AFailedMigrationChangesNothing) {
  SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::vector<Migration> broken = {
      {1, "table a", "CREATE TABLE a (x INTEGER);"},
      {2, "broken step", "CREATE TABLE b (y INTEGER); INSERT INTO missing VALUES (1);"}};
  absl::Status s = ApplyMigrations(db, broken);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("version 2 (broken step)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("no such table: missing"), std::string::npos) << s;
  EXPECT_EQ(*ReadSchemaVersion(db), 0);
  EXPECT_FALSE(db.tableExists("a"));
  EXPECT_FALSE(db.tableExists("b"));
}

TEST_F(SqliteTrialStoreFileTest, AnUnopenablePathIsInternal) {
  absl::Status status =
      SqliteTrialStore::Open((dir_.path() / "no" / "such" / "dir" / "x.db").string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_NE(status.message().find("unable to open database file"), std::string::npos) << status;
}

TEST_F(SqliteTrialStoreFileTest, StorageErrorsBecomeInternalAndRollBack) {
  std::unique_ptr<SqliteTrialStore> store = OpenStore();
  ASSERT_TRUE(store->SubmitExperiment(MakeTestExperiment("grid", {{1.0}, {0.5}}), false, 0).ok());
  absl::StatusOr<std::optional<TrialRecord>> t = store->ClaimNextTrial("w-1", 1, "cpu", 0, 1000);
  ASSERT_TRUE(t.ok() && t->has_value());
  {
    // Someone breaks the file behind the coordinator's back.
    SQLite::Database raw(DbPath(), SQLite::OPEN_READWRITE);
    raw.exec("DROP VIEW results; DROP VIEW trial_metrics_last; DROP TABLE metrics");
  }
  absl::StatusOr<int64_t> written = store->WriteMetrics(LeaseOf(**t), {{"loss", 1, 0, 1.0, 0}});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(written.status().message().find("no such table: metrics"), std::string::npos)
      << written.status();
  // The failed transaction was rolled back; the store keeps working.
  absl::StatusOr<std::optional<TrialRecord>> next = store->ClaimNextTrial("w-2", 1, "cpu", 0, 1000);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->has_value());
}

TEST_F(SqliteTrialStoreFileTest, CommittedWritesSurviveKillMinus9) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The "coordinator": commits, then dies without closing anything.
    absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store = SqliteTrialStore::Open(DbPath());
    if (!store.ok()) _exit(2);
    if (!(*store)->SubmitExperiment(MakeTestExperiment("grid", {{1.0}}), false, 0).ok()) _exit(3);
    auto t = (*store)->ClaimNextTrial("w-1", 1, "cpu", 0, 1000);
    if (!t.ok() || !t->has_value()) _exit(4);
    if (!(*store)->WriteMetrics(LeaseOf(**t), {{"loss", 7, 0, 0.5, 0}}).ok()) _exit(5);
    raise(SIGKILL);
    _exit(6);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  std::unique_ptr<SqliteTrialStore> store = OpenStore();
  absl::StatusOr<std::vector<TrialRecord>> trials = store->ListTrials("grid", {});
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->size(), 1u);
  EXPECT_EQ(trials->at(0).state, TrialState::kRunning);
  EXPECT_EQ(trials->at(0).worker_id, "w-1");
  absl::StatusOr<std::map<std::string, double>> latest =
      store->LatestMetrics(trials->at(0).trial_id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, (std::map<std::string, double>{{"loss", 0.5}}));
}

}  // namespace sqlite_trial_store_test
}  // namespace
}  // namespace gridrun::coordinator
