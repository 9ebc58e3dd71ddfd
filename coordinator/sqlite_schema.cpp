#include "coordinator/sqlite_schema.h"

#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gridrun::coordinator {
namespace {

// Version 1: the schema of DESIGN.md, refined.
//
// Conventions: times are Unix milliseconds, 0 meaning "not yet"; ids and
// names are TEXT except trial_id; states are the upper-case names of
// coordinator/trial_state.h. reused_from = 0 means the trial was trained in
// its own experiment, otherwise it names the ORIGINAL trial whose results it
// shows (never a trial that is itself reused). A NaN metric value is stored
// as NULL (SQLite has no NaN).
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE experiments (
  experiment_id TEXT    NOT NULL PRIMARY KEY,  -- 'exp-' + hex of sha256(name + spec_sha256)
  name          TEXT    NOT NULL UNIQUE,
  spec_yaml     TEXT    NOT NULL,
  spec_sha256   TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('ACTIVE', 'DONE', 'CANCELLED')),
  created_ms    INTEGER NOT NULL,
  seq           INTEGER NOT NULL UNIQUE         -- submission order: leasing is FIFO over it
);

CREATE TABLE trials (
  trial_id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: names checkpoint files
  experiment_id    TEXT    NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
  experiment_seq   INTEGER NOT NULL,                   -- experiments.seq, for leasing order
  number           INTEGER NOT NULL,                   -- 0-based position in the grid
  state            TEXT    NOT NULL
                   CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'FAILED', 'CANCELLED')),
  attempt          INTEGER NOT NULL DEFAULT 0,         -- leases handed out so far
  worker_id        TEXT    NOT NULL DEFAULT '',        -- holder of the current/last lease
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,         -- 0 unless RUNNING
  config_json      TEXT    NOT NULL,                   -- canonical TrialConfig JSON
  config_sha256    TEXT    NOT NULL,
  ranks            INTEGER NOT NULL DEFAULT 1,         -- capability a worker must match
  device           TEXT    NOT NULL DEFAULT 'cpu',
  cancel_requested INTEGER NOT NULL DEFAULT 0,         -- RUNNING trial asked to stop
  reused_from      INTEGER NOT NULL DEFAULT 0,         -- 0, or the original trial's id
  error            TEXT    NOT NULL DEFAULT '',        -- last failure reason
  epoch            INTEGER NOT NULL DEFAULT 0,         -- progress, as last reported
  step             INTEGER NOT NULL DEFAULT 0,
  total_steps      INTEGER NOT NULL DEFAULT 0,
  steps_per_second REAL    NOT NULL DEFAULT 0,
  created_ms       INTEGER NOT NULL,
  started_ms       INTEGER NOT NULL DEFAULT 0,         -- first lease
  finished_ms      INTEGER NOT NULL DEFAULT 0,         -- reached a terminal state
  UNIQUE (experiment_id, number)
);
-- ClaimNextTrial: the first WAITING trial a worker can run, experiments in
-- submission order, trials in grid order: one index probe, no sort.
CREATE INDEX trials_lease ON trials (state, ranks, device, experiment_seq, number);
-- Per-experiment state counts and the "anything left?" check.
CREATE INDEX trials_experiment_state ON trials (experiment_id, state);
-- Reuse: the newest original COMPLETE trial with a config hash.
CREATE INDEX trials_reuse ON trials (config_sha256, finished_ms)
  WHERE state = 'COMPLETE' AND reused_from = 0;
-- (ExpireLeases reads the RUNNING trials through trials_lease: at most one
-- per worker.)

