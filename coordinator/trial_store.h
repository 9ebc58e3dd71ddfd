// TrialStore: everything the coordinator persists, behind one interface.
//
// The coordinator keeps no state outside the store: kill it, restart it on the
// same file, and every experiment carries on. Implementations:
// SqliteTrialStore (coordinator/sqlite_trial_store.h).
//
// Contracts every implementation keeps (tests/coordinator/trial_store_contract
// runs one suite against each):
//   1. Every mutating call is atomic (one transaction) and durable when it
//      returns OK.
//   2. Lease checks are compare-and-set: calls that name a lease
//      (trial_id, worker_id, attempt) succeed only while the trial is RUNNING
//      with exactly that worker and attempt; otherwise they return ABORTED and
//      change nothing. So a worker that lost its lease can never overwrite
//      the trial's new owner.
//   3. Metric and sample writes are idempotent: keyed by (trial_id, name,
//      step); writing the same key again overwrites, never duplicates.
//   4. Errors: NOT_FOUND for unknown ids, ALREADY_EXISTS for a name clash,
//      ABORTED for lost leases, FAILED_PRECONDITION for illegal state
//      transitions (see coordinator/trial_state.h), INTERNAL for storage
//      failures (disk full, I/O error) with SQLite's message.
//
// Thread-safety: implementations are safe to call from many threads (the gRPC
// server's); they serialise writes internally.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/trial_state.h"

