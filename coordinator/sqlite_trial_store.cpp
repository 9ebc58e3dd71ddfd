#include "coordinator/sqlite_trial_store.h"

#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace gridrun::coordinator {
namespace {

// Every statement the store runs. Each is compiled once per connection (see
// StatementCache) and reused. State literals are the on-disk spellings of
// TrialStateName(); target states are always bound from Transition().
constexpr char kSqlBegin[] = "BEGIN";
constexpr char kSqlBeginImmediate[] = "BEGIN IMMEDIATE";
constexpr char kSqlCommit[] = "COMMIT";
constexpr char kSqlRollback[] = "ROLLBACK";

constexpr char kSqlExperimentById[] = "SELECT * FROM experiments WHERE experiment_id = ?1";
constexpr char kSqlExperimentIdByName[] =
    "SELECT experiment_id, spec_sha256 FROM experiments WHERE name = ?1";
constexpr char kSqlExperimentIdExists[] = "SELECT 1 FROM experiments WHERE experiment_id = ?1";
constexpr char kSqlExperimentIdsNewestFirst[] =
    "SELECT experiment_id FROM experiments ORDER BY seq DESC LIMIT ?1 OFFSET ?2";
constexpr char kSqlTrialCountsByState[] =
    "SELECT state, COUNT(*) FROM trials WHERE experiment_id = ?1 GROUP BY state";
constexpr char kSqlSubmittedCounts[] =
    "SELECT COUNT(*), COALESCE(SUM(reused_from != 0), 0) FROM trials WHERE experiment_id = ?1";
constexpr char kSqlNextExperimentSeq[] = "SELECT COALESCE(MAX(seq), 0) + 1 FROM experiments";
constexpr char kSqlInsertExperiment[] =
    "INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, created_ms, "
    "seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kSqlReuseSource[] =
    "SELECT trial_id, epoch, step, total_steps FROM trials "
    "WHERE config_sha256 = ?1 AND state = 'COMPLETE' AND reused_from = 0 "
    "ORDER BY finished_ms DESC, trial_id DESC LIMIT 1";
constexpr char kSqlInsertTrial[] =
    "INSERT INTO trials (experiment_id, number, state, config_json, config_sha256, ranks, device, "
    "reused_from, epoch, step, total_steps, created_ms, started_ms, finished_ms, "
    "experiment_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
constexpr char kSqlInsertParam[] =
    "INSERT INTO trial_params (trial_id, name, value) VALUES (?1, ?2, ?3)";
constexpr char kSqlMarkExperimentDone[] =
    "UPDATE experiments SET status = ?2 WHERE experiment_id = ?1 AND status = ?3 "
    "AND NOT EXISTS (SELECT 1 FROM trials WHERE experiment_id = ?1 "
    "                AND state IN ('WAITING', 'RUNNING'))";
constexpr char kSqlSetExperimentStatus[] =
    "UPDATE experiments SET status = ?2 WHERE experiment_id = ?1 AND status = ?3";

constexpr char kSqlTrialById[] = "SELECT * FROM trials WHERE trial_id = ?1";
constexpr char kSqlTrialParams[] = "SELECT name, value FROM trial_params WHERE trial_id = ?1";
constexpr char kSqlTrialsOfExperiment[] =
    "SELECT * FROM trials WHERE experiment_id = ?1 ORDER BY number";
constexpr char kSqlParamsOfExperiment[] =
    "SELECT p.trial_id, p.name, p.value FROM trial_params AS p "
    "JOIN trials AS t ON t.trial_id = p.trial_id WHERE t.experiment_id = ?1";
constexpr char kSqlReusedFrom[] = "SELECT reused_from FROM trials WHERE trial_id = ?1";

constexpr char kSqlUpsertWorker[] =
    "INSERT INTO workers (worker_id, host, ranks, device, gpus, pid, last_seen_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (worker_id) DO UPDATE SET "
    "host = excluded.host, ranks = excluded.ranks, device = excluded.device, "
    "gpus = excluded.gpus, pid = excluded.pid, last_seen_ms = excluded.last_seen_ms";
constexpr char kSqlWorkerById[] = "SELECT * FROM workers WHERE worker_id = ?1";
constexpr char kSqlTouchWorker[] = "UPDATE workers SET last_seen_ms = ?2 WHERE worker_id = ?1";

// FIFO over experiments, grid order within one: one probe of index trials_lease.
constexpr char kSqlNextWaitingTrial[] =
    "SELECT trial_id FROM trials WHERE state = 'WAITING' AND ranks = ?1 AND device = ?2 "
    "ORDER BY experiment_seq, number LIMIT 1";
constexpr char kSqlLeaseTrial[] =
    "UPDATE trials SET state = ?2, attempt = attempt + 1, worker_id = ?3, "
    "lease_expires_ms = ?4, started_ms = CASE WHEN started_ms = 0 THEN ?5 ELSE started_ms END "
    "WHERE trial_id = ?1 AND state = 'WAITING'";
constexpr char kSqlLeaseOfTrial[] =
    "SELECT state, worker_id, attempt, cancel_requested, experiment_id, preemptions FROM trials "
    "WHERE trial_id = ?1";
constexpr char kSqlRenewLease[] =
    "UPDATE trials SET state = ?4, lease_expires_ms = ?5, epoch = ?6, step = ?7, "
    "total_steps = ?8, steps_per_second = ?9 "
    "WHERE trial_id = ?1 AND state = 'RUNNING' AND worker_id = ?2 AND attempt = ?3";
constexpr char kSqlEndAttempt[] =
    "UPDATE trials SET state = ?4, lease_expires_ms = 0, error = ?5, finished_ms = ?6 "
    "WHERE trial_id = ?1 AND state = 'RUNNING' AND worker_id = ?2 AND attempt = ?3";
constexpr char kSqlCountPreemption[] =
    "UPDATE trials SET preemptions = preemptions + 1 WHERE trial_id = ?1";
constexpr char kSqlExpiredLeases[] =
    "SELECT trial_id, worker_id, attempt, cancel_requested, experiment_id, preemptions "
    "FROM trials WHERE state = 'RUNNING' AND lease_expires_ms < ?1 ORDER BY trial_id";
constexpr char kSqlCancelWaiting[] =
    "UPDATE trials SET state = ?2, finished_ms = ?3 WHERE experiment_id = ?1 AND state = 'WAITING'";
constexpr char kSqlCancelRunning[] =
    "UPDATE trials SET state = ?2, cancel_requested = 1 "
    "WHERE experiment_id = ?1 AND state = 'RUNNING'";

constexpr char kSqlUpsertFinalMetric[] =
    "INSERT INTO final_metrics (trial_id, name, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value";
constexpr char kSqlUpsertMetric[] =
    "INSERT INTO metrics (trial_id, name, step, epoch, value, wall_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (trial_id, name, step) DO UPDATE SET "
    "epoch = excluded.epoch, value = excluded.value, wall_ms = excluded.wall_ms";
constexpr char kSqlUpsertSample[] =
    "INSERT INTO samples (trial_id, name, step, epoch, png, rows, cols) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (trial_id, name, step) DO UPDATE SET "
    "epoch = excluded.epoch, png = excluded.png, rows = excluded.rows, cols = excluded.cols";
constexpr char kSqlMetricsOfTrial[] =
    "SELECT name, step, epoch, value, wall_ms FROM metrics WHERE trial_id = ?1 "
    "ORDER BY name, step";
constexpr char kSqlLatestMetrics[] = "SELECT name, value FROM metrics_last WHERE trial_id = ?1";
constexpr char kSqlSamplesOfTrial[] =
    "SELECT name, step, epoch, png, rows, cols FROM samples WHERE trial_id = ?1 "
    "ORDER BY name, step";

constexpr char kSqlCheckpointPathAtStep[] =
    "SELECT path FROM checkpoints WHERE trial_id = ?1 AND step = ?2";
constexpr char kSqlUpsertCheckpoint[] =
    "INSERT INTO checkpoints (trial_id, step, epoch, sha256, size_bytes, path, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (trial_id, step) DO UPDATE SET "
    "epoch = excluded.epoch, sha256 = excluded.sha256, size_bytes = excluded.size_bytes, "
    "path = excluded.path, created_ms = excluded.created_ms";
constexpr char kSqlCheckpointsBeyondNewest[] =
    "SELECT step, path FROM checkpoints WHERE trial_id = ?1 "
    "ORDER BY step DESC LIMIT -1 OFFSET ?2";
constexpr char kSqlDeleteCheckpointAtStep[] =
    "DELETE FROM checkpoints WHERE trial_id = ?1 AND step = ?2";
constexpr char kSqlCheckpointPaths[] = "SELECT path FROM checkpoints WHERE trial_id = ?1";
constexpr char kSqlCheckpointsOfTrial[] =
    "SELECT * FROM checkpoints WHERE trial_id = ?1 ORDER BY step DESC";
constexpr char kSqlDeleteCheckpointBySha[] =
    "DELETE FROM checkpoints WHERE trial_id = ?1 AND sha256 = ?2";

// SQLite has no NaN: it stores NULL, which reads back as NaN.
void BindDouble(SQLite::Statement& stmt, int index, double value) {
  if (std::isnan(value)) {
    stmt.bind(index);
  } else {
    stmt.bind(index, value);
  }
}

double ReadDouble(const SQLite::Column& column) {
  return column.isNull() ? std::numeric_limits<double>::quiet_NaN() : column.getDouble();
}

absl::StatusOr<TrialState> ReadState(const SQLite::Column& column, int64_t trial_id) {
  const std::string text = column.getString();
  std::optional<TrialState> state = ParseTrialState(text);
  if (!state.has_value()) {
    return absl::InternalError(absl::StrCat("trial ", trial_id, " has unknown state '", text, "'"));
  }
  return *state;
}

absl::StatusOr<TrialRecord> TrialFromRow(const SQLite::Statement& row) {
  TrialRecord t;
  t.trial_id = row.getColumn("trial_id").getInt64();
  t.experiment_id = row.getColumn("experiment_id").getString();
  t.number = row.getColumn("number").getInt64();
  absl::StatusOr<TrialState> state = ReadState(row.getColumn("state"), t.trial_id);
  if (!state.ok()) return state.status();
  t.state = *state;
  t.attempt = row.getColumn("attempt").getInt();
  t.preemptions = row.getColumn("preemptions").getInt();
  t.worker_id = row.getColumn("worker_id").getString();
  t.lease_expires_ms = row.getColumn("lease_expires_ms").getInt64();
  t.config_json = row.getColumn("config_json").getString();
  t.config_sha256 = row.getColumn("config_sha256").getString();
  t.error = row.getColumn("error").getString();
  t.ranks = row.getColumn("ranks").getInt();
  t.device = row.getColumn("device").getString();
  t.cancel_requested = row.getColumn("cancel_requested").getInt() != 0;
  t.reused_from = row.getColumn("reused_from").getInt64();
  t.epoch = row.getColumn("epoch").getInt64();
  t.step = row.getColumn("step").getInt64();
  t.total_steps = row.getColumn("total_steps").getInt64();
  t.steps_per_second = row.getColumn("steps_per_second").getDouble();
  t.created_ms = row.getColumn("created_ms").getInt64();
  t.started_ms = row.getColumn("started_ms").getInt64();
  t.finished_ms = row.getColumn("finished_ms").getInt64();
  return t;
}

std::optional<ExperimentStatus> ParseExperimentStatus(std::string_view name) {
  for (ExperimentStatus status :
       {ExperimentStatus::kActive, ExperimentStatus::kDone, ExperimentStatus::kCancelled}) {
    if (name == ExperimentStatusName(status)) return status;
  }
  return std::nullopt;
}

std::string LeaseLostMessage(const LeaseRef& lease, TrialState state, int attempt,
                             const std::string& worker_id) {
  return absl::StrCat("lease lost: trial ", lease.trial_id, " attempt ", lease.attempt,
                      " is not held by worker ", lease.worker_id, " (trial is ",
                      TrialStateName(state), ", attempt ", attempt,
                      worker_id.empty() ? "" : absl::StrCat(", worker ", worker_id), ")");
}

absl::Status TrialNotFound(int64_t trial_id) {
  return absl::NotFoundError(absl::StrCat("trial ", trial_id, " not found"));
}

}  // namespace