-- One row per grid axis of a trial; value is the text the grid spec gave.
CREATE TABLE trial_params (
  trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  name     TEXT    NOT NULL,
  value    TEXT    NOT NULL,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;

CREATE TABLE metrics (
  trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  name     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  epoch    INTEGER NOT NULL DEFAULT 0,
  value    REAL,                                 -- NULL: the worker reported NaN
  wall_ms  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (trial_id, name, step)
) WITHOUT ROWID;

-- Sample image grids (PNG bytes), one per (name, step).
CREATE TABLE samples (
  trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  name     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  epoch    INTEGER NOT NULL DEFAULT 0,
  png      BLOB    NOT NULL,
  rows     INTEGER NOT NULL DEFAULT 0,
  cols     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (trial_id, name, step)
);

-- Checkpoint files under the checkpoint directory; the newest few per trial.
CREATE TABLE checkpoints (
  trial_id   INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  epoch      INTEGER NOT NULL DEFAULT 0,
  sha256     TEXT    NOT NULL,
  size_bytes INTEGER NOT NULL DEFAULT 0,
  path       TEXT    NOT NULL,
  created_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (trial_id, step)
);

CREATE TABLE workers (
  worker_id    TEXT    NOT NULL PRIMARY KEY,
  host         TEXT    NOT NULL DEFAULT '',
  ranks        INTEGER NOT NULL DEFAULT 1,
  device       TEXT    NOT NULL DEFAULT 'cpu',
  gpus         INTEGER NOT NULL DEFAULT 0,
  pid          INTEGER NOT NULL DEFAULT 0,
  last_seen_ms INTEGER NOT NULL DEFAULT 0
);

-- The metrics a worker reported with CompleteTrial.
CREATE TABLE final_metrics (
  trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  name     TEXT    NOT NULL,
  value    REAL,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;

-- The last reported value (highest step) of every metric of every trial. A
-- reused trial shows its source trial's metrics (source_trial_id).
CREATE VIEW trial_metrics_last AS
SELECT t.trial_id AS trial_id,
       m.trial_id AS source_trial_id,
       m.name     AS name,
       m.step     AS step,
       m.epoch    AS epoch,
       m.value    AS value
FROM trials AS t
JOIN metrics AS m
  ON m.trial_id = (CASE WHEN t.reused_from != 0 THEN t.reused_from ELSE t.trial_id END)
WHERE m.step = (SELECT MAX(m2.step) FROM metrics AS m2
                WHERE m2.trial_id = m.trial_id AND m2.name = m.name);

-- One row per trial: params and metrics as JSON objects, so that
--   json_extract(params_json, '$.kl_weight'), json_extract(metrics_json, '$.test_elbo')
-- select any of them. Param values that are JSON scalars or arrays (numbers,
-- true/false, lists) come out typed; anything else as a string. Reused trials
-- show their source trial's metrics.
CREATE VIEW results AS
SELECT e.name          AS experiment,
       t.experiment_id AS experiment_id,
       t.trial_id      AS trial_id,
       t.number        AS number,
       t.state         AS state,
       t.attempt       AS attempt,
       t.reused_from   AS reused_from,
       (SELECT json_group_object(p.name, CASE WHEN json_valid(p.value) THEN json(p.value)
                                              ELSE p.value END)
        FROM trial_params AS p WHERE p.trial_id = t.trial_id) AS params_json,
       (SELECT json_group_object(l.name, l.value)
        FROM trial_metrics_last AS l WHERE l.trial_id = t.trial_id) AS metrics_json,
       (SELECT json_group_object(f.name, f.value)
        FROM final_metrics AS f
        WHERE f.trial_id = (CASE WHEN t.reused_from != 0 THEN t.reused_from
                                 ELSE t.trial_id END)) AS final_metrics_json,
       t.error         AS error,
       t.worker_id     AS worker_id,
       t.started_ms    AS started_ms,
       t.finished_ms   AS finished_ms
FROM trials AS t
JOIN experiments AS e ON e.experiment_id = t.experiment_id;
)sql";

// Version 2: metrics_last, the newest point of every (trial, metric), and
// trial_metrics_last read from it. "Last value" queries then cost one
// primary-key probe per trial instead of a MAX(step) search per metric point:
// the best trial per grid cell of a 100,000-trial, 10 M-point database went
// from 1.5 s to 0.18 s (docs/BENCHMARKS.md, part 6). Triggers on metrics
// keep it, so every writer (a repair in the sqlite3 shell) keeps it right;
// since version 10 the store's own connection turns them off and upserts it
// by the same rule a batch at a time (sqlite_store_metrics.cpp). A point
// written for an older step (a resumed trial rewriting history) leaves the
// newer one in place.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE metrics_last (
  trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  name     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  epoch    INTEGER NOT NULL DEFAULT 0,
  value    REAL,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;

-- SQLite takes the bare columns of a MAX() aggregate from the row with the max.
INSERT INTO metrics_last (trial_id, name, step, epoch, value)
SELECT trial_id, name, MAX(step), epoch, value FROM metrics GROUP BY trial_id, name;

CREATE TRIGGER metrics_last_after_insert AFTER INSERT ON metrics
BEGIN
  INSERT INTO metrics_last (trial_id, name, step, epoch, value)
  VALUES (NEW.trial_id, NEW.name, NEW.step, NEW.epoch, NEW.value)
  ON CONFLICT (trial_id, name) DO UPDATE
    SET step = excluded.step, epoch = excluded.epoch, value = excluded.value
    WHERE excluded.step >= metrics_last.step;
END;

CREATE TRIGGER metrics_last_after_update AFTER UPDATE OF step, epoch, value ON metrics
BEGIN
  INSERT INTO metrics_last (trial_id, name, step, epoch, value)
  VALUES (NEW.trial_id, NEW.name, NEW.step, NEW.epoch, NEW.value)
  ON CONFLICT (trial_id, name) DO UPDATE
    SET step = excluded.step, epoch = excluded.epoch, value = excluded.value
    WHERE excluded.step >= metrics_last.step;
END;

DROP VIEW trial_metrics_last;
CREATE VIEW trial_metrics_last AS
SELECT t.trial_id AS trial_id,
       l.trial_id AS source_trial_id,
       l.name     AS name,
       l.step     AS step,
       l.epoch    AS epoch,
       l.value    AS value
FROM trials AS t
JOIN metrics_last AS l
  ON l.trial_id = (CASE WHEN t.reused_from != 0 THEN t.reused_from ELSE t.trial_id END);
)sql";