namespace gridrun::coordinator {

// One trial as the grid expansion produced it, before it is stored.
struct NewTrial {
  int64_t number = 0;                       // 0-based position in the grid
  std::string config_json;                  // canonical (common/trial_config.h)
  std::string config_sha256;                // ConfigSha256 of that config
  std::map<std::string, std::string> params;  // grid axis name -> value text
  int ranks = 1;                            // for capability matching
  std::string device = "cpu";
  int64_t stop_after_epoch = 0;             // ASHA: the first rung (0: none)
  int64_t init_from_trial = 0;              // its warm start's source trial (0: none)
};

struct NewExperiment {
  std::string name;
  std::string spec_yaml;
  std::string spec_sha256;
  std::vector<NewTrial> trials;
  // search::SearchSettingsToJson of the spec's search settings; "" for a
  // plain grid (no sampling, scheduler, stop rules or keep_best).
  std::string search_json;
  // The user's model files the spec names, as a JSON object (path as the
  // spec writes it -> text); "" when it names none. With spec_yaml, what
  // re-running the experiment needs (`gridrun export --spec`).
  std::string model_files_json;
};

enum class ExperimentStatus { kActive, kDone, kCancelled };
const char* ExperimentStatusName(ExperimentStatus status);

struct ExperimentRecord {
  std::string experiment_id;
  std::string name;
  std::string spec_yaml;
  std::string spec_sha256;
  ExperimentStatus status = ExperimentStatus::kActive;
  int64_t created_ms = 0;
  std::map<TrialState, int64_t> trial_counts;
  int64_t total_trials = 0;
  std::string search_json;  // as NewExperiment
  std::string model_files_json;  // as NewExperiment
  // Epochs trained by this experiment's own trials (reused ones cost
  // nothing), and what running every trial to its last epoch would take.
  int64_t trial_epochs_run = 0;
  int64_t trial_epochs_full = 0;
  // COMPLETE trials that keep a checkpoint (their trained model), and the
  // bytes of those checkpoints.
  int64_t trained_kept = 0;
  int64_t trained_kept_bytes = 0;
};

struct TrialRecord {
  int64_t trial_id = 0;
  std::string experiment_id;
  int64_t number = 0;
  TrialState state = TrialState::kWaiting;
  int attempt = 0;
  int preemptions = 0;  // attempts handed back on SIGTERM (not failures)
  std::string worker_id;
  int64_t lease_expires_ms = 0;
  std::string config_json;
  std::string config_sha256;
  std::string error;
  std::map<std::string, std::string> params;
  int ranks = 1;
  std::string device = "cpu";
  bool cancel_requested = false;
  int64_t reused_from = 0;  // 0: trained here
  int64_t epoch = 0;        // progress, as last reported
  int64_t step = 0;
  int64_t total_steps = 0;
  double steps_per_second = 0;
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  // Early stopping (coordinator/trial_state.h).
  int64_t stop_after_epoch = 0;  // where the next lease stops (0: the end)
  int64_t rung_epoch = 0;        // the highest rung epoch reached (0: none)
  // Set by ClaimNextTrial only, from the experiment's keep_best (proto
  // convention 7d): the metric ("" for none) and whether larger is better.
  std::string keep_best_metric;
  bool keep_best_maximize = false;
  bool stop_requested = false;   // RUNNING, told to stop; the reason is in error
};

// One decision of an experiment's scheduler or stop rules, in the order made.
struct SearchDecisionRecord {
  int64_t decision_id = 0;
  int64_t trial_id = 0;
  int64_t number = 0;        // the trial's grid number
  std::string kind;          // CONTINUE, PAUSE, PROMOTE, STOP, FINISH_PAUSED
  int rung = -1;             // -1: not a rung decision
  int64_t epoch = 0;
  std::string reason;
  int64_t decided_ms = 0;
};

struct SubmitResult {
  std::string experiment_id;
  int64_t trial_count = 0;
  bool already_existed = false;
  int64_t reused_trials = 0;
};

// The lease a call acts under.
struct LeaseRef {
  int64_t trial_id = 0;
  std::string worker_id;
  int attempt = 0;
};

struct MetricPointRecord {
  std::string name;
  int64_t step = 0;
  int64_t epoch = 0;
  double value = 0;
  int64_t wall_ms = 0;
};

struct SampleRecord {
  std::string name;
  int64_t step = 0;
  int64_t epoch = 0;
  std::string png;
  int rows = 0;
  int cols = 0;
};

struct CheckpointRecord {
  int64_t trial_id = 0;
  int64_t step = 0;
  int64_t epoch = 0;
  std::string sha256;
  int64_t size_bytes = 0;
  std::string path;  // file under the checkpoint directory
  int64_t created_ms = 0;
  bool best = false;  // keep_best: saved after the trial's best epoch
};

// A TorchScript file a model file names, stored once by its content hash.
struct TorchScriptFileRecord {
  std::string sha256;
  int64_t size_bytes = 0;
  std::string path;  // file under the checkpoint directory
  std::string name;  // the path the model file wrote (messages only)
  int64_t created_ms = 0;
};

struct WorkerRecord {
  std::string worker_id;
  std::string host;
  int ranks = 1;
  std::string device = "cpu";
  int gpus = 0;
  int64_t pid = 0;
  int64_t last_seen_ms = 0;
};

// Where one attempt of a trial ran.
struct AttemptRecord {
  int64_t trial_id = 0;
  int attempt = 0;
  std::string worker_id;
  // The worker's run environment (a JSON object: gridrun version and commit,
  // LibTorch, BLAS, MPI, CUDA/NCCL, hosts, devices and ranks; see
  // worker/run_environment.h). Empty: the worker did not report one (unknown).
  std::string environment_json;
  int64_t started_ms = 0;  // when the lease was granted
};

// What ExpireLeases did to one trial.
struct ExpiredLease {
  int64_t trial_id = 0;
  std::string worker_id;
  int attempt = 0;
  TrialState new_state = TrialState::kWaiting;  // WAITING, FAILED or CANCELLED
};

// One trial row as a write transaction left it, with its latest metrics
// (what a WatchExperiment event shows).
struct TrialChange {
  TrialRecord trial;
  std::map<std::string, double> latest_metrics;
};

// Commit feed: who wants to hear of every committed change of a trial row
// (coordinator/watch_hub.h: WatchExperiment's notifier). The store calls it;
// it never calls back into the store from OnCommitted or OnSnapshot.
class TrialCommitListener {
 public:
  virtual ~TrialCommitListener() = default;
  // Whether anyone listens now. False: the store skips reading changed rows
  // (a write then costs the feed nothing). Called often; must be cheap.
  virtual bool active() const = 0;
  // The trial rows one write transaction changed, as committed, in commit
  // order: called after COMMIT succeeded and before the next transaction
  // starts (with the store's lock held), never for a rolled-back one. Must
  // be quick and must not call the store.
  virtual void OnCommitted(std::vector<TrialChange> changes) = 0;
  // Every trial of `experiment_id` as of one moment between two commits
  // (PublishSnapshot's answer); same calling rules as OnCommitted.
  virtual void OnSnapshot(const std::string& experiment_id, std::vector<TrialChange> trials) = 0;
  // Called after OnCommitted/OnSnapshot once the store's lock is released:
  // the place for work that may block or call the store.
  virtual void AfterCommit() = 0;
};

class TrialStore {
 public:
  virtual ~TrialStore() = default;