// Compiled statements of one connection, keyed by their SQL text (the
// kSql* constants above, which live for the whole program). A statement is
// compiled on first use and reused from then on; CachedStatement resets it
// and clears its bindings when released, so no statement keeps a read
// transaction open between calls.
class SqliteTrialStore::StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}

  struct Entry {
    std::unique_ptr<SQLite::Statement> statement;
    bool in_use = false;
  };

  Entry& Acquire(const char* sql) {
    auto it = entries_.find(sql);
    if (it == entries_.end()) {
      it = entries_.emplace(sql, Entry{std::make_unique<SQLite::Statement>(db_, sql)}).first;
    }
    Entry& entry = it->second;
    if (entry.in_use) {
      // A helper re-entered a statement its caller is still stepping.
      throw std::logic_error(absl::StrCat("statement used re-entrantly: ", sql));
    }
    entry.in_use = true;
    return entry;
  }

 private:
  SQLite::Database& db_;
  std::unordered_map<std::string_view, Entry> entries_;
};

// A statement borrowed from the cache for one use.
class SqliteTrialStore::CachedStatement {
 public:
  explicit CachedStatement(StatementCache::Entry& entry) : entry_(&entry) {}
  CachedStatement(CachedStatement&& other) noexcept
      : entry_(std::exchange(other.entry_, nullptr)) {}
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  CachedStatement& operator=(CachedStatement&&) = delete;
  ~CachedStatement() {
    if (entry_ == nullptr) return;
    entry_->statement->tryReset();
    try {
      entry_->statement->clearBindings();
    } catch (const std::exception&) {
      // sqlite3_clear_bindings cannot fail on a live statement.
    }
    entry_->in_use = false;
  }