// Version 3: trials.preemptions counts the attempts a worker handed back
// after SIGTERM (Slurm preemption, a time-limit warning) with a checkpoint.
// Those are not failures: max-attempts limits attempt - preemptions.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE trials ADD COLUMN preemptions INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 4: trial_source, the one statement of the reuse rule. A trial
// shows the data (metrics, final metrics, samples, checkpoints) of
// source_trial_id: itself, or the original trial it reused (reused_from).
// The views below, the store and the CLI's results reader (results_reader.h)
// all read the rule from here; the two views are rebuilt on it with the same
// columns as before.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE VIEW trial_source AS
SELECT trial_id AS trial_id,
       (CASE WHEN reused_from != 0 THEN reused_from ELSE trial_id END) AS source_trial_id
FROM trials;

DROP VIEW results;
DROP VIEW trial_metrics_last;

CREATE VIEW trial_metrics_last AS
SELECT s.trial_id        AS trial_id,
       s.source_trial_id AS source_trial_id,
       l.name            AS name,
       l.step            AS step,
       l.epoch           AS epoch,
       l.value           AS value
FROM trial_source AS s
JOIN metrics_last AS l ON l.trial_id = s.source_trial_id;

CREATE VIEW results AS
SELECT e.name          AS experiment,
       t.experiment_id AS experiment_id,
       t.trial_id      AS trial_id,
       t.number        AS number,
       t.state         AS state,
       t.attempt       AS attempt,
       t.reused_from   AS reused_from,
       (SELECT json_group_object(p.name, CASE WHEN json_valid(p.value) THEN json(p.value)
                                              ELSE p.value END)
        FROM trial_params AS p WHERE p.trial_id = t.trial_id) AS params_json,
       (SELECT json_group_object(l.name, l.value)
        FROM trial_metrics_last AS l WHERE l.trial_id = t.trial_id) AS metrics_json,
       (SELECT json_group_object(f.name, f.value)
        FROM trial_source AS s JOIN final_metrics AS f ON f.trial_id = s.source_trial_id
        WHERE s.trial_id = t.trial_id) AS final_metrics_json,
       t.error         AS error,
       t.worker_id     AS worker_id,
       t.started_ms    AS started_ms,
       t.finished_ms   AS finished_ms
FROM trials AS t
JOIN experiments AS e ON e.experiment_id = t.experiment_id;
)sql";

