// SqliteTrialStore, leases: claiming the next WAITING trial, heartbeats, and
// ending an attempt (complete, fail, hand back, expire). Every state change
// goes through Transition() and a compare-and-set on (trial, worker, attempt).
#include <set>

#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

constexpr char kSqlTouchWorker[] = "UPDATE workers SET last_seen_ms = ?2 WHERE worker_id = ?1";
// FIFO over experiments, grid order within one: one probe of index trials_lease.
constexpr char kSqlNextWaitingTrial[] =
    "SELECT trial_id FROM trials WHERE state = 'WAITING' AND ranks = ?1 AND device = ?2 "
    "ORDER BY experiment_seq, number LIMIT 1";
constexpr char kSqlLeaseTrial[] =
    "UPDATE trials SET state = ?2, attempt = attempt + 1, worker_id = ?3, "
    "lease_expires_ms = ?4, started_ms = CASE WHEN started_ms = 0 THEN ?5 ELSE started_ms END "
    "WHERE trial_id = ?1 AND state = 'WAITING'";
// A heartbeat keeps the state (RenewLease checks Transition() says so), and
// an UPDATE that sets no indexed column leaves the indexes on state
// (trials_lease, trials_experiment_state) alone instead of deleting and
// reinserting their entries.
constexpr char kSqlRenewLease[] =
    "UPDATE trials SET lease_expires_ms = ?4, epoch = ?5, step = ?6, "
    "total_steps = ?7, steps_per_second = ?8 "
    "WHERE trial_id = ?1 AND state = 'RUNNING' AND worker_id = ?2 AND attempt = ?3";
constexpr char kSqlEndAttempt[] =
    "UPDATE trials SET state = ?4, lease_expires_ms = 0, error = ?5, finished_ms = ?6 "
    "WHERE trial_id = ?1 AND state = 'RUNNING' AND worker_id = ?2 AND attempt = ?3";
constexpr char kSqlCountPreemption[] =
    "UPDATE trials SET preemptions = preemptions + 1 WHERE trial_id = ?1";
constexpr char kSqlExpiredLeases[] =
    "SELECT trial_id, worker_id, attempt, cancel_requested, experiment_id, "
    "preemptions + rung_leases, stop_requested, stop_reason "
    "FROM trials WHERE state = 'RUNNING' AND lease_expires_ms < ?1 ORDER BY trial_id";
constexpr char kSqlUpsertFinalMetric[] =
    "INSERT INTO final_metrics (trial_id, name, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value";

absl::Status ChangedConcurrently(const LeaseRef& lease) {
  return absl::AbortedError(absl::StrCat("lease lost: trial ", lease.trial_id, " attempt ",
                                         lease.attempt, " is not held by worker ",
                                         lease.worker_id, " (changed concurrently)"));
}

}  // namespace

absl::StatusOr<TrialState> SqliteTrialStore::EndAttempt(const LeaseRef& lease, TrialState from,
                                                        TrialEvent event, const std::string& error,
                                                        int64_t now_ms) {
  ASSIGN_OR_RETURN(const TrialState next, Transition(from, event));
  CachedStatement u = Prepared(kSqlEndAttempt);
  SQLite::bind(*u, lease.trial_id, lease.worker_id, lease.attempt, TrialStateName(next), error,
               IsTerminal(next) ? now_ms : int64_t{0});
  if (u->exec() != 1) return ChangedConcurrently(lease);
  return next;
}

absl::StatusOr<std::optional<TrialRecord>> SqliteTrialStore::ClaimNextTrial(
    const std::string& worker_id, int ranks, const std::string& device, int64_t now_ms,
    int64_t lease_ms) {
  if (worker_id.empty()) return absl::InvalidArgumentError("worker_id must not be empty");
  if (lease_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease_ms must be positive (got ", lease_ms, ")"));
  }
  return InWriteTransaction(
      absl::StrCat("leasing a trial to worker ", worker_id),
      [&]() -> absl::StatusOr<std::optional<TrialRecord>> {
        {
          CachedStatement u = Prepared(kSqlTouchWorker);
          SQLite::bind(*u, worker_id, now_ms);
          u->exec();
        }
        int64_t trial_id = 0;
        {
          CachedStatement q = Prepared(kSqlNextWaitingTrial);
          SQLite::bind(*q, ranks, device);
          if (!q->executeStep()) return std::optional<TrialRecord>();
          trial_id = q->getColumn(0).getInt64();
        }
        ASSIGN_OR_RETURN(const TrialState next,
                         Transition(TrialState::kWaiting, TrialEvent::kLease));
        {
          // Compare-and-set on WAITING: a second connection that leased the
          // trial first makes this change no row.
          CachedStatement u = Prepared(kSqlLeaseTrial);
          SQLite::bind(*u, trial_id, TrialStateName(next), worker_id, now_ms + lease_ms, now_ms);
          if (u->exec() != 1) {
            return absl::AbortedError(
                absl::StrCat("trial ", trial_id, " was leased by another coordinator"));
          }
        }
        ASSIGN_OR_RETURN(TrialRecord trial, ReadTrial(trial_id));
        ASSIGN_OR_RETURN(const auto settings, ReadSearchSettings(trial.experiment_id));
        if (settings && settings->keep_best) {
          trial.keep_best_metric = settings->keep_best->metric;
          trial.keep_best_maximize = settings->keep_best->mode == search::Mode::kMax;
        }
        return std::optional<TrialRecord>(std::move(trial));
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
        ASSIGN_OR_RETURN(const LeaseState held, CheckLease(lease));
        ASSIGN_OR_RETURN(const TrialState next, Transition(held.state, TrialEvent::kHeartbeat));
        if (next != held.state) {
          return absl::InternalError(absl::StrCat("a heartbeat would move trial ", lease.trial_id,
                                                  " from ", TrialStateName(held.state), " to ",
                                                  TrialStateName(next)));
        }
        {
          CachedStatement u = Prepared(kSqlRenewLease);
          SQLite::bind(*u, lease.trial_id, lease.worker_id, lease.attempt, now_ms + lease_ms, epoch,
                       step, total_steps, steps_per_second);
          if (u->exec() != 1) return ChangedConcurrently(lease);
        }
        {
          CachedStatement u = Prepared(kSqlTouchWorker);
          SQLite::bind(*u, lease.worker_id, now_ms);
          u->exec();
        }
        return ReadTrial(lease.trial_id);
      });
}