  // Stores an experiment and its trials in one transaction.
  //  * Same name and same spec_sha256 as a stored experiment: returns that one
  //    with already_existed = true and changes nothing.
  //  * Same name, different spec: ALREADY_EXISTS naming the stored id.
  //  * Unless `rerun`, a trial whose config_sha256 equals a COMPLETE trial's
  //    (any experiment) is stored as COMPLETE with reused_from set to that
  //    trial, and counted in reused_trials.
  virtual absl::StatusOr<SubmitResult> SubmitExperiment(const NewExperiment& experiment,
                                                        bool rerun, int64_t now_ms) = 0;

  // `id_or_name` may be an experiment id or its name. NOT_FOUND if neither.
  virtual absl::StatusOr<ExperimentRecord> GetExperiment(const std::string& id_or_name) = 0;
  // Newest first; `offset`/`limit` page through them.
  virtual absl::StatusOr<std::vector<ExperimentRecord>> ListExperiments(int64_t offset,
                                                                        int64_t limit) = 0;
  // In grid order; `states` empty means all.
  virtual absl::StatusOr<std::vector<TrialRecord>> ListTrials(
      const std::string& id_or_name, const std::vector<TrialState>& states) = 0;
  virtual absl::StatusOr<TrialRecord> GetTrial(int64_t trial_id) = 0;

  // Registers (or re-registers) a worker job.
  virtual absl::Status UpsertWorker(const WorkerRecord& worker) = 0;
  virtual absl::StatusOr<WorkerRecord> GetWorker(const std::string& worker_id) = 0;

  // Leases the next WAITING trial this worker can run: experiments in
  // submission order, trials in grid order, trial.ranks == ranks and
  // trial.device == device. The trial becomes RUNNING with attempt + 1,
  // worker_id and lease_expires_ms = now_ms + lease_ms. std::nullopt when
  // there is nothing to lease. Either way the worker's last_seen_ms = now_ms.
  virtual absl::StatusOr<std::optional<TrialRecord>> ClaimNextTrial(const std::string& worker_id,
                                                                   int ranks,
                                                                   const std::string& device,
                                                                   int64_t now_ms,
                                                                   int64_t lease_ms) = 0;

  // Heartbeat: extends the lease to now_ms + lease_ms and records progress.
  // Returns the updated trial (its cancel_requested tells the worker to stop).
  // ABORTED if `lease` is not current.
  virtual absl::StatusOr<TrialRecord> RenewLease(const LeaseRef& lease, int64_t now_ms,
                                                 int64_t lease_ms, int64_t epoch, int64_t step,
                                                 int64_t total_steps,
                                                 double steps_per_second) = 0;

  // WAITING trials -> CANCELLED; RUNNING trials get cancel_requested. Marks
  // the experiment cancelled. Returns {cancelled_waiting, stopping_running}.
  virtual absl::StatusOr<std::pair<int64_t, int64_t>> CancelExperiment(
      const std::string& id_or_name, int64_t now_ms) = 0;

  // RUNNING -> COMPLETE (or CANCELLED if cancel was requested), under lease.
  // Returns the new state.
  virtual absl::StatusOr<TrialState> CompleteTrial(const LeaseRef& lease,
                                     const std::map<std::string, double>& final_metrics,
                                     int64_t now_ms) = 0;

  // The attempt failed. retryable and failed attempts (attempt -
  // preemptions) < max_attempts: back to WAITING; otherwise FAILED with
  // `error`. A cancel-requested trial becomes CANCELLED. Returns the new
  // state. ABORTED if `lease` is not current.
  virtual absl::StatusOr<TrialState> FailTrial(const LeaseRef& lease, const std::string& error,
                                               bool retryable, int max_attempts,
                                               int64_t now_ms) = 0;