// Version 5: where each attempt of a trial ran. The worker reports its
// environment (gridrun version and build commit, LibTorch, the BLAS library
// mapped, MPI, CUDA/NCCL, hosts and devices of its ranks) as a JSON object
// with each lease request; the row is written when the lease is granted.
// environment_json is NULL when the worker did not report one (an older
// worker): unknown.
constexpr std::string_view kSchemaV5 = R"sql(
CREATE TABLE trial_attempts (
  trial_id         INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  attempt          INTEGER NOT NULL,                  -- trials.attempt of that lease
  worker_id        TEXT    NOT NULL,
  environment_json TEXT,                              -- NULL: not reported (unknown)
  started_ms       INTEGER NOT NULL,                  -- when the lease was granted
  PRIMARY KEY (trial_id, attempt)
) WITHOUT ROWID;
)sql";

// Version 6: early stopping (search/; coordinator/sqlite_store_search.cpp).
//   * trials.state may be PAUSED (at an ASHA rung, promotable) or STOPPED
//     (stopped early for good). SQLite cannot ALTER a CHECK constraint, and
//     rebuilding `trials` would cascade-delete its children under
//     foreign_keys = ON, so the constraint's text is widened in place, the
//     documented way for a change that every stored row already satisfies
//     (sqlite.org/lang_altertable.html, section 7); RESET re-reads it, and
//     the CREATE TABLEs below bump the schema cookie for other connections.
//   * experiments.search_json: the spec's search settings
//     (search::SearchSettingsToJson), '' for a plain grid.
//   * trials.stop_after_epoch: where the trial's next lease stops (its next
//     rung; 0: the end); rung_leases: leases that ended at a rung (not
//     failures: max attempts limits attempt - preemptions - rung_leases);
//     stop_requested / stop_reason: a stop rule or the median rule decided
//     to stop the RUNNING trial (its attempt then ends STOPPED); rung_epoch:
//     the highest rung epoch it reached.
//   * rung_results: every arrival at a rung, in order, with its value and
//     whether it was promoted: the whole state of ASHA, from which
//     search::AshaScheduler is rebuilt for each decision.
//   * search_decisions: every decision, in the order made (the log that
//     status and the report show).
//   * checkpoints.best: the checkpoint after a trial's best epoch under
//     keep_best; retention keeps it besides the newest ones.
// A decision and the state change it causes commit in one transaction.
constexpr std::string_view kSchemaV6 = R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, '''FAILED'', ''CANCELLED''))',
                          '''FAILED'', ''CANCELLED'', ''PAUSED'', ''STOPPED''))')
 WHERE type = 'table' AND name = 'trials';
PRAGMA writable_schema = RESET;

ALTER TABLE experiments ADD COLUMN search_json TEXT NOT NULL DEFAULT '';
ALTER TABLE trials ADD COLUMN stop_after_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN rung_leases INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE trials ADD COLUMN rung_epoch INTEGER NOT NULL DEFAULT 0;  -- highest rung reached
ALTER TABLE checkpoints ADD COLUMN best INTEGER NOT NULL DEFAULT 0;

CREATE TABLE rung_results (
  experiment_id TEXT    NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
  rung          INTEGER NOT NULL,            -- 0-based: epoch = min_epochs * rf^rung
  seq           INTEGER NOT NULL,            -- arrival order at this rung, from 1
  trial_id      INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  epoch         INTEGER NOT NULL,
  value         REAL,                        -- the scheduler's metric; NULL: not finite
  promoted      INTEGER NOT NULL DEFAULT 0,
  arrived_ms    INTEGER NOT NULL,
  PRIMARY KEY (experiment_id, rung, seq),
  UNIQUE (trial_id, rung)
);

CREATE TABLE search_decisions (
  decision_id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order decisions were made
  trial_id    INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
  kind        TEXT    NOT NULL
              CHECK (kind IN ('CONTINUE', 'PAUSE', 'PROMOTE', 'STOP', 'FINISH_PAUSED')),
  rung        INTEGER NOT NULL DEFAULT -1,        -- -1: not a rung decision
  epoch       INTEGER NOT NULL DEFAULT 0,
  reason      TEXT    NOT NULL DEFAULT '',
  decided_ms  INTEGER NOT NULL
);
CREATE INDEX search_decisions_trial ON search_decisions (trial_id);
)sql";

