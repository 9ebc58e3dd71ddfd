// The gridrun SQLite database: its schema (tables, indexes, the `results`,
// `trial_metrics_last` and `trial_source` views, the `metrics_last` table of
// each metric's newest point), the migrations that build it, and how
// connections to it are opened.
//
// Schema versions live in `PRAGMA user_version`; `PRAGMA application_id`
// marks the file as a gridrun database. Opening a database for writing
// applies every pending migration, in order, in one transaction; a database
// written by a newer gridrun (user_version above what this build knows) is
// refused rather than guessed at.
//
// Every read-write connection runs with
//   journal_mode = WAL     readers (the CLI) never block the writer;
//   synchronous  = NORMAL  in WAL mode a committed transaction survives a
//                          crash or kill -9 of the process (our failure
//                          model); only an OS crash or power loss can roll
//                          back the last few commits, and even then the file
//                          stays consistent. FULL would fsync every commit.
//   foreign_keys = ON      child rows cannot outlive their trial (`metrics`
//                          and `metrics_last` have no foreign key since
//                          version 10: the store writes them under a lease).
//   busy_timeout           a second connection waits for the writer instead
//                          of failing with SQLITE_BUSY.
//
// Every view follows the reuse rule through `trial_source` (version 4): a
// trial shows the data of source_trial_id, itself or the trial it reused.
//
// The CLI reads through coordinator/results_reader.h, which opens the file
// with OpenReadOnlyDatabase() (SQLITE_OPEN_READONLY) and runs ad-hoc SQL
// through RunReadOnlyQuery() (read_only_query.h); e.g.
//   SELECT experiment, number, state,
//          json_extract(params_json, '$.kl_weight') AS kl_weight,
//          json_extract(metrics_json, '$.test_elbo') AS test_elbo
//   FROM results ORDER BY test_elbo DESC LIMIT 5;
//
// Thread-safety: these are free functions; a SQLite::Database they return
// must be used by one thread at a time (SqliteTrialStore guards its own with
// a mutex).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/read_only_query.h"  // RunReadOnlyQuery, QueryResult

namespace gridrun::coordinator {

// PRAGMA application_id of every gridrun database ("grid" in ASCII).
inline constexpr int32_t kGridrunApplicationId = 0x67726964;

// How long a connection waits for another connection's write lock.
inline constexpr int kSqliteBusyTimeoutMs = 10'000;

// One schema change: the SQL that takes a database from `version - 1` to
// `version`. Steps are never edited once released; new ones are appended.
struct Migration {
  int version = 0;
  std::string_view description;
  std::string_view sql;  // one or more statements
};

// The migrations of this build, versions 1, 2, ... in order.
const std::vector<Migration>& SchemaMigrations();

// The schema version this build writes (the last migration's version).
int LatestSchemaVersion();

// Reads PRAGMA user_version. INTERNAL on storage errors.
absl::StatusOr<int> ReadSchemaVersion(SQLite::Database& db);

// Brings `db` up to the last of `migrations` (consecutive versions from 1):
// applies every step above the current user_version, in order, and sets
// user_version, all in one IMMEDIATE transaction, so a failing step leaves
// the database exactly as it was. Errors:
//   FAILED_PRECONDITION  the database is newer than `migrations` know
//                        ("database schema version 7 is newer than this
//                        gridrun (knows up to 1); upgrade gridrun"), or it
//                        holds tables but is not a gridrun database;
//   INVALID_ARGUMENT     `migrations` are not numbered 1, 2, ...;
//   INTERNAL             a step failed (the message names it and carries
//                        SQLite's).
absl::Status ApplyMigrations(SQLite::Database& db, const std::vector<Migration>& migrations);

// Opens (creating if needed) a read-write connection: sets the pragmas above
// and applies SchemaMigrations(). ":memory:" gives a private in-memory
// database. Errors as ApplyMigrations; INTERNAL if the file cannot be opened.
// The connection is opened SQLITE_OPEN_NOMUTEX: the caller must not use it
// from two threads at once (SqliteTrialStore holds its mutex around every use).
absl::StatusOr<std::unique_ptr<SQLite::Database>> OpenDatabase(const std::string& path);

// Opens an existing database with SQLITE_OPEN_READONLY (writes fail with
// SQLite's "attempt to write a readonly database"). NOT_FOUND if there is no
// file at `path`; INVALID_ARGUMENT for ":memory:"; FAILED_PRECONDITION if it
// is not a gridrun database or its schema version is not exactly
// LatestSchemaVersion() (older: the coordinator migrates it on its next
// start; newer: upgrade gridrun).
absl::StatusOr<std::unique_ptr<SQLite::Database>> OpenReadOnlyDatabase(const std::string& path);

}  // namespace gridrun::coordinator
