// A small gridrun database written with plain SQL for the dashboard's unit
// tests (reader pages, API, snapshot):
//
// Experiment "grid" (exp-1, spec axes latent_size [2, 4] x kl_weight [1, 0.5]):
//   #0 trial 1 COMPLETE  (2, 1):   loss 10 points (epochs 1-2), fid 30, final acc 0.75,
//                                  samples "samples" at epochs 1 and 2, one checkpoint
//   #1 trial 2 COMPLETE  (2, 0.5): loss, fid 10; attempts by w-1 then w-2
//   #2 trial 3 RUNNING   (4, 1):   "long" metric of 10,000 points, fid 20
//   #3 trial 4 FAILED    (4, 0.5): "boom", no metrics
// Experiment "again" (exp-2): #0 trial 5 reuses trial 1.
// Hostile names: a metric "<img src=x onerror=alert(1)>" on trial 1.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "coordinator/sqlite_schema.h"

namespace gridrun::testing {

inline constexpr char kUiSpec[] =
    "experiment: grid\ndataset: mnist\nmodel: vae-mlp\nepochs: 2\n"
    "grid:\n  latent_size: [2, 4]\n  kl_weight: [1, 0.5]\n";

inline std::string UiTestData() {
  std::string sql = std::string(R"sql(
INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, created_ms, seq)
VALUES
  ('exp-1', 'grid', 'SPEC', 'a', 'ACTIVE', 1000, 1),
  ('exp-2', 'again', 'experiment: again', 'b', 'DONE', 2000, 2);
INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, attempt, worker_id,
                    config_json, config_sha256, reused_from, error, created_ms, started_ms,
                    finished_ms, step, total_steps, ranks) VALUES
  (1, 'exp-1', 1, 0, 'COMPLETE', 1, 'w-1', '{"latent_size":2}', 'x', 0, '', 1, 100, 1100, 20, 20, 1),
  (2, 'exp-1', 1, 1, 'COMPLETE', 2, 'w-2', '{"latent_size":2}', 'y', 0, '', 1, 200, 2200, 20, 20, 2),
  (3, 'exp-1', 1, 2, 'RUNNING', 1, 'w-1', '{}', 'z', 0, '', 1, 300, 0, 5, 20, 1),
  (4, 'exp-1', 1, 3, 'FAILED', 3, 'w-3', '{}', 'q', 0, 'boom', 1, 400, 500, 0, 20, 1),
  (5, 'exp-2', 2, 0, 'COMPLETE', 0, '', '{}', 'x', 1, '', 2, 0, 0, 0, 0, 1);
INSERT INTO trial_params VALUES
  (1, 'latent_size', '2'), (1, 'kl_weight', '1'), (2, 'latent_size', '2'), (2, 'kl_weight', '0.5'),
  (3, 'latent_size', '4'), (3, 'kl_weight', '1'), (4, 'latent_size', '4'), (4, 'kl_weight', '0.5'),
  (5, 'latent_size', '2'), (5, 'kl_weight', '1');
INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES
  (1, 'fid', 20, 2, 30), (2, 'fid', 20, 2, 10), (3, 'fid', 5, 1, 20),
  (1, '<img src=x onerror=alert(1)>', 1, 1, 1);
INSERT INTO final_metrics VALUES (1, 'acc', 0.75);
INSERT INTO samples (trial_id, name, step, epoch, png, rows, cols) VALUES
  (1, 'samples', 10, 1, x'89504e4701', 1, 1), (1, 'samples', 20, 2, x'89504e4702', 1, 1);
INSERT INTO checkpoints (trial_id, step, epoch, sha256, size_bytes, path, created_ms)
  VALUES (1, 20, 2, 'abcdef0123456789', 1234, 'trial-1/step-20.pt', 1100);
INSERT INTO trial_attempts VALUES
  (2, 1, 'w-1', NULL, 200), (2, 2, 'w-2', '{"hosts":["node-a"]}', 1200);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO metrics (trial_id, name, step, epoch, value)
  SELECT t, 'loss', i * 2, (i + 4) / 5, 100.0 / i FROM n, (SELECT 1 AS t UNION SELECT 2);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO metrics (trial_id, name, step, epoch, value)
  SELECT 3, 'long', i, 1, CASE WHEN i = 7777 THEN 1000.0 ELSE (i % 100) * 0.01 END FROM n;
)sql");
  sql.replace(sql.find("SPEC"), 4, kUiSpec);
  return sql;
}

// A temporary directory with that database; writer() is a read-write
// connection to change it while readers look.
class UiTestDb {
 public:
  UiTestDb() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("gridrun-ui-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "runs.db").string();
    auto db = coordinator::OpenDatabase(path_);
    EXPECT_TRUE(db.ok()) << db.status();
    writer_ = *std::move(db);
    writer_->exec(UiTestData());
  }
  ~UiTestDb() {
    writer_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::string& path() const { return path_; }
  const std::filesystem::path& dir() const { return dir_; }
  SQLite::Database& writer() { return *writer_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SQLite::Database> writer_;
};

}  // namespace gridrun::testing
