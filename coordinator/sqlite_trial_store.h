// SqliteTrialStore: the TrialStore on one SQLite database (schema in
// coordinator/sqlite_schema.h).
//
// The coordinator is the database's only writer; the CLI reads it through a
// separate read-only connection (OpenReadOnly() or OpenReadOnlyDatabase()).
// Several stores on the same file (several processes, or two objects in one
// process) are still correct: every mutating call is one BEGIN IMMEDIATE
// transaction, and every lease check is a compare-and-set
// (`UPDATE ... WHERE trial_id=? AND state='RUNNING' AND worker_id=? AND
// attempt=?`, changes() == 1), so two claimers never get the same trial and a
// worker that lost its lease never overwrites the new holder.
//
// Lease protocol, as this store implements it:
//   1. ClaimNextTrial picks the first WAITING trial the worker can run
//      (experiments in submission order, trials in grid order), and moves it
//      to RUNNING with attempt + 1 and a deadline.
//   2. The holder names its lease (trial_id, worker_id, attempt) in every
//      call; RenewLease moves the deadline and reports cancel_requested.
//   3. CompleteTrial / FailTrial end the attempt; ExpireLeases ends the
//      attempts whose deadline passed (back to WAITING, or FAILED on the last
//      attempt). A cancel-requested attempt ends as CANCELLED either way.
//   Every state change is computed by Transition() (coordinator/trial_state.h).
//
// Durability: WAL with synchronous=NORMAL -- a call that returned OK survives
// the coordinator being killed (see sqlite_schema.h for why not FULL).
//
// Reused trials (reused_from != 0) have no rows of their own: ListMetrics,
// LatestMetrics, ListSamples, ListCheckpoints, DeleteCheckpoint and
// ListAttempts act on the source trial, as the `results` view does.
//
// The methods are defined by concern in sqlite_trial_store.cpp and
// sqlite_store_{experiments,leases,attempts,metrics,checkpoints,workers}.cpp
// (map in sqlite_store_internal.h).
//
// Storage errors (SQLite exceptions) become INTERNAL carrying SQLite's
// message; no exception leaves this class.
//
// Thread-safety: safe from any number of threads; one mutex serialises all
// use of the single connection. Inside Atomically(fn) the calling thread
// holds it for the whole of fn, and its calls nest as savepoints (the
// thread that owns the open transaction is remembered, so they do not
// wait for themselves); other threads wait.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/sqlite_schema.h"
#include "coordinator/trial_state.h"
#include "coordinator/trial_store.h"
#include "coordinator/wal_checkpointer.h"
#include "search/search_settings.h"

namespace gridrun::coordinator {

class SqliteTrialStore final : public TrialStore {
 public:
  // Opens (creating if needed) the database at `path` for reading and
  // writing and migrates its schema; ":memory:" gives a private in-memory
  // database. Errors as OpenDatabase() (sqlite_schema.h): FAILED_PRECONDITION
  // for a newer schema or a file that is not a gridrun database, INTERNAL if
  // the file cannot be opened. A file database's WAL checkpoints run on a
  // thread of their own (wal_checkpointer.h), with `checkpoints`.
  static absl::StatusOr<std::unique_ptr<SqliteTrialStore>> Open(
      const std::string& path, const WalCheckpointer::Options& checkpoints = {});

  // Opens an existing database with SQLITE_OPEN_READONLY, for the CLI's
  // status/query commands. Every read works; every mutating call returns
  // FAILED_PRECONDITION ("opened read-only") without touching the file.
  // Errors as OpenReadOnlyDatabase().
  static absl::StatusOr<std::unique_ptr<SqliteTrialStore>> OpenReadOnly(const std::string& path);

  ~SqliteTrialStore() override;
  SqliteTrialStore(const SqliteTrialStore&) = delete;
  SqliteTrialStore& operator=(const SqliteTrialStore&) = delete;