// Version 7: experiments.model_files_json, the user's model files the spec
// names (JSON object: path as written -> text; '' for none), stored with the
// spec so the experiment can be re-run from the database alone (each
// trial's config also carries its file: TrialConfig::model_source).
constexpr std::string_view kSchemaV7 = R"sql(
ALTER TABLE experiments ADD COLUMN model_files_json TEXT NOT NULL DEFAULT '';
)sql";

// Version 8: torchscript_files, the TorchScript networks model files name
// (modelspec/model_file.h), content-addressed: one row per sha256 of the
// bytes, which live as a file under the checkpoint directory
// (coordinator/torchscript_store.h). `name` is the path the first
// uploader's model file wrote, for messages only.
constexpr std::string_view kSchemaV8 = R"sql(
CREATE TABLE torchscript_files (
  sha256     TEXT    NOT NULL PRIMARY KEY,
  size_bytes INTEGER NOT NULL,
  path       TEXT    NOT NULL,
  name       TEXT    NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
);
)sql";

// Version 9, for retention (TrialStore::RetainTrained), which runs at every
// completion and so must not read every trial or checkpoint:
// trials.init_from_trial, the source trial of a trial's warm start
// (TrialConfig::init_from, common/init_from.h; NULL without one), indexed, so
// it keeps every trained model an unfinished trial still starts from
// (existing trials are filled from their configs); and an index on
// checkpoints.path, to tell whether a dropped row's file is still named.
constexpr std::string_view kSchemaV9 = R"sql(
ALTER TABLE trials ADD COLUMN init_from_trial INTEGER;
UPDATE trials
  SET init_from_trial = json_extract(json_extract(config_json, '$.init_from'), '$.trial')
  WHERE instr(config_json, '"init_from"') > 0;
CREATE INDEX trials_by_init_from_trial ON trials (init_from_trial)
  WHERE init_from_trial IS NOT NULL;
CREATE INDEX checkpoints_by_path ON checkpoints (path);
)sql";

// Version 10, for the workers' metric batches, the coordinator's hottest
// write (docs/BENCHMARKS.md, part 3, "Checkpoints off the writer, cheaper
// points"):
//   * `metrics` and `metrics_last` lose their foreign keys into `trials`. The
//     store writes them only under a lease it has just checked in the same
//     transaction, which proves the trial exists, and nothing deletes trials;
//     the two parent probes per point were 5% of the committer's CPU. Dropping
//     a FOREIGN KEY clause leaves the stored format as it is, so the table text
//     is edited in place, the documented way (sqlite.org/lang_altertable.html,
//     section 7). A connection that still holds the old schema keeps checking
//     the clause until it reloads, which every stored row satisfies.
//   * the `metrics_last` triggers stay, for every other writer (a repair in
//     the sqlite3 shell, test fixtures); the store's own connection turns
//     triggers off and upserts `metrics_last` by the same rule, a batch at a
//     time (SqliteTrialStore::WriteMetrics).
constexpr std::string_view kSchemaV10 = R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, 'trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE',
                          'trial_id INTEGER NOT NULL')
 WHERE type = 'table' AND name IN ('metrics', 'metrics_last');
PRAGMA writable_schema = RESET;
)sql";

absl::Status Internal(const std::string& what, const std::exception& e) {
  return absl::InternalError(absl::StrCat(what, ": ", e.what()));
}

int PragmaInt(SQLite::Database& db, const char* pragma) { return db.execAndGet(pragma).getInt(); }

std::string NewerSchemaMessage(int version, int latest) {
  return absl::StrCat("database schema version ", version,
                      " is newer than this gridrun (knows up to ", latest, "); upgrade gridrun");
}

// A non-empty database that gridrun did not create: refuse to touch it.
absl::Status CheckApplicationId(SQLite::Database& db, int version) {
  const int application_id = PragmaInt(db, "PRAGMA application_id");
  if (version > 0 && application_id != kGridrunApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        db.getFilename(), " is not a gridrun database (application_id ", application_id, ")"));
  }
  if (version == 0 && db.execAndGet("SELECT COUNT(*) FROM sqlite_master").getInt64() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        db.getFilename(), " is not a gridrun database (it has tables but no gridrun schema)"));
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema", kSchemaV1},
      {2, "metrics_last table", kSchemaV2},
      {3, "trials.preemptions", kSchemaV3},
      {4, "trial_source view", kSchemaV4},
      {5, "trial_attempts table", kSchemaV5},
      {6, "early stopping: PAUSED/STOPPED, rung_results, search_decisions", kSchemaV6},
      {7, "experiments.model_files_json", kSchemaV7},
      {8, "torchscript_files table", kSchemaV8},
      {9, "trials.init_from_trial, checkpoints by path", kSchemaV9},
      {10, "metrics without foreign keys, metrics_last kept by the store", kSchemaV10},
  };
  return kMigrations;
}