  SQLite::Statement* operator->() const { return entry_->statement.get(); }
  SQLite::Statement& operator*() const { return *entry_->statement; }

 private:
  StatementCache::Entry* entry_;
};

struct SqliteTrialStore::LeaseState {
  TrialState state = TrialState::kRunning;
  bool cancel_requested = false;
  std::string experiment_id;
  int preemptions = 0;
};

absl::StatusOr<std::unique_ptr<SqliteTrialStore>> SqliteTrialStore::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = OpenDatabase(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteTrialStore>(
      new SqliteTrialStore(path, std::move(*db), /*read_only=*/false));
}

absl::StatusOr<std::unique_ptr<SqliteTrialStore>> SqliteTrialStore::OpenReadOnly(
    const std::string& path) {
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = OpenReadOnlyDatabase(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteTrialStore>(
      new SqliteTrialStore(path, std::move(*db), /*read_only=*/true));
}

SqliteTrialStore::SqliteTrialStore(std::string path, std::unique_ptr<SQLite::Database> db,
                                   bool read_only)
    : path_(std::move(path)),
      read_only_(read_only),
      db_(std::move(db)),
      statements_(std::make_unique<StatementCache>(*db_)) {}

SqliteTrialStore::~SqliteTrialStore() = default;

SqliteTrialStore::CachedStatement SqliteTrialStore::Prepared(const char* sql) {
  return CachedStatement(statements_->Acquire(sql));
}

template <typename Body>
auto SqliteTrialStore::InTransaction(bool write, const std::string& operation, Body&& body)
    -> decltype(body()) {
  std::lock_guard<std::mutex> lock(mu_);
  if (write && read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat(operation, ": the database ", path_, " was opened read-only"));
  }
  try {
    Prepared(write ? kSqlBeginImmediate : kSqlBegin)->exec();
    auto result = body();
    Prepared(result.ok() ? kSqlCommit : kSqlRollback)->exec();
    return result;
  } catch (const std::exception& e) {
    if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
      try {
        Prepared(kSqlRollback)->exec();
      } catch (const std::exception&) {
        // The connection is unusable; the next call reports the same error.
      }
    }
    // A full disk is not a bug: RESOURCE_EXHAUSTED tells clients (workers
    // retry it) that the same call can succeed once space returns.
    if (const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e);
        sqlite != nullptr && (sqlite->getErrorCode() & 0xff) == SQLITE_FULL) {
      return absl::ResourceExhaustedError(absl::StrCat(operation, ": ", e.what(), " (",
                                                       path_, ")"));
    }
    return absl::InternalError(absl::StrCat(operation, ": ", e.what()));
  }
}

template <typename Body>
auto SqliteTrialStore::InWriteTransaction(const std::string& operation, Body&& body)
    -> decltype(body()) {
  return InTransaction(/*write=*/true, operation, std::forward<Body>(body));
}

template <typename Body>
auto SqliteTrialStore::InReadTransaction(const std::string& operation, Body&& body)
    -> decltype(body()) {
  return InTransaction(/*write=*/false, operation, std::forward<Body>(body));
}

absl::StatusOr<std::string> SqliteTrialStore::ResolveExperimentId(const std::string& id_or_name) {
  {
    CachedStatement q = Prepared(kSqlExperimentIdExists);
    q->bind(1, id_or_name);
    if (q->executeStep()) return id_or_name;
  }
  CachedStatement q = Prepared(kSqlExperimentIdByName);
  q->bind(1, id_or_name);
  if (q->executeStep()) return q->getColumn(0).getString();
  return absl::NotFoundError(absl::StrCat("experiment '", id_or_name, "' not found"));
}

absl::StatusOr<ExperimentRecord> SqliteTrialStore::ReadExperiment(
    const std::string& experiment_id) {
  ExperimentRecord e;
  {
    CachedStatement q = Prepared(kSqlExperimentById);
    q->bind(1, experiment_id);
    if (!q->executeStep()) {
      return absl::NotFoundError(absl::StrCat("experiment '", experiment_id, "' not found"));
    }
    e.experiment_id = q->getColumn("experiment_id").getString();
    e.name = q->getColumn("name").getString();
    e.spec_yaml = q->getColumn("spec_yaml").getString();
    e.spec_sha256 = q->getColumn("spec_sha256").getString();
    e.created_ms = q->getColumn("created_ms").getInt64();
    const std::string status = q->getColumn("status").getString();
    std::optional<ExperimentStatus> parsed = ParseExperimentStatus(status);
    if (!parsed.has_value()) {
      return absl::InternalError(
          absl::StrCat("experiment ", experiment_id, " has unknown status '", status, "'"));
    }
    e.status = *parsed;
  }
  for (TrialState state : kAllTrialStates) e.trial_counts[state] = 0;
  CachedStatement q = Prepared(kSqlTrialCountsByState);
  q->bind(1, experiment_id);
  while (q->executeStep()) {
    absl::StatusOr<TrialState> state = ReadState(q->getColumn(0), 0);
    if (!state.ok()) return state.status();
    e.trial_counts[*state] = q->getColumn(1).getInt64();
    e.total_trials += q->getColumn(1).getInt64();
  }
  return e;
}