  // The worker was told to stop (SIGTERM: preemption, a time limit) and saved
  // a checkpoint: back to WAITING with `reason` as its error, preemptions + 1,
  // whatever the attempt count (a hand-back is not a failure). CANCELLED if
  // cancel was requested. ABORTED if `lease` is not current.
  virtual absl::StatusOr<TrialState> HandBackTrial(const LeaseRef& lease,
                                                   const std::string& reason,
                                                   int64_t now_ms) = 0;

  // Every RUNNING trial whose lease_expires_ms < now_ms goes back to WAITING
  // (or FAILED once attempt - preemptions >= max_attempts, with a "lease
  // expired" error; CANCELLED if cancel was requested).
  virtual absl::StatusOr<std::vector<ExpiredLease>> ExpireLeases(int64_t now_ms,
                                                                 int max_attempts) = 0;

  // Batched, idempotent, one transaction, under lease. Returns rows written.
  virtual absl::StatusOr<int64_t> WriteMetrics(const LeaseRef& lease,
                                               const std::vector<MetricPointRecord>& points) = 0;
  // Idempotent per (trial, name, step), under lease. A grid named
  // search::kBestSampleName (keep_best, proto convention 7d) is stored only
  // when its epoch and step are the trial's best epoch by the experiment's
  // keep_best metric over the stored values, and then replaces the trial's
  // previous one; otherwise it is dropped and OK is returned.
  virtual absl::Status WriteSample(const LeaseRef& lease, const SampleRecord& sample) = 0;

  // Records a checkpoint file (already written and fsynced by the caller)
  // under lease, keeps the newest `keep` rows of the trial and returns the
  // paths of the rows it dropped (the caller deletes those files).
  virtual absl::StatusOr<std::vector<std::string>> AddCheckpoint(const LeaseRef& lease,
                                                                 const CheckpointRecord& checkpoint,
                                                                 int keep) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints(int64_t trial_id) = 0;
  // Removes one checkpoint row (e.g. found corrupt on disk).
  virtual absl::Status DeleteCheckpoint(int64_t trial_id, const std::string& sha256) = 0;
  // Retention of trained models (issue 16), after `trial_id` became
  // COMPLETE: keeps only its final checkpoint (the newest; with keep_best
  // also the best one), then bounds its experiment: only the `keep` newest
  // finished COMPLETE trials keep theirs (the experiment's keep_trained
  // when its spec sets one, else `default_keep`; < 0: all). A trained model
  // that an unfinished (WAITING, RUNNING, PAUSED) trial's init_from names is
  // kept beyond the bound, until a later call finds no such trial. Returns
  // the paths of the rows it dropped (the caller deletes those files).
  // FAILED_PRECONDITION when the trial is not COMPLETE.
  virtual absl::StatusOr<std::vector<std::string>> RetainTrained(int64_t trial_id,
                                                                 int64_t default_keep) = 0;

  // Records a TorchScript file (already written and fsynced by the caller).
  // A row for the same sha256 is replaced (a re-upload after its file was
  // found corrupt).
  virtual absl::Status AddTorchScriptFile(const TorchScriptFileRecord& file) = 0;
  // NOT_FOUND when no file with that hash was uploaded.
  virtual absl::StatusOr<TorchScriptFileRecord> GetTorchScriptFile(const std::string& sha256) = 0;

  // Records where the lease's attempt runs: `environment_json` as the worker
  // reported it ("" when it did not: unknown), started at now_ms. Under
  // lease; recording the same attempt again replaces the row. ABORTED if
  // `lease` is not current, NOT_FOUND for an unknown trial.
  virtual absl::Status RecordAttempt(const LeaseRef& lease, const std::string& environment_json,
                                     int64_t now_ms) = 0;
  // The recorded attempts of a trial, oldest first; for a reused trial those
  // of its source (where its results were produced). NOT_FOUND for an
  // unknown trial.
  virtual absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(int64_t trial_id) = 0;

