// SqliteTrialStore, checkpoints: recording a checkpoint file under lease,
// keeping the newest `keep` rows of a trial (and naming the files no row uses
// any more), listing and deleting rows. Reads act on a reused trial's source.
#include <set>

#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

constexpr char kSqlCheckpointPathAtStep[] =
    "SELECT path FROM checkpoints WHERE trial_id = ?1 AND step = ?2";
constexpr char kSqlUpsertCheckpoint[] =
    "INSERT INTO checkpoints (trial_id, step, epoch, sha256, size_bytes, path, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (trial_id, step) DO UPDATE SET "
    "epoch = excluded.epoch, sha256 = excluded.sha256, size_bytes = excluded.size_bytes, "
    "path = excluded.path, created_ms = excluded.created_ms";
// The best checkpoint (keep_best) is kept besides the newest ones.
constexpr char kSqlCheckpointsBeyondNewest[] =
    "SELECT step, path FROM checkpoints WHERE trial_id = ?1 AND best = 0 "
    "ORDER BY step DESC LIMIT -1 OFFSET ?2";
constexpr char kSqlMarkBestCheckpoint[] =
    "UPDATE checkpoints SET best = (step = ?2) WHERE trial_id = ?1";
constexpr char kSqlDeleteCheckpointAtStep[] =
    "DELETE FROM checkpoints WHERE trial_id = ?1 AND step = ?2";
constexpr char kSqlCheckpointPaths[] = "SELECT path FROM checkpoints WHERE trial_id = ?1";
constexpr char kSqlCheckpointsOfTrial[] =
    "SELECT * FROM checkpoints WHERE trial_id = ?1 ORDER BY step DESC";
constexpr char kSqlDeleteCheckpointBySha[] =
    "DELETE FROM checkpoints WHERE trial_id = ?1 AND sha256 = ?2";
// Retention: every checkpoint of a finished trial but its newest and best.
constexpr char kSqlCheckpointsBeyondFinal[] =
    "SELECT step, path FROM checkpoints WHERE trial_id = ?1 AND best = 0 AND "
    "step < (SELECT MAX(step) FROM checkpoints WHERE trial_id = ?1)";
// Retention: the COMPLETE trials of an experiment that keep checkpoints,
// beyond the newest-finished `keep` (?3), except those an unfinished trial's
// warm start (init_from) still needs.
constexpr char kSqlTrainedBeyondNewest[] =
    "SELECT t.trial_id FROM trials AS t WHERE t.experiment_id = ?1 AND t.state = ?2 AND "
    "EXISTS (SELECT 1 FROM checkpoints AS c WHERE c.trial_id = t.trial_id) AND "
    "NOT EXISTS (SELECT 1 FROM trials AS w WHERE w.init_from_trial = t.trial_id "
    "            AND w.state IN (?4, ?5, ?6)) "
    "ORDER BY t.finished_ms DESC, t.trial_id DESC LIMIT -1 OFFSET ?3";
constexpr char kSqlCheckpointRowsOfTrial[] = "SELECT step, path FROM checkpoints WHERE trial_id = ?1";
constexpr char kSqlDeleteCheckpointsOfTrial[] = "DELETE FROM checkpoints WHERE trial_id = ?1";
constexpr char kSqlPathStillUsed[] = "SELECT 1 FROM checkpoints WHERE path = ?1 LIMIT 1";

}  // namespace

absl::Status SqliteTrialStore::MarkBestCheckpoint(int64_t trial_id, int64_t step) {
  ASSIGN_OR_RETURN(const std::optional<EpochAndStep> best, KeepBestEpoch(trial_id));
  // Only the checkpoint saved right after the best epoch's evaluation is it.
  if (!best || best->step != step) return absl::OkStatus();
  CachedStatement u = Prepared(kSqlMarkBestCheckpoint);
  SQLite::bind(*u, trial_id, step);
  u->exec();
  return absl::OkStatus();
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
  return InWriteTransaction(
      absl::StrCat("recording a checkpoint of trial ", lease.trial_id),
      [&]() -> absl::StatusOr<std::vector<std::string>> {
        RETURN_IF_ERROR(CheckLease(lease).status());
        std::vector<std::string> candidates;
        {
          CachedStatement q = Prepared(kSqlCheckpointPathAtStep);
          SQLite::bind(*q, lease.trial_id, checkpoint.step);
          if (q->executeStep()) candidates.push_back(q->getColumn(0).getString());
        }
        {
          CachedStatement u = Prepared(kSqlUpsertCheckpoint);
          SQLite::bind(*u, lease.trial_id, checkpoint.step, checkpoint.epoch, checkpoint.sha256,
                       checkpoint.size_bytes, checkpoint.path, checkpoint.created_ms);
          u->exec();
        }
        RETURN_IF_ERROR(MarkBestCheckpoint(lease.trial_id, checkpoint.step));
        std::vector<int64_t> old_steps;
        {
          CachedStatement q = Prepared(kSqlCheckpointsBeyondNewest);
          SQLite::bind(*q, lease.trial_id, keep);
          while (q->executeStep()) {
            old_steps.push_back(q->getColumn(0).getInt64());
            candidates.push_back(q->getColumn(1).getString());
          }
        }
        for (int64_t step : old_steps) {
          CachedStatement u = Prepared(kSqlDeleteCheckpointAtStep);
          SQLite::bind(*u, lease.trial_id, step);
          u->exec();
        }
        std::set<std::string> still_used;
        {
          CachedStatement q = Prepared(kSqlCheckpointPaths);
          SQLite::bind(*q, lease.trial_id);
          while (q->executeStep()) still_used.insert(q->getColumn(0).getString());
        }
        std::vector<std::string> dropped;
        for (std::string& path : candidates) {
          if (still_used.insert(path).second) dropped.push_back(std::move(path));
        }
        return dropped;
      });
}