absl::StatusOr<TrialRecord> SqliteTrialStore::ReadTrial(int64_t trial_id) {
  absl::StatusOr<TrialRecord> trial;
  {
    CachedStatement q = Prepared(kSqlTrialById);
    q->bind(1, trial_id);
    if (!q->executeStep()) return TrialNotFound(trial_id);
    trial = TrialFromRow(*q);
    if (!trial.ok()) return trial.status();
  }
  CachedStatement q = Prepared(kSqlTrialParams);
  q->bind(1, trial_id);
  while (q->executeStep()) {
    trial->params[q->getColumn(0).getString()] = q->getColumn(1).getString();
  }
  return trial;
}

absl::StatusOr<SqliteTrialStore::LeaseState> SqliteTrialStore::CheckLease(const LeaseRef& lease) {
  CachedStatement q = Prepared(kSqlLeaseOfTrial);
  q->bind(1, lease.trial_id);
  if (!q->executeStep()) return TrialNotFound(lease.trial_id);
  absl::StatusOr<TrialState> state = ReadState(q->getColumn(0), lease.trial_id);
  if (!state.ok()) return state.status();
  const std::string worker_id = q->getColumn(1).getString();
  const int attempt = q->getColumn(2).getInt();
  if (*state != TrialState::kRunning || worker_id != lease.worker_id || attempt != lease.attempt) {
    return absl::AbortedError(LeaseLostMessage(lease, *state, attempt, worker_id));
  }
  return LeaseState{*state, q->getColumn(3).getInt() != 0, q->getColumn(4).getString(),
                    q->getColumn(5).getInt()};
}

absl::StatusOr<int64_t> SqliteTrialStore::DataTrialId(int64_t trial_id) {
  CachedStatement q = Prepared(kSqlReusedFrom);
  q->bind(1, trial_id);
  if (!q->executeStep()) return TrialNotFound(trial_id);
  const int64_t reused_from = q->getColumn(0).getInt64();
  return reused_from != 0 ? reused_from : trial_id;
}

absl::StatusOr<TrialState> SqliteTrialStore::EndAttempt(const LeaseRef& lease, TrialState from,
                                                        TrialEvent event, const std::string& error,
                                                        int64_t now_ms) {
  absl::StatusOr<TrialState> next = Transition(from, event);
  if (!next.ok()) return next.status();
  CachedStatement u = Prepared(kSqlEndAttempt);
  u->bind(1, lease.trial_id);
  u->bind(2, lease.worker_id);
  u->bind(3, lease.attempt);
  u->bind(4, TrialStateName(*next));
  u->bind(5, error);
  u->bind(6, IsTerminal(*next) ? now_ms : int64_t{0});
  if (u->exec() != 1) {
    return absl::AbortedError(absl::StrCat("lease lost: trial ", lease.trial_id, " attempt ",
                                           lease.attempt, " is not held by worker ",
                                           lease.worker_id, " (changed concurrently)"));
  }
  return *next;
}

void SqliteTrialStore::RefreshExperimentStatus(const std::string& experiment_id) {
  CachedStatement u = Prepared(kSqlMarkExperimentDone);
  u->bind(1, experiment_id);
  u->bind(2, ExperimentStatusName(ExperimentStatus::kDone));
  u->bind(3, ExperimentStatusName(ExperimentStatus::kActive));
  u->exec();
}

std::string SqliteTrialStore::NewExperimentId(const NewExperiment& experiment) {
  const std::string digest = Sha256Hex(experiment.name + experiment.spec_sha256);
  for (size_t length = 8; length < digest.size(); length += 4) {
    std::string id = absl::StrCat("exp-", digest.substr(0, length));
    CachedStatement q = Prepared(kSqlExperimentIdExists);
    q->bind(1, id);
    if (!q->executeStep()) return id;
  }
  return absl::StrCat("exp-", digest);
}

absl::StatusOr<SubmitResult> SqliteTrialStore::SubmitExperiment(const NewExperiment& experiment,
                                                                bool rerun, int64_t now_ms) {
  if (experiment.name.empty()) {
    return absl::InvalidArgumentError("experiment name must not be empty");
  }
  std::set<int64_t> numbers;
  for (const NewTrial& trial : experiment.trials) {
    if (!numbers.insert(trial.number).second) {
      return absl::InvalidArgumentError(absl::StrCat("experiment '", experiment.name,
                                                     "' has two trials numbered ", trial.number));
    }
  }
  return InWriteTransaction(
      absl::StrCat("submitting experiment '", experiment.name, "'"),
      [&]() -> absl::StatusOr<SubmitResult> {
        SubmitResult result;
        {
          CachedStatement q = Prepared(kSqlExperimentIdByName);
          q->bind(1, experiment.name);
          if (q->executeStep()) {
            result.experiment_id = q->getColumn(0).getString();
            if (q->getColumn(1).getString() != experiment.spec_sha256) {
              return absl::AlreadyExistsError(absl::StrCat(
                  "experiment '", experiment.name, "' already exists as ", result.experiment_id,
                  " with a different spec; choose another name"));
            }
          }
        }
        if (!result.experiment_id.empty()) {
          CachedStatement q = Prepared(kSqlSubmittedCounts);
          q->bind(1, result.experiment_id);
          q->executeStep();
          result.trial_count = q->getColumn(0).getInt64();
          result.reused_trials = q->getColumn(1).getInt64();
          result.already_existed = true;
          return result;
        }

        result.experiment_id = NewExperimentId(experiment);
        int64_t seq = 0;
        {
          CachedStatement q = Prepared(kSqlNextExperimentSeq);
          q->executeStep();
          seq = q->getColumn(0).getInt64();
        }
        {
          CachedStatement u = Prepared(kSqlInsertExperiment);
          u->bind(1, result.experiment_id);
          u->bind(2, experiment.name);
          u->bind(3, experiment.spec_yaml);
          u->bind(4, experiment.spec_sha256);
          u->bind(5, ExperimentStatusName(ExperimentStatus::kActive));
          u->bind(6, now_ms);
          u->bind(7, seq);
          u->exec();
        }
        absl::StatusOr<TrialState> reused_state =
            Transition(TrialState::kWaiting, TrialEvent::kReuse);
        if (!reused_state.ok()) return reused_state.status();

        for (const NewTrial& trial : experiment.trials) {
          int64_t source = 0;
          int64_t epoch = 0, step = 0, total_steps = 0;
          if (!rerun && !trial.config_sha256.empty()) {
            CachedStatement q = Prepared(kSqlReuseSource);
            q->bind(1, trial.config_sha256);
            if (q->executeStep()) {
              source = q->getColumn(0).getInt64();
              epoch = q->getColumn(1).getInt64();
              step = q->getColumn(2).getInt64();
              total_steps = q->getColumn(3).getInt64();
            }
          }
          const TrialState state = source != 0 ? *reused_state : TrialState::kWaiting;
          {
            CachedStatement u = Prepared(kSqlInsertTrial);
            u->bind(1, result.experiment_id);
            u->bind(2, trial.number);
            u->bind(3, TrialStateName(state));
            u->bind(4, trial.config_json);
            u->bind(5, trial.config_sha256);
            u->bind(6, trial.ranks);
            u->bind(7, trial.device);
            u->bind(8, source);
            u->bind(9, epoch);
            u->bind(10, step);
            u->bind(11, total_steps);
            u->bind(12, now_ms);
            u->bind(13, source != 0 ? now_ms : int64_t{0});
            u->bind(14, source != 0 ? now_ms : int64_t{0});
            u->bind(15, seq);
            u->exec();
          }
          const int64_t trial_id = db_->getLastInsertRowid();
          for (const auto& [name, value] : trial.params) {
            CachedStatement u = Prepared(kSqlInsertParam);
            u->bind(1, trial_id);
            u->bind(2, name);
            u->bind(3, value);
            u->exec();
          }
          ++result.trial_count;
          if (source != 0) ++result.reused_trials;
        }
        RefreshExperimentStatus(result.experiment_id);
        return result;
      });
}

