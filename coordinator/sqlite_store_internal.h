// Internal to SqliteTrialStore: the pieces every sqlite_store_*.cpp file
// shares -- the per-connection statement cache, the transaction wrapper, and
// the row readers. Nothing outside coordinator/sqlite_*.cpp includes this.
//
// The store's methods are split by concern, each file with its own SQL:
//   sqlite_trial_store.cpp        opening, the connection, shared row readers,
//                                 lease checks, ad-hoc queries
//   sqlite_store_experiments.cpp  submit, read, list and cancel experiments
//   sqlite_store_leases.cpp       claim, renew and end attempts; expiry
//   sqlite_store_attempts.cpp     where each attempt ran (trial_attempts)
//   sqlite_store_metrics.cpp      metrics and samples
//   sqlite_store_checkpoints.cpp  checkpoint rows and retention
//   sqlite_store_workers.cpp      worker registrations
//   sqlite_store_search.cpp       early stopping: rungs, stop rules, decisions
//
// Thread-safety: everything here runs under SqliteTrialStore::mu_ (inside
// InTransaction); the helpers themselves hold no state.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <atomic>
#include <mutex>
#include <thread>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/sqlite_trial_store.h"

namespace gridrun::coordinator {
namespace sqlite_store {

inline constexpr char kSqlBegin[] = "BEGIN";
inline constexpr char kSqlBeginImmediate[] = "BEGIN IMMEDIATE";
inline constexpr char kSqlCommit[] = "COMMIT";
inline constexpr char kSqlRollback[] = "ROLLBACK";
// A call made inside Atomically() (sqlite_trial_store.h) nests as a savepoint.
inline constexpr char kSqlSavepoint[] = "SAVEPOINT nested_call";
inline constexpr char kSqlRollbackToSavepoint[] = "ROLLBACK TO nested_call";
inline constexpr char kSqlReleaseSavepoint[] = "RELEASE nested_call";

// The experiment's PAUSED trials when none is WAITING or RUNNING (every
// completion asks). `+number` keeps the planner off the (experiment_id,
// number) index, which avoids the sort by reading every trial of the
// experiment (a full experiment scan per completion: 18% of the SQL time
// of the coordinator benchmark at 2,025 trials, and growing with the grid);
// trials_experiment_state finds the few PAUSED rows, sorted after.
// Here so that the plan test checks this very text.
inline constexpr char kSqlPausedWhenIdle[] =
    "SELECT trial_id, rung_epoch FROM trials WHERE experiment_id = ?1 AND state = 'PAUSED' "
    "AND NOT EXISTS (SELECT 1 FROM trials WHERE experiment_id = ?1 "
    "                AND state IN ('WAITING', 'RUNNING')) ORDER BY +number";

// SQLite stores a NaN bound with sqlite3_bind_double as NULL; this reads
// NULL back as NaN. So doubles are bound as they are (SQLite::bind).
double ReadDouble(const SQLite::Column& column);

// The TrialState spelled in `column`; INTERNAL naming `trial_id` for text
// that is no state.
absl::StatusOr<TrialState> ReadState(const SQLite::Column& column, int64_t trial_id);

// A row of `SELECT * FROM trials`, without params.
absl::StatusOr<TrialRecord> TrialFromRow(const SQLite::Statement& row);

// NOT_FOUND "trial N not found".
absl::Status TrialNotFound(int64_t trial_id);

}  // namespace sqlite_store

// Compiled statements of one connection, keyed by their SQL text (kSql*
// constants, which live for the whole program). A statement is compiled on
// first use and reused from then on; CachedStatement resets it and clears its
// bindings when released, so no statement keeps a read transaction open
// between calls.
class SqliteTrialStore::StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}

  struct Entry {
    std::unique_ptr<SQLite::Statement> statement;
    bool in_use = false;
  };

  // Throws SQLite::Exception if `sql` does not compile, std::logic_error if
  // the statement is already borrowed (a helper re-entered a statement its
  // caller is still stepping).
  Entry& Acquire(const char* sql) {
    auto it = entries_.find(sql);
    if (it == entries_.end()) {
      it = entries_.emplace(sql, Entry{std::make_unique<SQLite::Statement>(db_, sql)}).first;
    }
    Entry& entry = it->second;
    if (entry.in_use) {
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

// What CheckLease read about a held lease.
struct SqliteTrialStore::LeaseState {
  TrialState state = TrialState::kRunning;
  bool cancel_requested = false;
  std::string experiment_id;
  int preemptions = 0;  // with the leases that ended at a rung: not failures
  bool stop_requested = false;
  std::string stop_reason;
};

namespace sqlite_store {

// What a failed transaction returns: RESOURCE_EXHAUSTED for a full disk
// (not a bug: clients, workers included, retry it and the same call can
// succeed once space returns), INTERNAL for anything else.
inline absl::Status StatusOfException(const std::string& operation, const std::string& path,
                                      const std::exception& e) {
  if (const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e);
      sqlite != nullptr && (sqlite->getErrorCode() & 0xff) == SQLITE_FULL) {
    return absl::ResourceExhaustedError(absl::StrCat(operation, ": ", e.what(), " (", path, ")"));
  }
  return absl::InternalError(absl::StrCat(operation, ": ", e.what()));
}

}  // namespace sqlite_store

template <typename Body>
auto SqliteTrialStore::InTransaction(bool write, const std::string& operation, Body&& body)
    -> decltype(body()) {
  if (txn_owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
    return InNestedTransaction(write, operation, std::forward<Body>(body));
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (write && read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat(operation, ": the database ", path_, " was opened read-only"));
  }
  touched_trials_.clear();
  committed_changes_.clear();
  after_commit_.clear();
  // Marks this thread as the transaction's owner while body() runs (calls
  // it makes on this store nest instead of deadlocking on mu_).
  struct Owner {
    std::atomic<std::thread::id>& owner;
    explicit Owner(std::atomic<std::thread::id>& o) : owner(o) {
      owner.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
    ~Owner() { owner.store(std::thread::id(), std::memory_order_relaxed); }
  };
  try {
    Prepared(write ? sqlite_store::kSqlBeginImmediate : sqlite_store::kSqlBegin)->exec();
    auto result = [&] {
      Owner owner(txn_owner_);
      return body();
    }();
    // The commit feed reads the rows this transaction changed as they will
    // be committed (inside it, so no later write can be mixed in).
    if (result.ok() && write && !touched_trials_.empty()) ReadTouchedTrials();
    Prepared(result.ok() ? sqlite_store::kSqlCommit : sqlite_store::kSqlRollback)->exec();
    if (!result.ok()) {
      after_commit_.clear();
      return result;
    }
    std::vector<std::function<void()>> after_commit = std::move(after_commit_);
    after_commit_.clear();
    TrialCommitListener* listener = nullptr;
    if (!committed_changes_.empty()) {
      // Durable now; still under mu_, so listeners hear commits in order.
      listener = listener_;
      DeliverCommitted();
    }
    lock.unlock();
    if (listener != nullptr) listener->AfterCommit();
    for (std::function<void()>& fn : after_commit) fn();
    return result;
  } catch (const std::exception& e) {
    touched_trials_.clear();
    committed_changes_.clear();
    after_commit_.clear();
    if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
      try {
        Prepared(sqlite_store::kSqlRollback)->exec();
      } catch (const std::exception&) {
        // The connection is unusable; the next call reports the same error.
      }
    }
    return sqlite_store::StatusOfException(operation, path_, e);
  }
}

template <typename Body>
auto SqliteTrialStore::InNestedTransaction(bool write, const std::string& operation, Body&& body)
    -> decltype(body()) {
  // mu_ is held by this thread's outer transaction (Atomically).
  if (write && read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat(operation, ": the database ", path_, " was opened read-only"));
  }
  // RunAfterCommit work this call adds goes with its savepoint.
  const size_t after_commit_mark = after_commit_.size();
  try {
    Prepared(sqlite_store::kSqlSavepoint)->exec();
    auto result = body();
    if (!result.ok()) {
      Prepared(sqlite_store::kSqlRollbackToSavepoint)->exec();
      after_commit_.resize(after_commit_mark);
    }
    Prepared(sqlite_store::kSqlReleaseSavepoint)->exec();
    return result;
  } catch (const std::exception& e) {
    after_commit_.resize(after_commit_mark);
    try {
      Prepared(sqlite_store::kSqlRollbackToSavepoint)->exec();
      Prepared(sqlite_store::kSqlReleaseSavepoint)->exec();
    } catch (const std::exception&) {
      // The outer transaction fails at its COMMIT and rolls back.
    }
    return sqlite_store::StatusOfException(operation, path_, e);
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

}  // namespace gridrun::coordinator