  // Early stopping (protocol convention 7 in proto/gridrun.proto; the
  // policies are search/'s). Each decision commits with the state change it
  // causes.
  //
  // The lease's trial trained through `epoch`, its lease's stop_after_epoch
  // and an ASHA rung: records the value of the scheduler's metric at that
  // epoch (NaN if it was not reported), decides (search::AshaScheduler
  // rebuilt from rung_results), and applies every decision: the trial goes
  // RUNNING -> WAITING (promoted; its next lease stops at the next rung or
  // runs to the end) or PAUSED, and paused trials made promotable go
  // WAITING. A stop-requested trial becomes STOPPED instead. Returns the
  // trial's new state. ABORTED if `lease` is not current; FAILED_PRECONDITION
  // if the experiment has no ASHA scheduler or `epoch` is not the trial's
  // stop_after_epoch.
  virtual absl::StatusOr<TrialState> ReachRung(const LeaseRef& lease, int64_t epoch,
                                               int64_t now_ms) = 0;

  // After the lease's metrics were written: checks the experiment's stop
  // rules and median rule on the trial's latest epoch. When one fires, the
  // trial gets stop_requested with the reason (its attempt then ends
  // STOPPED). Returns the reason when the trial is stop-requested (now or
  // before), nullopt otherwise. ABORTED if `lease` is not current.
  virtual absl::StatusOr<std::optional<std::string>> ApplyStopRules(const LeaseRef& lease,
                                                                    int64_t now_ms) = 0;

  // The experiment's decisions in the order made. NOT_FOUND.
  virtual absl::StatusOr<std::vector<SearchDecisionRecord>> ListSearchDecisions(
      const std::string& id_or_name) = 0;

  // Runs `fn`; the calls it makes on this store, from this thread, form one
  // transaction. Each keeps its own atomicity (a call that fails changes
  // nothing and fn may go on), and together they commit when fn returns OK:
  // durable when Atomically returns OK (contract 1 then holds for the
  // whole). fn returning an error rolls every call back and is returned;
  // INTERNAL / RESOURCE_EXHAUSTED if the commit fails. One RPC's several
  // store calls use it to cost one commit. Other threads' calls wait.
  virtual absl::Status Atomically(const std::function<absl::Status()>& fn) = 0;

  // Runs `fn` once the writes this thread has made so far are durable: at
  // once outside Atomically; inside it, after the outermost transaction
  // commits (on this thread, with the store's lock released, before
  // Atomically returns). Dropped, never run, when that transaction rolls
  // back, or when the call whose savepoint was open when `fn` came fails.
  // For effects outside the database that must not run ahead of the commit
  // (removing the files of dropped checkpoint rows: were the commit to fail,
  // the rows would stay and name missing files). `fn` may call the store; it
  // must not throw (the commit it follows cannot be undone).
  virtual void RunAfterCommit(std::function<void()> fn) = 0;

  // Commit feed (TrialCommitListener). Sets the one listener (nullptr: none);
  // it must outlive the store or be reset first. Not thread-safe against
  // writes: set it before serving calls. Listening never changes what a
  // call returns or when it commits (contract 1 holds as before); the
  // listener hears a commit after it is durable.
  virtual void SetCommitListener(TrialCommitListener* listener) = 0;
  // Calls the listener's OnSnapshot with every trial of the experiment, at a
  // point between two commits, so that OnSnapshot followed by the
  // OnCommitted calls after it miss no change and repeat none. NOT_FOUND
  // for an unknown experiment; FAILED_PRECONDITION without a listener.
  virtual absl::Status PublishSnapshot(const std::string& id_or_name) = 0;

  // Reads for the CLI and WatchExperiment.
  virtual absl::StatusOr<std::vector<MetricPointRecord>> ListMetrics(int64_t trial_id) = 0;
  // Last value (highest step) of each metric of a trial.
  virtual absl::StatusOr<std::map<std::string, double>> LatestMetrics(int64_t trial_id) = 0;
  virtual absl::StatusOr<std::vector<SampleRecord>> ListSamples(int64_t trial_id) = 0;
};

}  // namespace gridrun::coordinator
