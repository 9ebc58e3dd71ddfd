// WalCheckpointer: runs the store's WAL checkpoints on a thread of their
// own, so that the writing thread (the GroupCommitter's) does not stop for
// them.
//
// Why: SQLite's auto-checkpoint runs in the connection that commits, right
// after the commit that takes the WAL past 1,000 frames: it copies those
// pages into the database file and syncs both files, ~5 ms here. Under group
// commit that stopped one batch in ~18, and every call of that batch and of
// the next waited for it: it was most of the p99 of lease latency
// (docs/BENCHMARKS.md, part 3, "Checkpoints off the writer, cheaper points").
//
// Protocol:
//   1. Start() installs a WAL hook on the writer's connection (a connection
//      has one hook, so this turns SQLite's auto-checkpoint off for it) and
//      opens a second connection for the checkpointer thread.
//   2. After every commit the hook sees how many frames the WAL holds. Once
//      background_frames of them are not yet copied, it wakes the thread,
//      which runs a PASSIVE checkpoint on its own connection: it copies what
//      no reader still needs from the WAL and never waits for the writer or
//      for readers; the writer goes on committing meanwhile.
//   3. The WAL starts over from its beginning only after a checkpoint copied
//      every frame in it, which a checkpoint running beside a busy writer may
//      never do. So once the WAL holds inline_frames frames, the hook
//      checkpoints on the writer's thread, as SQLite would have: it copies
//      only what the thread has not (little), and the next transaction
//      restarts the WAL. The WAL stays near inline_frames frames at most.
//   4. A checkpoint that fails (a full disk) changes nothing stored: its
//      frames stay in the WAL, where readers see them. It is counted and
//      logged, the next one tries again, and no commit sees it.
//
// Durability is unchanged: a commit is durable once its frames are in the
// WAL (synchronous = NORMAL); a checkpoint only moves committed pages into
// the database file, syncing both files, whichever thread runs it.
//
// Thread-safety: the hook runs on the writer's thread, inside its commits
// (which the caller serialises, as SqliteTrialStore's mutex does); stats()
// from any thread. The destructor must not run beside a writer call: it
// removes the hook and joins the thread.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace SQLite {
class Database;
}

namespace gridrun::coordinator {

class WalCheckpointer {
 public:
  struct Options {
    // Frames not yet copied that wake the thread: SQLite's own
    // auto-checkpoint threshold (about 4 MB of 4 KB pages).
    int background_frames = 1000;
    // WAL frames at which the writer checkpoints itself (about 40 MB). Under
    // a saturated writer that is one commit in ~180 (55 frames each at 64
    // workers), and it copies what is left since the thread's last pass.
    int inline_frames = 10000;
  };

  struct Stats {
    int64_t background = 0;  // checkpoints the thread ran
    int64_t on_writer = 0;   // checkpoints the writer ran (step 3)
    int64_t failed = 0;      // checkpoints that returned an error
  };

  // Starts checkpointing for `writer`, the connection to the database file
  // `path` in WAL mode. `writer` must outlive the result. INTERNAL if the
  // second connection cannot be opened.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(const std::string& path,
                                                                sqlite3* writer,
                                                                const Options& options);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  Stats stats() const;

 private:
  WalCheckpointer(sqlite3* writer, std::unique_ptr<SQLite::Database> own, const Options& options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Loop();
  // Runs one PASSIVE checkpoint on `db`; returns the frames copied so far,
  // or -1 if it failed (counted and logged).
  int Checkpoint(sqlite3* db, const char* schema, const char* who);

  sqlite3* const writer_;
  const std::unique_ptr<SQLite::Database> own_;  // the thread's connection
  const Options options_;
  // Frames the last checkpoint had copied into the database file; fewer
  // than the WAL holds once it has restarted.
  std::atomic<int> copied_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;    // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool failing_ = false;   // the last checkpoint failed; guarded by mu_ (for logging once)
  Stats stats_;            // guarded by mu_
  std::thread thread_;
};

}  // namespace gridrun::coordinator