  // Experiment ids are "exp-" + the first 8 hex digits of
  // sha256(name + spec_sha256) (more digits in the unlikely case of a clash).
  // A reused trial points at the newest COMPLETE trial with the same
  // config_sha256 that is not itself reused, and copies its progress. The
  // experiment is DONE at once if nothing is left to run.
  // INVALID_ARGUMENT for an empty name or duplicate trial numbers.
  absl::StatusOr<SubmitResult> SubmitExperiment(const NewExperiment& experiment, bool rerun,
                                                int64_t now_ms) override;
  // trial_counts has an entry (possibly 0) for every TrialState.
  absl::StatusOr<ExperimentRecord> GetExperiment(const std::string& id_or_name) override;
  // limit <= 0 means no limit; a negative offset counts as 0.
  absl::StatusOr<std::vector<ExperimentRecord>> ListExperiments(int64_t offset,
                                                                int64_t limit) override;
  absl::StatusOr<std::vector<TrialRecord>> ListTrials(
      const std::string& id_or_name, const std::vector<TrialState>& states) override;
  absl::StatusOr<TrialRecord> GetTrial(int64_t trial_id) override;

  // INVALID_ARGUMENT for an empty worker_id.
  absl::Status UpsertWorker(const WorkerRecord& worker) override;
  absl::StatusOr<WorkerRecord> GetWorker(const std::string& worker_id) override;

  // Also records now_ms as the worker's last_seen_ms when it is registered.
  // The first lease of a trial sets started_ms. INVALID_ARGUMENT for an empty
  // worker_id or lease_ms <= 0.
  absl::StatusOr<std::optional<TrialRecord>> ClaimNextTrial(const std::string& worker_id, int ranks,
                                                            const std::string& device,
                                                            int64_t now_ms,
                                                            int64_t lease_ms) override;
  // NOT_FOUND for an unknown trial; ABORTED ("lease lost: trial 12 attempt 2
  // is not held by worker w-3 (...)") otherwise when the lease is not current.
  absl::StatusOr<TrialRecord> RenewLease(const LeaseRef& lease, int64_t now_ms, int64_t lease_ms,
                                         int64_t epoch, int64_t step, int64_t total_steps,
                                         double steps_per_second) override;
  // Cancelling an experiment that is already DONE (nothing waiting or
  // running) leaves it DONE and returns {0, 0}; cancelling twice is harmless.
  absl::StatusOr<std::pair<int64_t, int64_t>> CancelExperiment(const std::string& id_or_name,
                                                               int64_t now_ms) override;
  // Stores `final_metrics` (also when the trial ends CANCELLED).
  absl::StatusOr<TrialState> CompleteTrial(const LeaseRef& lease,
                             const std::map<std::string, double>& final_metrics,
                             int64_t now_ms) override;
  // The error is recorded also when the trial goes back to WAITING.
  absl::StatusOr<TrialState> FailTrial(const LeaseRef& lease, const std::string& error,
                                       bool retryable, int max_attempts, int64_t now_ms) override;
  absl::StatusOr<TrialState> HandBackTrial(const LeaseRef& lease, const std::string& reason,
                                           int64_t now_ms) override;
  absl::StatusOr<std::vector<ExpiredLease>> ExpireLeases(int64_t now_ms, int max_attempts) override;
  // A NaN value is stored as NULL and read back as NaN. INVALID_ARGUMENT (and
  // nothing written) if a point has an empty name.
  absl::StatusOr<int64_t> WriteMetrics(const LeaseRef& lease,
                                       const std::vector<MetricPointRecord>& points) override;
  absl::Status WriteSample(const LeaseRef& lease, const SampleRecord& sample) override;
  // With keep_best, the checkpoint after the trial's best epoch is kept
  // besides the newest `keep` (MarkBestCheckpoint).
  // checkpoint.trial_id must be 0 or lease.trial_id. A second checkpoint at
  // the same step replaces the first (its path is returned as dropped unless
  // the new row uses the same path). A path still used by a kept row is
  // never returned. INVALID_ARGUMENT if keep < 1.
  absl::StatusOr<std::vector<std::string>> AddCheckpoint(const LeaseRef& lease,
                                                         const CheckpointRecord& checkpoint,
                                                         int keep) override;
  // Newest (highest step) first.
  absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints(int64_t trial_id) override;
  // NOT_FOUND if the trial has no checkpoint with that sha256.
  absl::Status DeleteCheckpoint(int64_t trial_id, const std::string& sha256) override;
  absl::Status AddTorchScriptFile(const TorchScriptFileRecord& file) override;
  absl::StatusOr<TorchScriptFileRecord> GetTorchScriptFile(const std::string& sha256) override;
  absl::StatusOr<std::vector<std::string>> RetainTrained(int64_t trial_id,
                                                         int64_t default_keep) override;
  // In (name, step) order.
  absl::StatusOr<std::vector<MetricPointRecord>> ListMetrics(int64_t trial_id) override;
  absl::StatusOr<std::map<std::string, double>> LatestMetrics(int64_t trial_id) override;
  // In (name, step) order.
  absl::StatusOr<std::vector<SampleRecord>> ListSamples(int64_t trial_id) override;
  absl::Status RecordAttempt(const LeaseRef& lease, const std::string& environment_json,
                             int64_t now_ms) override;
  // In attempt order.
  absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(int64_t trial_id) override;
  absl::StatusOr<TrialState> ReachRung(const LeaseRef& lease, int64_t epoch,
                                       int64_t now_ms) override;
  absl::StatusOr<std::optional<std::string>> ApplyStopRules(const LeaseRef& lease,
                                                            int64_t now_ms) override;
  absl::StatusOr<std::vector<SearchDecisionRecord>> ListSearchDecisions(
      const std::string& id_or_name) override;

