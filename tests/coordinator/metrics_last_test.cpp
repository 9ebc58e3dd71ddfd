// metrics_last, the newest point of every (trial, metric): the store keeps
// it by the rule of the schema's triggers (which its own connection turns
// off, schema version 10), and version 10 drops the foreign keys of
// `metrics` and `metrics_last` without touching their rows.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "coordinator/sqlite_schema.h"
#include "coordinator/sqlite_trial_store.h"
#include "tests/coordinator/trial_store_contract.h"

namespace gridrun::coordinator {
namespace {
namespace metrics_last_test {

using store_test::MakeTestExperiment;
using store_test::ScratchDir;

// (name, step, epoch, value); a NaN value is stored as NULL, read back as NaN.
using Row = std::tuple<std::string, int64_t, int64_t, double>;

// Batches that exercise the rule: a name twice in one batch, an older step
// after a newer one (in a batch and across batches, as a resumed trial
// rewrites history), the same step rewritten, and a NaN.
std::vector<std::vector<MetricPointRecord>> Batches() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {
      {{"loss", 1, 0, 0.9, 0}, {"fid", 1, 0, 50.0, 0}, {"loss", 2, 0, 0.8, 0}},
      {{"loss", 5, 1, 0.5, 0}, {"loss", 3, 0, 0.7, 0}},
      {{"fid", 1, 0, 45.0, 0}},
      {{"acc", 4, 1, nan, 0}},
      {{"loss", 4, 1, 0.6, 0}},
  };
}

std::vector<Row> LastRows(SQLite::Database& db, int64_t trial_id) {
  SQLite::Statement q(db,
                      "SELECT name, step, epoch, value FROM metrics_last WHERE trial_id = ? "
                      "ORDER BY name");
  q.bind(1, trial_id);
  std::vector<Row> rows;
  while (q.executeStep()) {
    rows.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                      q.getColumn(2).getInt64(),
                      q.getColumn(3).isNull() ? std::nan("") : q.getColumn(3).getDouble());
  }
  return rows;
}

class MetricsLastTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return (dir_.path() / "gridrun.db").string(); }
  ScratchDir dir_;
};

TEST_F(MetricsLastTest, TheStoreKeepsItByTheRuleOfTheSchemasTriggers) {
  absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store = SqliteTrialStore::Open(DbPath());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(
      (*store)->SubmitExperiment(MakeTestExperiment("grid", {{1.0}, {0.5}}), false, 0).ok());
  absl::StatusOr<std::optional<TrialRecord>> a = (*store)->ClaimNextTrial("w-1", 1, "cpu", 0, 1000);
  ASSERT_TRUE(a.ok() && a->has_value());
  const int64_t trial_b = (*a)->trial_id + 1;

  // Trial A through the store (its connection has triggers off) ...
  for (const auto& batch : Batches()) {
    absl::StatusOr<int64_t> written =
        (*store)->WriteMetrics({(*a)->trial_id, "w-1", (*a)->attempt}, batch);
    ASSERT_TRUE(written.ok()) << written.status();
  }
  // ... and trial B by another writer, whose upserts fire the triggers.
  SQLite::Database other(DbPath(), SQLite::OPEN_READWRITE);
  for (const auto& batch : Batches()) {
    for (const MetricPointRecord& p : batch) {
      SQLite::Statement u(other,
                          "INSERT INTO metrics (trial_id, name, step, epoch, value) "
                          "VALUES (?, ?, ?, ?, ?) ON CONFLICT (trial_id, name, step) "
                          "DO UPDATE SET epoch = excluded.epoch, value = excluded.value");
      u.bind(1, trial_b);
      u.bind(2, p.name);
      u.bind(3, p.step);
      u.bind(4, p.epoch);
      u.bind(5, p.value);
      u.exec();
    }
  }

  const std::vector<Row> by_store = LastRows(other, (*a)->trial_id);
  const std::vector<Row> by_triggers = LastRows(other, trial_b);
  ASSERT_EQ(by_store.size(), 3u);
  EXPECT_EQ(std::get<0>(by_store[0]), "acc");
  EXPECT_TRUE(std::isnan(std::get<3>(by_store[0])));
  EXPECT_EQ(by_store[1], Row("fid", 1, 0, 45.0));  // the same step rewritten
  EXPECT_EQ(by_store[2], Row("loss", 5, 1, 0.5));  // older steps leave the newest
  ASSERT_EQ(by_triggers.size(), by_store.size());
  for (size_t i = 1; i < by_store.size(); ++i) EXPECT_EQ(by_triggers[i], by_store[i]) << i;
  EXPECT_EQ(std::get<1>(by_triggers[0]), 4);
  EXPECT_TRUE(std::isnan(std::get<3>(by_triggers[0])));

  // The store's own read agrees.
  absl::StatusOr<std::map<std::string, double>> latest = (*store)->LatestMetrics((*a)->trial_id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->at("loss"), 0.5);
  EXPECT_EQ(latest->at("fid"), 45.0);
}

TEST_F(MetricsLastTest, Version9MetricsLoseTheirForeignKeysAndKeepTheirRows) {
  {
    // A database as gridrun with schema version 9 left it, with points.
    SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    const std::vector<Migration> v9(SchemaMigrations().begin(), SchemaMigrations().begin() + 9);
    ASSERT_TRUE(ApplyMigrations(db, v9).ok());
    db.exec(
        "INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, "
        "  created_ms, seq) VALUES ('exp-1', 'old', 'spec', 'sha', 'ACTIVE', 1, 1);"
        "INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, "
        "  config_json, config_sha256, created_ms) VALUES (1, 'exp-1', 1, 0, 'COMPLETE', '{}', "
        "'a', 1);"
        "INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES "
        "  (1, 'loss', 1, 0, 0.9), (1, 'loss', 2, 0, 0.5);");
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM pragma_foreign_key_list('metrics')").getInt(), 1);
    EXPECT_THROW(db.exec("INSERT INTO metrics (trial_id, name, step) VALUES (99, 'loss', 1)"),
                 SQLite::Exception);
  }
  absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store = SqliteTrialStore::Open(DbPath());
  ASSERT_TRUE(store.ok()) << store.status();

  SQLite::Database db(DbPath(), SQLite::OPEN_READWRITE);
  db.exec("PRAGMA foreign_keys = ON");
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 10);
  for (const char* table : {"metrics", "metrics_last"}) {
    EXPECT_EQ(
        db.execAndGet(std::string("SELECT COUNT(*) FROM pragma_foreign_key_list('") + table + "')")
            .getInt(),
        0)
        << table;
  }
  // The other children of trials keep theirs, and the triggers stay for other writers.
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM pragma_foreign_key_list('samples')").getInt(), 1);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' "
                          "AND tbl_name = 'metrics'")
                .getInt(),
            2);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM metrics WHERE trial_id = 1").getInt(), 2);
  EXPECT_EQ(LastRows(db, 1), std::vector<Row>({Row("loss", 2, 0, 0.5)}));
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

}  // namespace metrics_last_test
}  // namespace
}  // namespace gridrun::coordinator