absl::StatusOr<ExperimentRecord> SqliteTrialStore::GetExperiment(const std::string& id_or_name) {
  return InReadTransaction("reading an experiment", [&]() -> absl::StatusOr<ExperimentRecord> {
    absl::StatusOr<std::string> id = ResolveExperimentId(id_or_name);
    if (!id.ok()) return id.status();
    return ReadExperiment(*id);
  });
}

absl::StatusOr<std::vector<ExperimentRecord>> SqliteTrialStore::ListExperiments(int64_t offset,
                                                                                int64_t limit) {
  return InReadTransaction("listing experiments",
                           [&]() -> absl::StatusOr<std::vector<ExperimentRecord>> {
                             std::vector<std::string> ids;
                             {
                               CachedStatement q = Prepared(kSqlExperimentIdsNewestFirst);
                               q->bind(1, limit > 0 ? limit : int64_t{-1});
                               q->bind(2, offset > 0 ? offset : int64_t{0});
                               while (q->executeStep()) ids.push_back(q->getColumn(0).getString());
                             }
                             std::vector<ExperimentRecord> experiments;
                             experiments.reserve(ids.size());
                             for (const std::string& id : ids) {
                               absl::StatusOr<ExperimentRecord> e = ReadExperiment(id);
                               if (!e.ok()) return e.status();
                               experiments.push_back(*std::move(e));
                             }
                             return experiments;
                           });
}

absl::StatusOr<std::vector<TrialRecord>> SqliteTrialStore::ListTrials(
    const std::string& id_or_name, const std::vector<TrialState>& states) {
  return InReadTransaction("listing trials", [&]() -> absl::StatusOr<std::vector<TrialRecord>> {
    absl::StatusOr<std::string> id = ResolveExperimentId(id_or_name);
    if (!id.ok()) return id.status();
    const std::set<TrialState> wanted(states.begin(), states.end());
    std::vector<TrialRecord> trials;
    std::map<int64_t, size_t> index_of;
    {
      CachedStatement q = Prepared(kSqlTrialsOfExperiment);
      q->bind(1, *id);
      while (q->executeStep()) {
        absl::StatusOr<TrialRecord> trial = TrialFromRow(*q);
        if (!trial.ok()) return trial.status();
        if (!wanted.empty() && wanted.count(trial->state) == 0) continue;
        index_of[trial->trial_id] = trials.size();
        trials.push_back(*std::move(trial));
      }
    }
    CachedStatement q = Prepared(kSqlParamsOfExperiment);
    q->bind(1, *id);
    while (q->executeStep()) {
      auto it = index_of.find(q->getColumn(0).getInt64());
      if (it == index_of.end()) continue;
      trials[it->second].params[q->getColumn(1).getString()] = q->getColumn(2).getString();
    }
    return trials;
  });
}

absl::StatusOr<TrialRecord> SqliteTrialStore::GetTrial(int64_t trial_id) {
  return InReadTransaction("reading a trial", [&]() { return ReadTrial(trial_id); });
}