  // The feed uses SQLite's update hook: every trials row a transaction
  // touches is read back (with its latest metrics) before COMMIT, only
  // while listener->active().
  void SetCommitListener(TrialCommitListener* listener) override;
  // Each call fn makes is a savepoint inside one BEGIN IMMEDIATE transaction.
  absl::Status Atomically(const std::function<absl::Status()>& fn) override;
  void RunAfterCommit(std::function<void()> fn) override;
  absl::Status PublishSnapshot(const std::string& id_or_name) override;

  // Additions beyond TrialStore, for the CLI and tests.

  // Runs one read-only SQL statement on this store's connection (e.g.
  // "SELECT * FROM results"); see RunReadOnlyQuery() in read_only_query.h.
  absl::StatusOr<QueryResult> Query(const std::string& sql);
  // The file this store was opened on (":memory:" for an in-memory one).
  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  // The WAL checkpointer's counters; all 0 for an in-memory or read-only store.
  WalCheckpointer::Stats wal_checkpoint_stats() const;

 private:
  class StatementCache;
  class CachedStatement;
  struct LeaseState;

  SqliteTrialStore(std::string path, std::unique_ptr<SQLite::Database> db, bool read_only);

  // Runs `body` inside one transaction under mu_: BEGIN IMMEDIATE for writes
  // (refused on a read-only store), BEGIN for reads (one consistent
  // snapshot). COMMITs when `body` returns OK, rolls back otherwise; SQLite
  // exceptions become INTERNAL naming `operation`.
  template <typename Body>
  auto InWriteTransaction(const std::string& operation, Body&& body) -> decltype(body());
  template <typename Body>
  auto InReadTransaction(const std::string& operation, Body&& body) -> decltype(body());
  template <typename Body>
  auto InTransaction(bool write, const std::string& operation, Body&& body) -> decltype(body());
  // A call inside Atomically(): a savepoint in the open transaction.
  template <typename Body>
  auto InNestedTransaction(bool write, const std::string& operation, Body&& body)
      -> decltype(body());

