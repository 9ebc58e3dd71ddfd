// SqliteTrialStore, attempts: where each attempt of a trial ran (the
// trial_attempts table, schema version 5) -- written when the lease is
// granted, read by `gridrun status EXP TRIAL` and the report.
#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

constexpr char kSqlUpsertAttempt[] =
    "INSERT INTO trial_attempts (trial_id, attempt, worker_id, environment_json, started_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (trial_id, attempt) DO UPDATE SET "
    "worker_id = excluded.worker_id, environment_json = excluded.environment_json, "
    "started_ms = excluded.started_ms";
constexpr char kSqlAttemptsOfTrial[] =
    "SELECT trial_id, attempt, worker_id, environment_json, started_ms FROM trial_attempts "
    "WHERE trial_id = ?1 ORDER BY attempt";

}  // namespace

absl::Status SqliteTrialStore::RecordAttempt(const LeaseRef& lease,
                                             const std::string& environment_json,
                                             int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("recording attempt ", lease.attempt, " of trial ", lease.trial_id), [&]() {
        RETURN_IF_ERROR(CheckLease(lease).status());
        CachedStatement u = Prepared(kSqlUpsertAttempt);
        SQLite::bind(*u, lease.trial_id, lease.attempt, lease.worker_id);
        if (environment_json.empty()) {
          u->bind(4);  // NULL: unknown
        } else {
          u->bind(4, environment_json);
        }
        u->bind(5, now_ms);
        u->exec();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<AttemptRecord>> SqliteTrialStore::ListAttempts(int64_t trial_id) {
  return InReadTransaction("listing attempts", [&]() -> absl::StatusOr<std::vector<AttemptRecord>> {
    ASSIGN_OR_RETURN(const int64_t source, ReuseSourceOrSelf(trial_id));
    std::vector<AttemptRecord> attempts;
    CachedStatement q = Prepared(kSqlAttemptsOfTrial);
    SQLite::bind(*q, source);
    while (q->executeStep()) {
      AttemptRecord a;
      a.trial_id = q->getColumn(0).getInt64();
      a.attempt = q->getColumn(1).getInt();
      a.worker_id = q->getColumn(2).getString();
      a.environment_json = q->getColumn(3).getString();  // NULL reads as ""
      a.started_ms = q->getColumn(4).getInt64();
      attempts.push_back(std::move(a));
    }
    return attempts;
  });
}

}  // namespace gridrun::coordinator