absl::StatusOr<std::vector<CheckpointRecord>> SqliteTrialStore::ListCheckpoints(int64_t trial_id) {
  return InReadTransaction(
      "listing checkpoints", [&]() -> absl::StatusOr<std::vector<CheckpointRecord>> {
        ASSIGN_OR_RETURN(const int64_t source, ReuseSourceOrSelf(trial_id));
        std::vector<CheckpointRecord> checkpoints;
        CachedStatement q = Prepared(kSqlCheckpointsOfTrial);
        SQLite::bind(*q, source);
        while (q->executeStep()) {
          CheckpointRecord c;
          c.trial_id = q->getColumn("trial_id").getInt64();
          c.step = q->getColumn("step").getInt64();
          c.epoch = q->getColumn("epoch").getInt64();
          c.sha256 = q->getColumn("sha256").getString();
          c.size_bytes = q->getColumn("size_bytes").getInt64();
          c.path = q->getColumn("path").getString();
          c.created_ms = q->getColumn("created_ms").getInt64();
          c.best = q->getColumn("best").getInt() != 0;
          checkpoints.push_back(std::move(c));
        }
        return checkpoints;
      });
}

absl::Status SqliteTrialStore::DeleteCheckpoint(int64_t trial_id, const std::string& sha256) {
  return InWriteTransaction(absl::StrCat("deleting a checkpoint of trial ", trial_id), [&]() {
    ASSIGN_OR_RETURN(const int64_t source, ReuseSourceOrSelf(trial_id));
    CachedStatement u = Prepared(kSqlDeleteCheckpointBySha);
    SQLite::bind(*u, source, sha256);
    if (u->exec() == 0) {
      return absl::NotFoundError(
          absl::StrCat("trial ", trial_id, " has no checkpoint with sha256 ", sha256));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> SqliteTrialStore::RetainTrained(int64_t trial_id,
                                                                          int64_t default_keep) {
  return InWriteTransaction(
      absl::StrCat("keeping the trained model of trial ", trial_id),
      [&]() -> absl::StatusOr<std::vector<std::string>> {
        ASSIGN_OR_RETURN(const TrialRecord trial, ReadTrial(trial_id));
        if (trial.state != TrialState::kComplete) {
          return absl::FailedPreconditionError(absl::StrCat(
              "trial ", trial_id, " is ", TrialStateName(trial.state), ", not COMPLETE"));
        }
        std::vector<std::string> candidates;
        std::vector<int64_t> old_steps;
        {
          CachedStatement q = Prepared(kSqlCheckpointsBeyondFinal);
          SQLite::bind(*q, trial_id);
          while (q->executeStep()) {
            old_steps.push_back(q->getColumn(0).getInt64());
            candidates.push_back(q->getColumn(1).getString());
          }
        }
        for (int64_t step : old_steps) {
          CachedStatement u = Prepared(kSqlDeleteCheckpointAtStep);
          SQLite::bind(*u, trial_id, step);
          u->exec();
        }
        ASSIGN_OR_RETURN(const auto settings, ReadSearchSettings(trial.experiment_id));
        const int64_t keep =
            settings && settings->keep_trained ? *settings->keep_trained : default_keep;
        if (keep >= 0) {
          std::vector<int64_t> beyond;
          {
            CachedStatement q = Prepared(kSqlTrainedBeyondNewest);
            // ?4-?6: the states of a trial that may still start from the model.
            SQLite::bind(*q, trial.experiment_id, std::string(TrialStateName(TrialState::kComplete)),
                         keep, std::string(TrialStateName(TrialState::kWaiting)),
                         std::string(TrialStateName(TrialState::kRunning)),
                         std::string(TrialStateName(TrialState::kPaused)));
            while (q->executeStep()) beyond.push_back(q->getColumn(0).getInt64());
          }
          for (int64_t id : beyond) {
            CachedStatement q = Prepared(kSqlCheckpointRowsOfTrial);
            SQLite::bind(*q, id);
            while (q->executeStep()) candidates.push_back(q->getColumn(1).getString());
            CachedStatement u = Prepared(kSqlDeleteCheckpointsOfTrial);
            SQLite::bind(*u, id);
            u->exec();
          }
        }
        // A file goes when no row names it any more (one probe of the path
        // index per dropped row, not a scan of every checkpoint).
        std::set<std::string> seen;
        std::vector<std::string> dropped;
        for (std::string& path : candidates) {
          if (!seen.insert(path).second) continue;
          CachedStatement q = Prepared(kSqlPathStillUsed);
          SQLite::bind(*q, path);
          if (!q->executeStep()) dropped.push_back(std::move(path));
        }
        return dropped;
      });
}

}  // namespace gridrun::coordinator