  // The helpers below run inside a transaction (mu_ held) and may throw
  // SQLite::Exception.
  CachedStatement Prepared(const char* sql);
  absl::StatusOr<std::string> ResolveExperimentId(const std::string& id_or_name);
  absl::StatusOr<ExperimentRecord> ReadExperiment(const std::string& experiment_id);
  absl::StatusOr<TrialRecord> ReadTrial(int64_t trial_id);
  // NOT_FOUND for an unknown trial; ABORTED when `lease` is not current.
  absl::StatusOr<LeaseState> CheckLease(const LeaseRef& lease);
  // The trial whose metrics/samples/checkpoints/attempts `trial_id` shows,
  // by the schema's reuse rule (the trial_source view): its reuse source if
  // it is reused, else itself. NOT_FOUND for an unknown trial.
  absl::StatusOr<int64_t> ReuseSourceOrSelf(int64_t trial_id);
  // Moves `lease`'s trial by `event` (via Transition()) with a CAS on the
  // lease; ABORTED if the row is no longer held.
  absl::StatusOr<TrialState> EndAttempt(const LeaseRef& lease, TrialState from, TrialEvent event,
                                        const std::string& error, int64_t now_ms);
  // ACTIVE -> DONE once no trial is WAITING or RUNNING; PAUSED trials then
  // become STOPPED first (sqlite_store_search.cpp).
  void RefreshExperimentStatus(const std::string& experiment_id, int64_t now_ms);
  // sqlite_store_search.cpp: the experiment's search settings (std::nullopt
  // for a plain grid; INTERNAL for stored JSON that does not parse).
  absl::StatusOr<std::optional<search::SearchSettings>> ReadSearchSettings(
      const std::string& experiment_id);
  // sqlite_store_search.cpp, keep_best: the trial's best epoch by its
  // experiment's keep_best metric over the stored values
  // (search::BestEpoch), and the step that epoch's value was measured at;
  // std::nullopt without keep_best or without a value yet.
  struct EpochAndStep {
    int64_t epoch = 0;
    int64_t step = 0;
  };
  absl::StatusOr<std::optional<EpochAndStep>> KeepBestEpoch(int64_t trial_id);
  // True when the experiment has a non_finite stop rule and `error` is a
  // trainer's non-finite refusal ("non-finite loss/d at step 17").
  absl::StatusOr<bool> StopsOnNonFinite(const std::string& experiment_id,
                                        const std::string& error);
  void LogSearchDecision(int64_t trial_id, const char* kind, int rung, int64_t epoch,
                         const std::string& reason, int64_t now_ms);
  // PAUSED -> STOPPED for every paused trial when nothing else can run.
  void FinishPausedIfIdle(const std::string& experiment_id, int64_t now_ms);
  // keep_best: marks the trial's checkpoint at `step` as its best (and no
  // other) when it was saved right after the best epoch of the keep_best
  // metric; retention keeps the best besides the newest (checkpoints.best).
  absl::Status MarkBestCheckpoint(int64_t trial_id, int64_t step);
  std::string NewExperimentId(const NewExperiment& experiment);

  const std::string path_;
  const bool read_only_;
  std::mutex mu_;
  // The thread whose transaction holds mu_ while its body runs (none: id()).
  std::atomic<std::thread::id> txn_owner_{};
  std::unique_ptr<SQLite::Database> db_;        // guarded by mu_
  std::unique_ptr<StatementCache> statements_;  // guarded by mu_; destroyed before db_
  // Commit feed: trial ids the open transaction touched (update hook), and
  // the rows read back for the listener; both guarded by mu_.
  TrialCommitListener* listener_ = nullptr;
  std::vector<int64_t> touched_trials_;
  std::vector<TrialChange> committed_changes_;
  // RunAfterCommit's work for the open transaction, in order; guarded by mu_.
  std::vector<std::function<void()>> after_commit_;
  static void OnUpdateHook(void* self, int op, const char* database, const char* table,
                           long long rowid);  // sqlite3_int64
  // Under mu_, before COMMIT: reads every touched trial (and latest metrics)
  // into committed_changes_; clears touched_trials_.
  void ReadTouchedTrials();
  // Under mu_, after COMMIT: hands committed_changes_ to the listener.
  void DeliverCommitted();

  // Checkpoints the WAL off the writing thread; null for an in-memory or
  // read-only store. Declared last: stopped before the connection closes.
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace gridrun::coordinator
