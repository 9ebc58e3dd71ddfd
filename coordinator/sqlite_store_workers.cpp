// SqliteTrialStore, workers: registering (upserting) a worker job and reading
// it back, so leases survive a coordinator restart.
#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

constexpr char kSqlUpsertWorker[] =
    "INSERT INTO workers (worker_id, host, ranks, device, gpus, pid, last_seen_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (worker_id) DO UPDATE SET "
    "host = excluded.host, ranks = excluded.ranks, device = excluded.device, "
    "gpus = excluded.gpus, pid = excluded.pid, last_seen_ms = excluded.last_seen_ms";
constexpr char kSqlWorkerById[] = "SELECT * FROM workers WHERE worker_id = ?1";

}  // namespace

absl::Status SqliteTrialStore::UpsertWorker(const WorkerRecord& worker) {
  if (worker.worker_id.empty()) return absl::InvalidArgumentError("worker_id must not be empty");
  return InWriteTransaction(absl::StrCat("registering worker ", worker.worker_id), [&]() {
    CachedStatement u = Prepared(kSqlUpsertWorker);
    SQLite::bind(*u, worker.worker_id, worker.host, worker.ranks, worker.device, worker.gpus,
                 worker.pid, worker.last_seen_ms);
    u->exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<WorkerRecord> SqliteTrialStore::GetWorker(const std::string& worker_id) {
  return InReadTransaction("reading a worker", [&]() -> absl::StatusOr<WorkerRecord> {
    CachedStatement q = Prepared(kSqlWorkerById);
    SQLite::bind(*q, worker_id);
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

}  // namespace gridrun::coordinator