absl::StatusOr<TrialState> SqliteTrialStore::CompleteTrial(
    const LeaseRef& lease, const std::map<std::string, double>& final_metrics, int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("completing trial ", lease.trial_id), [&]() -> absl::StatusOr<TrialState> {
        ASSIGN_OR_RETURN(const LeaseState held, CheckLease(lease));
        TrialEvent event =
            held.cancel_requested ? TrialEvent::kFinishCancelled : TrialEvent::kComplete;
        if (!held.cancel_requested && held.stop_requested) event = TrialEvent::kFinishStopped;
        ASSIGN_OR_RETURN(const TrialState next,
                         EndAttempt(lease, held.state, event,
                                    event == TrialEvent::kFinishStopped ? held.stop_reason : "",
                                    now_ms));
        for (const auto& [name, value] : final_metrics) {
          CachedStatement u = Prepared(kSqlUpsertFinalMetric);
          SQLite::bind(*u, lease.trial_id, name, value);  // NaN is stored as NULL
          u->exec();
        }
        RefreshExperimentStatus(held.experiment_id, now_ms);
        return next;
      });
}

absl::StatusOr<TrialState> SqliteTrialStore::FailTrial(const LeaseRef& lease,
                                                       const std::string& error, bool retryable,
                                                       int max_attempts, int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("failing trial ", lease.trial_id), [&]() -> absl::StatusOr<TrialState> {
        ASSIGN_OR_RETURN(const LeaseState held, CheckLease(lease));
        TrialEvent event = TrialEvent::kFailFinal;
        std::string recorded = error;
        ASSIGN_OR_RETURN(const bool non_finite_stops, StopsOnNonFinite(held.experiment_id, error));
        if (held.cancel_requested) {
          event = TrialEvent::kFinishCancelled;
        } else if (held.stop_requested) {
          event = TrialEvent::kFinishStopped;
          recorded = held.stop_reason;
        } else if (non_finite_stops) {
          // The trainers refuse a non-finite loss (models/trainer.h); with a
          // non_finite stop rule that ends the trial as stopped, not failed.
          event = TrialEvent::kFinishStopped;
          LogSearchDecision(lease.trial_id, "STOP", -1, 0, error, now_ms);
        } else if (retryable && lease.attempt - held.preemptions < max_attempts) {
          event = TrialEvent::kFailRetryable;
        }
        ASSIGN_OR_RETURN(const TrialState next,
                         EndAttempt(lease, held.state, event, recorded, now_ms));
        RefreshExperimentStatus(held.experiment_id, now_ms);
        return next;
      });
}

absl::StatusOr<TrialState> SqliteTrialStore::HandBackTrial(const LeaseRef& lease,
                                                           const std::string& reason,
                                                           int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("handing back trial ", lease.trial_id), [&]() -> absl::StatusOr<TrialState> {
        ASSIGN_OR_RETURN(const LeaseState held, CheckLease(lease));
        TrialEvent event =
            held.cancel_requested ? TrialEvent::kFinishCancelled : TrialEvent::kFailRetryable;
        if (!held.cancel_requested && held.stop_requested) event = TrialEvent::kFinishStopped;
        ASSIGN_OR_RETURN(const TrialState next,
                         EndAttempt(lease, held.state, event,
                                    event == TrialEvent::kFinishStopped ? held.stop_reason : reason,
                                    now_ms));
        CachedStatement u = Prepared(kSqlCountPreemption);
        SQLite::bind(*u, lease.trial_id);
        u->exec();
        RefreshExperimentStatus(held.experiment_id, now_ms);
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
      bool stop_requested;
      std::string stop_reason;
    };
    std::vector<Expired> expired;
    {
      CachedStatement q = Prepared(kSqlExpiredLeases);
      SQLite::bind(*q, now_ms);
      while (q->executeStep()) {
        expired.push_back({LeaseRef{q->getColumn(0).getInt64(), q->getColumn(1).getString(),
                                    q->getColumn(2).getInt()},
                           q->getColumn(3).getInt() != 0, q->getColumn(4).getString(),
                           q->getColumn(5).getInt(), q->getColumn(6).getInt() != 0,
                           q->getColumn(7).getString()});
      }
    }
    std::vector<ExpiredLease> result;
    std::set<std::string> experiments;
    for (const Expired& e : expired) {
      TrialEvent event = TrialEvent::kLeaseExpired;
      if (e.cancel_requested) {
        event = TrialEvent::kFinishCancelled;
      } else if (e.stop_requested) {
        event = TrialEvent::kFinishStopped;
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
      ASSIGN_OR_RETURN(const TrialState next,
                       EndAttempt(e.lease, TrialState::kRunning, event,
                                  event == TrialEvent::kFinishStopped ? e.stop_reason : error,
                                  now_ms));
      result.push_back({e.lease.trial_id, e.lease.worker_id, e.lease.attempt, next});
      experiments.insert(e.experiment_id);
    }
    for (const std::string& id : experiments) RefreshExperimentStatus(id, now_ms);
    return result;
  });
}

}  // namespace gridrun::coordinator