int LatestSchemaVersion() { return SchemaMigrations().back().version; }

absl::StatusOr<int> ReadSchemaVersion(SQLite::Database& db) {
  try {
    return PragmaInt(db, "PRAGMA user_version");
  } catch (const std::exception& e) {
    return Internal("reading the schema version", e);
  }
}

absl::Status ApplyMigrations(SQLite::Database& db, const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InvalidArgumentError(absl::StrCat("migration #", i, " has version ",
                                                     migrations[i].version, ", expected ", i + 1));
    }
  }
  const int latest = static_cast<int>(migrations.size());
  int version = 0;
  try {
    version = PragmaInt(db, "PRAGMA user_version");
    if (version > latest) {
      return absl::FailedPreconditionError(NewerSchemaMessage(version, latest));
    }
    RETURN_IF_ERROR(CheckApplicationId(db, version));
    if (version == latest) return absl::OkStatus();
  } catch (const std::exception& e) {
    return Internal("reading the schema version", e);
  }

  int step = version + 1;
  try {
    SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
    // Another process may have migrated while we waited for the write lock.
    version = PragmaInt(db, "PRAGMA user_version");
    if (version > latest) {
      return absl::FailedPreconditionError(NewerSchemaMessage(version, latest));
    }
    RETURN_IF_ERROR(CheckApplicationId(db, version));
    for (step = version + 1; step <= latest; ++step) {
      db.exec(std::string(migrations[step - 1].sql));
    }
    db.exec(absl::StrCat("PRAGMA application_id = ", kGridrunApplicationId));
    db.exec(absl::StrCat("PRAGMA user_version = ", latest));
    transaction.commit();
  } catch (const std::exception& e) {
    const std::string_view description =
        step >= 1 && step <= latest ? migrations[step - 1].description : "";
    return Internal(absl::StrCat("schema migration to version ", step, " (",
                                 std::string(description), ") of ", db.getFilename(), " failed"),
                    e);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path) {
  std::unique_ptr<SQLite::Database> db;
  try {
    // NOMUTEX: the connection is used by one thread at a time (the caller's
    // contract), so SQLite's own lock around every call is not needed.
    db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        kSqliteBusyTimeoutMs);
    db->exec("PRAGMA foreign_keys = ON");
    // Returns the mode now in force: "wal" for files, "memory" for :memory:.
    db->execAndGet("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = NORMAL");
  } catch (const std::exception& e) {
    return Internal(absl::StrCat("opening database ", path), e);
  }
  RETURN_IF_ERROR(ApplyMigrations(*db, SchemaMigrations()));
  return db;
}

absl::StatusOr<std::unique_ptr<SQLite::Database>> OpenReadOnlyDatabase(const std::string& path) {
  if (path.empty() || path == ":memory:") {
    return absl::InvalidArgumentError(
        "a read-only connection needs a database file, not an in-memory database");
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat("no gridrun database at ", path));
  }
  std::unique_ptr<SQLite::Database> db;
  try {
    db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, kSqliteBusyTimeoutMs);
    const int version = PragmaInt(*db, "PRAGMA user_version");
    const int latest = LatestSchemaVersion();
    if (version > latest) {
      return absl::FailedPreconditionError(NewerSchemaMessage(version, latest));
    }
    RETURN_IF_ERROR(CheckApplicationId(*db, version));
    if (version < latest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database schema version ", version, " of ", path, " is older than this gridrun (",
          latest, "); start the coordinator on it once to migrate it"));
    }
  } catch (const std::exception& e) {
    return Internal(absl::StrCat("opening database ", path, " read-only"), e);
  }
  return db;
}

}  // namespace gridrun::coordinator
