// SqliteTrialStore, the commit feed (TrialCommitListener in trial_store.h):
// SQLite's update hook notes every trials row a write transaction touches;
// InTransaction reads those rows back just before COMMIT and hands them to
// the listener just after, still under mu_ (so in commit order).
#include <algorithm>

#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

using sqlite_store::ReadDouble;

constexpr char kSqlTrialIdsOfExperiment[] =
    "SELECT trial_id FROM trials WHERE experiment_id = ?1 ORDER BY number";
constexpr char kSqlLatestMetricsForFeed[] =
    "SELECT name, value FROM metrics_last WHERE trial_id = ?1";

}  // namespace

void SqliteTrialStore::OnUpdateHook(void* self, int op, const char* /*database*/,
                                    const char* table, long long rowid) {
  auto* store = static_cast<SqliteTrialStore*>(self);
  // Runs inside sqlite3_step, under mu_.
  if (op == SQLITE_DELETE || std::string_view(table) != "trials") return;
  if (store->listener_ == nullptr || !store->listener_->active()) return;
  store->touched_trials_.push_back(rowid);
}

void SqliteTrialStore::SetCommitListener(TrialCommitListener* listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = listener;
  if (listener != nullptr) {
    sqlite3_update_hook(db_->getHandle(), &SqliteTrialStore::OnUpdateHook, this);
  } else {
    sqlite3_update_hook(db_->getHandle(), nullptr, nullptr);
  }
}

void SqliteTrialStore::ReadTouchedTrials() {
  std::vector<int64_t> ids;
  ids.swap(touched_trials_);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (int64_t id : ids) {
    absl::StatusOr<TrialRecord> trial = ReadTrial(id);
    if (!trial.ok()) continue;  // gone in the same transaction
    TrialChange change;
    change.trial = *std::move(trial);
    const int64_t source = change.trial.reused_from != 0 ? change.trial.reused_from : id;
    CachedStatement q = Prepared(kSqlLatestMetricsForFeed);
    SQLite::bind(*q, source);
    while (q->executeStep()) {
      change.latest_metrics[q->getColumn(0).getString()] = ReadDouble(q->getColumn(1));
    }
    committed_changes_.push_back(std::move(change));
  }
  // Grid order within one transaction (e.g. a cancel of many trials).
  std::sort(committed_changes_.begin(), committed_changes_.end(),
            [](const TrialChange& a, const TrialChange& b) {
              return a.trial.number < b.trial.number;
            });
}

void SqliteTrialStore::DeliverCommitted() {
  std::vector<TrialChange> changes;
  changes.swap(committed_changes_);
  listener_->OnCommitted(std::move(changes));
}

absl::Status SqliteTrialStore::PublishSnapshot(const std::string& id_or_name) {
  bool published = false;
  absl::Status status = InReadTransaction("publishing a snapshot", [&]() -> absl::Status {
    if (listener_ == nullptr) {
      return absl::FailedPreconditionError("publishing a snapshot: no commit listener is set");
    }
    ASSIGN_OR_RETURN(const std::string id, ResolveExperimentId(id_or_name));
    std::vector<int64_t> ids;
    {
      CachedStatement q = Prepared(kSqlTrialIdsOfExperiment);
      SQLite::bind(*q, id);
      while (q->executeStep()) ids.push_back(q->getColumn(0).getInt64());
    }
    touched_trials_ = std::move(ids);
    ReadTouchedTrials();  // the same reader the feed uses: one row format
    std::vector<TrialChange> trials;
    trials.swap(committed_changes_);
    listener_->OnSnapshot(id, std::move(trials));
    published = true;
    return absl::OkStatus();
  });
  if (published) listener_->AfterCommit();
  return status;
}

}  // namespace gridrun::coordinator