absl::Status SqliteTrialStore::UpsertWorker(const WorkerRecord& worker) {
  if (worker.worker_id.empty()) return absl::InvalidArgumentError("worker_id must not be empty");
  return InWriteTransaction(absl::StrCat("registering worker ", worker.worker_id), [&]() {
    CachedStatement u = Prepared(kSqlUpsertWorker);
    u->bind(1, worker.worker_id);
    u->bind(2, worker.host);
    u->bind(3, worker.ranks);
    u->bind(4, worker.device);
    u->bind(5, worker.gpus);
    u->bind(6, worker.pid);
    u->bind(7, worker.last_seen_ms);
    u->exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<WorkerRecord> SqliteTrialStore::GetWorker(const std::string& worker_id) {
  return InReadTransaction("reading a worker", [&]() -> absl::StatusOr<WorkerRecord> {
    CachedStatement q = Prepared(kSqlWorkerById);
    q->bind(1, worker_id);
    if (!q->executeStep()) {
      return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
    }
    WorkerRecord w;
    w.worker_id = q->getColumn("worker_id").getString();
    w.host = q->getColumn("host").getString();
    w.ranks = q->getColumn("ranks").getInt();
    w.device = q->getColumn("device").getString();
    w.gpus = q->getColumn("gpus").getInt();
    w.pid = q->getColumn("pid").getInt64();
    w.last_seen_ms = q->getColumn("last_seen_ms").getInt64();
    return w;
  });
}

absl::StatusOr<std::optional<TrialRecord>> SqliteTrialStore::ClaimNextTrial(
    const std::string& worker_id, int ranks, const std::string& device, int64_t now_ms,
    int64_t lease_ms) {
  if (worker_id.empty()) return absl::InvalidArgumentError("worker_id must not be empty");
  if (lease_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease_ms must be positive (got ", lease_ms, ")"));
  }
  return InWriteTransaction(absl::StrCat("leasing a trial to worker ", worker_id),
                            [&]() -> absl::StatusOr<std::optional<TrialRecord>> {
                              {
                                CachedStatement u = Prepared(kSqlTouchWorker);
                                u->bind(1, worker_id);
                                u->bind(2, now_ms);
                                u->exec();
                              }
                              int64_t trial_id = 0;
                              {
                                CachedStatement q = Prepared(kSqlNextWaitingTrial);
                                q->bind(1, ranks);
                                q->bind(2, device);
                                if (!q->executeStep()) return std::optional<TrialRecord>();
                                trial_id = q->getColumn(0).getInt64();
                              }
                              absl::StatusOr<TrialState> next =
                                  Transition(TrialState::kWaiting, TrialEvent::kLease);
                              if (!next.ok()) return next.status();
                              {
                                // Compare-and-set on WAITING: a second connection that leased the
                                // trial first makes this change no row.
                                CachedStatement u = Prepared(kSqlLeaseTrial);
                                u->bind(1, trial_id);
                                u->bind(2, TrialStateName(*next));
                                u->bind(3, worker_id);
                                u->bind(4, now_ms + lease_ms);
                                u->bind(5, now_ms);
                                if (u->exec() != 1) {
                                  return absl::AbortedError(absl::StrCat(
                                      "trial ", trial_id, " was leased by another coordinator"));
                                }
                              }
                              absl::StatusOr<TrialRecord> trial = ReadTrial(trial_id);
                              if (!trial.ok()) return trial.status();
                              return std::optional<TrialRecord>(*std::move(trial));
                            });
}

absl::StatusOr<TrialRecord> SqliteTrialStore::RenewLease(const LeaseRef& lease, int64_t now_ms,
                                                         int64_t lease_ms, int64_t epoch,
                                                         int64_t step, int64_t total_steps,
                                                         double steps_per_second) {
  if (lease_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease_ms must be positive (got ", lease_ms, ")"));
  }
  return InWriteTransaction(
      absl::StrCat("renewing the lease of trial ", lease.trial_id),
      [&]() -> absl::StatusOr<TrialRecord> {
        absl::StatusOr<LeaseState> held = CheckLease(lease);
        if (!held.ok()) return held.status();
        absl::StatusOr<TrialState> next = Transition(held->state, TrialEvent::kHeartbeat);
        if (!next.ok()) return next.status();
        {
          CachedStatement u = Prepared(kSqlRenewLease);
          u->bind(1, lease.trial_id);
          u->bind(2, lease.worker_id);
          u->bind(3, lease.attempt);
          u->bind(4, TrialStateName(*next));
          u->bind(5, now_ms + lease_ms);
          u->bind(6, epoch);
          u->bind(7, step);
          u->bind(8, total_steps);
          BindDouble(*u, 9, steps_per_second);
          if (u->exec() != 1) {
            return absl::AbortedError(absl::StrCat(
                "lease lost: trial ", lease.trial_id, " attempt ", lease.attempt,
                " is not held by worker ", lease.worker_id, " (changed concurrently)"));
          }
        }
        {
          CachedStatement u = Prepared(kSqlTouchWorker);
          u->bind(1, lease.worker_id);
          u->bind(2, now_ms);
          u->exec();
        }
        return ReadTrial(lease.trial_id);
      });
}

absl::StatusOr<std::pair<int64_t, int64_t>> SqliteTrialStore::CancelExperiment(
    const std::string& id_or_name, int64_t now_ms) {
  return InWriteTransaction(absl::StrCat("cancelling experiment '", id_or_name, "'"),
                            [&]() -> absl::StatusOr<std::pair<int64_t, int64_t>> {
                              absl::StatusOr<std::string> id = ResolveExperimentId(id_or_name);
                              if (!id.ok()) return id.status();
                              absl::StatusOr<TrialState> waiting_to =
                                  Transition(TrialState::kWaiting, TrialEvent::kCancel);
                              if (!waiting_to.ok()) return waiting_to.status();
                              absl::StatusOr<TrialState> running_to =
                                  Transition(TrialState::kRunning, TrialEvent::kCancel);
                              if (!running_to.ok()) return running_to.status();
                              int64_t cancelled = 0;
                              int64_t stopping = 0;
                              {
                                CachedStatement u = Prepared(kSqlCancelWaiting);
                                u->bind(1, *id);
                                u->bind(2, TrialStateName(*waiting_to));
                                u->bind(3, IsTerminal(*waiting_to) ? now_ms : int64_t{0});
                                cancelled = u->exec();
                              }
                              {
                                CachedStatement u = Prepared(kSqlCancelRunning);
                                u->bind(1, *id);
                                u->bind(2, TrialStateName(*running_to));
                                stopping = u->exec();
                              }
                              // An ACTIVE experiment always has a WAITING or RUNNING trial; a DONE
                              // one has nothing left to cancel and stays DONE.
                              CachedStatement u = Prepared(kSqlSetExperimentStatus);
                              u->bind(1, *id);
                              u->bind(2, ExperimentStatusName(ExperimentStatus::kCancelled));
                              u->bind(3, ExperimentStatusName(ExperimentStatus::kActive));
                              u->exec();
                              return std::make_pair(cancelled, stopping);
                            });
}

absl::StatusOr<TrialState> SqliteTrialStore::CompleteTrial(
    const LeaseRef& lease, const std::map<std::string, double>& final_metrics, int64_t now_ms) {
  return InWriteTransaction(absl::StrCat("completing trial ", lease.trial_id),
                            [&]() -> absl::StatusOr<TrialState> {
    absl::StatusOr<LeaseState> held = CheckLease(lease);
    if (!held.ok()) return held.status();
    const TrialEvent event =
        held->cancel_requested ? TrialEvent::kFinishCancelled : TrialEvent::kComplete;
    absl::StatusOr<TrialState> next = EndAttempt(lease, held->state, event, "", now_ms);
    if (!next.ok()) return next.status();
    for (const auto& [name, value] : final_metrics) {
      CachedStatement u = Prepared(kSqlUpsertFinalMetric);
      u->bind(1, lease.trial_id);
      u->bind(2, name);
      BindDouble(*u, 3, value);
      u->exec();
    }
    RefreshExperimentStatus(held->experiment_id);
    return next;
  });
}

absl::StatusOr<TrialState> SqliteTrialStore::FailTrial(const LeaseRef& lease,
                                                       const std::string& error, bool retryable,
                                                       int max_attempts, int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("failing trial ", lease.trial_id), [&]() -> absl::StatusOr<TrialState> {
        absl::StatusOr<LeaseState> held = CheckLease(lease);
        if (!held.ok()) return held.status();
        TrialEvent event = TrialEvent::kFailFinal;
        if (held->cancel_requested) {
          event = TrialEvent::kFinishCancelled;
        } else if (retryable && lease.attempt - held->preemptions < max_attempts) {
          event = TrialEvent::kFailRetryable;
        }
        absl::StatusOr<TrialState> next = EndAttempt(lease, held->state, event, error, now_ms);
        if (!next.ok()) return next.status();
        RefreshExperimentStatus(held->experiment_id);
        return next;
      });
}

absl::StatusOr<TrialState> SqliteTrialStore::HandBackTrial(const LeaseRef& lease,
                                                           const std::string& reason,
                                                           int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("handing back trial ", lease.trial_id), [&]() -> absl::StatusOr<TrialState> {
        absl::StatusOr<LeaseState> held = CheckLease(lease);
        if (!held.ok()) return held.status();
        const TrialEvent event =
            held->cancel_requested ? TrialEvent::kFinishCancelled : TrialEvent::kFailRetryable;
        absl::StatusOr<TrialState> next = EndAttempt(lease, held->state, event, reason, now_ms);
        if (!next.ok()) return next.status();
        CachedStatement u = Prepared(kSqlCountPreemption);
        u->bind(1, lease.trial_id);
        u->exec();
        RefreshExperimentStatus(held->experiment_id);
        return next;
      });
}

absl::StatusOr<std::vector<ExpiredLease>> SqliteTrialStore::ExpireLeases(int64_t now_ms,
                                                                         int max_attempts) {
  return InWriteTransaction("expiring leases", [&]() -> absl::StatusOr<std::vector<ExpiredLease>> {
    struct Expired {
      LeaseRef lease;
      bool cancel_requested;
      std::string experiment_id;
      int preemptions;
    };
    std::vector<Expired> expired;
    {
      CachedStatement q = Prepared(kSqlExpiredLeases);
      q->bind(1, now_ms);
      while (q->executeStep()) {
        expired.push_back({LeaseRef{q->getColumn(0).getInt64(), q->getColumn(1).getString(),
                                    q->getColumn(2).getInt()},
                           q->getColumn(3).getInt() != 0, q->getColumn(4).getString(),
                           q->getColumn(5).getInt()});
      }
    }
    std::vector<ExpiredLease> result;
    std::set<std::string> experiments;
    for (const Expired& e : expired) {
      TrialEvent event = TrialEvent::kLeaseExpired;
      if (e.cancel_requested) {
        event = TrialEvent::kFinishCancelled;
      } else if (e.lease.attempt - e.preemptions >= max_attempts) {
        event = TrialEvent::kLeaseExpiredFinal;
      }
      // Attempts handed back on SIGTERM do not count against max_attempts.
      const std::string error =
          e.preemptions == 0
              ? absl::StrCat("lease expired: worker ", e.lease.worker_id,
                             " stopped heartbeating (attempt ", e.lease.attempt, " of ",
                             max_attempts, ")")
              : absl::StrCat("lease expired: worker ", e.lease.worker_id,
                             " stopped heartbeating (attempt ", e.lease.attempt, ", failure ",
                             e.lease.attempt - e.preemptions, " of ", max_attempts, ", ",
                             e.preemptions, " preempted)");
      absl::StatusOr<TrialState> next =
          EndAttempt(e.lease, TrialState::kRunning, event, error, now_ms);
      if (!next.ok()) return next.status();
      result.push_back({e.lease.trial_id, e.lease.worker_id, e.lease.attempt, *next});
      experiments.insert(e.experiment_id);
    }
    for (const std::string& id : experiments) RefreshExperimentStatus(id);
    return result;
  });
}

absl::StatusOr<int64_t> SqliteTrialStore::WriteMetrics(
    const LeaseRef& lease, const std::vector<MetricPointRecord>& points) {
  for (const MetricPointRecord& point : points) {
    if (point.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric at step ", point.step, " has no name"));
    }
  }
  return InWriteTransaction(absl::StrCat("writing metrics of trial ", lease.trial_id),
                            [&]() -> absl::StatusOr<int64_t> {
                              absl::StatusOr<LeaseState> held = CheckLease(lease);
                              if (!held.ok()) return held.status();
                              int64_t written = 0;
                              for (const MetricPointRecord& point : points) {
                                CachedStatement u = Prepared(kSqlUpsertMetric);
                                u->bind(1, lease.trial_id);
                                u->bind(2, point.name);
                                u->bind(3, point.step);
                                u->bind(4, point.epoch);
                                BindDouble(*u, 5, point.value);
                                u->bind(6, point.wall_ms);
                                written += u->exec();
                              }
                              return written;
                            });
}

absl::Status SqliteTrialStore::WriteSample(const LeaseRef& lease, const SampleRecord& sample) {
  if (sample.name.empty()) return absl::InvalidArgumentError("sample has no name");
  return InWriteTransaction(absl::StrCat("writing a sample of trial ", lease.trial_id), [&]() {
    absl::StatusOr<LeaseState> held = CheckLease(lease);
    if (!held.ok()) return held.status();
    CachedStatement u = Prepared(kSqlUpsertSample);
    u->bind(1, lease.trial_id);
    u->bind(2, sample.name);
    u->bind(3, sample.step);
    u->bind(4, sample.epoch);
    // The bytes outlive the statement's use; the binding is cleared on release.
    u->bindNoCopy(5, static_cast<const void*>(sample.png.data()),
                  static_cast<int>(sample.png.size()));
    u->bind(6, sample.rows);
    u->bind(7, sample.cols);
    u->exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> SqliteTrialStore::AddCheckpoint(
    const LeaseRef& lease, const CheckpointRecord& checkpoint, int keep) {
  if (keep < 1) {
    return absl::InvalidArgumentError(absl::StrCat("keep must be at least 1 (got ", keep, ")"));
  }
  if (checkpoint.trial_id != 0 && checkpoint.trial_id != lease.trial_id) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint of trial ", checkpoint.trial_id,
                                                   " under the lease of trial ", lease.trial_id));
  }
  return InWriteTransaction(absl::StrCat("recording a checkpoint of trial ", lease.trial_id),
                            [&]() -> absl::StatusOr<std::vector<std::string>> {
                              absl::StatusOr<LeaseState> held = CheckLease(lease);
                              if (!held.ok()) return held.status();
                              std::vector<std::string> candidates;
                              {
                                CachedStatement q = Prepared(kSqlCheckpointPathAtStep);
                                q->bind(1, lease.trial_id);
                                q->bind(2, checkpoint.step);
                                if (q->executeStep())
                                  candidates.push_back(q->getColumn(0).getString());
                              }
                              {
                                CachedStatement u = Prepared(kSqlUpsertCheckpoint);
                                u->bind(1, lease.trial_id);
                                u->bind(2, checkpoint.step);
                                u->bind(3, checkpoint.epoch);
                                u->bind(4, checkpoint.sha256);
                                u->bind(5, checkpoint.size_bytes);
                                u->bind(6, checkpoint.path);
                                u->bind(7, checkpoint.created_ms);
                                u->exec();
                              }
                              std::vector<int64_t> old_steps;
                              {
                                CachedStatement q = Prepared(kSqlCheckpointsBeyondNewest);
                                q->bind(1, lease.trial_id);
                                q->bind(2, keep);
                                while (q->executeStep()) {
                                  old_steps.push_back(q->getColumn(0).getInt64());
                                  candidates.push_back(q->getColumn(1).getString());
                                }
                              }
                              for (int64_t step : old_steps) {
                                CachedStatement u = Prepared(kSqlDeleteCheckpointAtStep);
                                u->bind(1, lease.trial_id);
                                u->bind(2, step);
                                u->exec();
                              }
                              std::set<std::string> still_used;
                              {
                                CachedStatement q = Prepared(kSqlCheckpointPaths);
                                q->bind(1, lease.trial_id);
                                while (q->executeStep())
                                  still_used.insert(q->getColumn(0).getString());
                              }
                              std::vector<std::string> dropped;
                              for (std::string& path : candidates) {
                                if (still_used.insert(path).second)
                                  dropped.push_back(std::move(path));
                              }
                              return dropped;
                            });
}

absl::StatusOr<std::vector<CheckpointRecord>> SqliteTrialStore::ListCheckpoints(int64_t trial_id) {
  return InReadTransaction("listing checkpoints",
                           [&]() -> absl::StatusOr<std::vector<CheckpointRecord>> {
                             absl::StatusOr<int64_t> data_trial = DataTrialId(trial_id);
                             if (!data_trial.ok()) return data_trial.status();
                             std::vector<CheckpointRecord> checkpoints;
                             CachedStatement q = Prepared(kSqlCheckpointsOfTrial);
                             q->bind(1, *data_trial);
                             while (q->executeStep()) {
                               CheckpointRecord c;
                               c.trial_id = q->getColumn("trial_id").getInt64();
                               c.step = q->getColumn("step").getInt64();
                               c.epoch = q->getColumn("epoch").getInt64();
                               c.sha256 = q->getColumn("sha256").getString();
                               c.size_bytes = q->getColumn("size_bytes").getInt64();
                               c.path = q->getColumn("path").getString();
                               c.created_ms = q->getColumn("created_ms").getInt64();
                               checkpoints.push_back(std::move(c));
                             }
                             return checkpoints;
                           });
}

absl::Status SqliteTrialStore::DeleteCheckpoint(int64_t trial_id, const std::string& sha256) {
  return InWriteTransaction(absl::StrCat("deleting a checkpoint of trial ", trial_id), [&]() {
    absl::StatusOr<int64_t> data_trial = DataTrialId(trial_id);
    if (!data_trial.ok()) return data_trial.status();
    CachedStatement u = Prepared(kSqlDeleteCheckpointBySha);
    u->bind(1, *data_trial);
    u->bind(2, sha256);
    if (u->exec() == 0) {
      return absl::NotFoundError(
          absl::StrCat("trial ", trial_id, " has no checkpoint with sha256 ", sha256));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<MetricPointRecord>> SqliteTrialStore::ListMetrics(int64_t trial_id) {
  return InReadTransaction(
      "listing metrics", [&]() -> absl::StatusOr<std::vector<MetricPointRecord>> {
        absl::StatusOr<int64_t> data_trial = DataTrialId(trial_id);
        if (!data_trial.ok()) return data_trial.status();
        std::vector<MetricPointRecord> points;
        CachedStatement q = Prepared(kSqlMetricsOfTrial);
        q->bind(1, *data_trial);
        while (q->executeStep()) {
          points.push_back({q->getColumn(0).getString(), q->getColumn(1).getInt64(),
                            q->getColumn(2).getInt64(), ReadDouble(q->getColumn(3)),
                            q->getColumn(4).getInt64()});
        }
        return points;
      });
}

absl::StatusOr<std::map<std::string, double>> SqliteTrialStore::LatestMetrics(int64_t trial_id) {
  return InReadTransaction("reading the latest metrics",
                           [&]() -> absl::StatusOr<std::map<std::string, double>> {
                             absl::StatusOr<int64_t> data_trial = DataTrialId(trial_id);
                             if (!data_trial.ok()) return data_trial.status();
                             std::map<std::string, double> latest;
                             CachedStatement q = Prepared(kSqlLatestMetrics);
                             q->bind(1, *data_trial);
                             while (q->executeStep())
                               latest[q->getColumn(0).getString()] = ReadDouble(q->getColumn(1));
                             return latest;
                           });
}

absl::StatusOr<std::vector<SampleRecord>> SqliteTrialStore::ListSamples(int64_t trial_id) {
  return InReadTransaction("listing samples", [&]() -> absl::StatusOr<std::vector<SampleRecord>> {
    absl::StatusOr<int64_t> data_trial = DataTrialId(trial_id);
    if (!data_trial.ok()) return data_trial.status();
    std::vector<SampleRecord> samples;
    CachedStatement q = Prepared(kSqlSamplesOfTrial);
    q->bind(1, *data_trial);
    while (q->executeStep()) {
      SampleRecord s;
      s.name = q->getColumn(0).getString();
      s.step = q->getColumn(1).getInt64();
      s.epoch = q->getColumn(2).getInt64();
      s.png = q->getColumn(3).getString();
      s.rows = q->getColumn(4).getInt();
      s.cols = q->getColumn(5).getInt();
      samples.push_back(std::move(s));
    }
    return samples;
  });
}

absl::StatusOr<QueryResult> SqliteTrialStore::Query(const std::string& sql) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    return RunReadOnlyQuery(*db_, sql);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("running a query: ", e.what()));
  }
}

}  // namespace gridrun::coordinator
