// SqliteTrialStore's core: opening the database, the connection's statement
// cache, the row readers and lease check every concern shares, and ad-hoc
// read-only queries. The concerns live in sqlite_store_*.cpp (see
// sqlite_store_internal.h for the map).
#include "coordinator/sqlite_trial_store.h"

#include <cmath>
#include <limits>

#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace sqlite_store {

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
  ASSIGN_OR_RETURN(t.state, ReadState(row.getColumn("state"), t.trial_id));
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
  t.stop_after_epoch = row.getColumn("stop_after_epoch").getInt64();
  t.rung_epoch = row.getColumn("rung_epoch").getInt64();
  t.stop_requested = row.getColumn("stop_requested").getInt() != 0;
  return t;
}

absl::Status TrialNotFound(int64_t trial_id) {
  return absl::NotFoundError(absl::StrCat("trial ", trial_id, " not found"));
}

}  // namespace sqlite_store

namespace {

using sqlite_store::ReadState;
using sqlite_store::TrialNotFound;

constexpr char kSqlTrialById[] = "SELECT * FROM trials WHERE trial_id = ?1";
constexpr char kSqlTrialParams[] = "SELECT name, value FROM trial_params WHERE trial_id = ?1";
// The reuse rule is the schema's (the trial_source view, sqlite_schema.cpp).
constexpr char kSqlSourceTrial[] =
    "SELECT source_trial_id FROM trial_source WHERE trial_id = ?1";
// Leases that ended at a rung are no more failures than preemptions are.
constexpr char kSqlLeaseOfTrial[] =
    "SELECT state, worker_id, attempt, cancel_requested, experiment_id, "
    "preemptions + rung_leases, stop_requested, stop_reason FROM trials WHERE trial_id = ?1";

std::string LeaseLostMessage(const LeaseRef& lease, TrialState state, int attempt,
                             const std::string& worker_id) {
  return absl::StrCat("lease lost: trial ", lease.trial_id, " attempt ", lease.attempt,
                      " is not held by worker ", lease.worker_id, " (trial is ",
                      TrialStateName(state), ", attempt ", attempt,
                      worker_id.empty() ? "" : absl::StrCat(", worker ", worker_id), ")");
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteTrialStore>> SqliteTrialStore::Open(
    const std::string& path, const WalCheckpointer::Options& checkpoints) {
  ASSIGN_OR_RETURN(std::unique_ptr<SQLite::Database> db, OpenDatabase(path));
  // WriteMetrics keeps metrics_last itself, a batch per statement; the
  // schema's per-row triggers remain for every other writer (schema version 10).
  if (sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr) !=
      SQLITE_OK) {
    return absl::InternalError(absl::StrCat("turning off triggers on the connection to ", path));
  }
  sqlite3* const writer = db->getHandle();
  std::unique_ptr<SqliteTrialStore> store(
      new SqliteTrialStore(path, std::move(db), /*read_only=*/false));
  if (!path.empty() && path != ":memory:") {  // a WAL only on file
    ASSIGN_OR_RETURN(store->checkpointer_, WalCheckpointer::Start(path, writer, checkpoints));
  }
  return store;
}

WalCheckpointer::Stats SqliteTrialStore::wal_checkpoint_stats() const {
  return checkpointer_ ? checkpointer_->stats() : WalCheckpointer::Stats{};
}

absl::StatusOr<std::unique_ptr<SqliteTrialStore>> SqliteTrialStore::OpenReadOnly(
    const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SQLite::Database> db, OpenReadOnlyDatabase(path));
  return std::unique_ptr<SqliteTrialStore>(
      new SqliteTrialStore(path, std::move(db), /*read_only=*/true));
}

SqliteTrialStore::SqliteTrialStore(std::string path, std::unique_ptr<SQLite::Database> db,
                                   bool read_only)
    : path_(std::move(path)),
      read_only_(read_only),
      db_(std::move(db)),
      statements_(std::make_unique<StatementCache>(*db_)) {}

SqliteTrialStore::~SqliteTrialStore() = default;

absl::Status SqliteTrialStore::Atomically(const std::function<absl::Status()>& fn) {
  return InWriteTransaction("writing one transaction", [&]() -> absl::Status { return fn(); });
}

void SqliteTrialStore::RunAfterCommit(std::function<void()> fn) {
  // Only this thread's open transaction can be holding mu_ for this thread.
  if (txn_owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
    after_commit_.push_back(std::move(fn));
    return;
  }
  fn();
}

SqliteTrialStore::CachedStatement SqliteTrialStore::Prepared(const char* sql) {
  return CachedStatement(statements_->Acquire(sql));
}

absl::StatusOr<TrialRecord> SqliteTrialStore::ReadTrial(int64_t trial_id) {
  TrialRecord trial;
  {
    CachedStatement q = Prepared(kSqlTrialById);
    SQLite::bind(*q, trial_id);
    if (!q->executeStep()) return TrialNotFound(trial_id);
    ASSIGN_OR_RETURN(trial, sqlite_store::TrialFromRow(*q));
  }
  CachedStatement q = Prepared(kSqlTrialParams);
  SQLite::bind(*q, trial_id);
  while (q->executeStep()) {
    trial.params[q->getColumn(0).getString()] = q->getColumn(1).getString();
  }
  return trial;
}

absl::StatusOr<SqliteTrialStore::LeaseState> SqliteTrialStore::CheckLease(const LeaseRef& lease) {
  CachedStatement q = Prepared(kSqlLeaseOfTrial);
  SQLite::bind(*q, lease.trial_id);
  if (!q->executeStep()) return TrialNotFound(lease.trial_id);
  ASSIGN_OR_RETURN(const TrialState state, ReadState(q->getColumn(0), lease.trial_id));
  const std::string worker_id = q->getColumn(1).getString();
  const int attempt = q->getColumn(2).getInt();
  if (state != TrialState::kRunning || worker_id != lease.worker_id || attempt != lease.attempt) {
    return absl::AbortedError(LeaseLostMessage(lease, state, attempt, worker_id));
  }
  return LeaseState{state,
                    q->getColumn(3).getInt() != 0,
                    q->getColumn(4).getString(),
                    q->getColumn(5).getInt(),
                    q->getColumn(6).getInt() != 0,
                    q->getColumn(7).getString()};
}

absl::StatusOr<int64_t> SqliteTrialStore::ReuseSourceOrSelf(int64_t trial_id) {
  CachedStatement q = Prepared(kSqlSourceTrial);
  SQLite::bind(*q, trial_id);
  if (!q->executeStep()) return TrialNotFound(trial_id);
  return q->getColumn(0).getInt64();
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
