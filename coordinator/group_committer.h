// GroupCommitter: runs the workers' small write RPCs (lease, heartbeat,
// metrics, rung, complete, fail) on one thread, as many as are waiting in
// one SQLite transaction, so that concurrent calls share one commit.
//
// Why: with one SQLite connection every write transaction is serialised
// anyway, and each cost its own BEGIN, WAL append of the pages it dirtied,
// COMMIT and a thread hand-off; 64 workers reporting at once paid that 64
// times. Batched, a page that 30 calls dirty is written to the WAL once, and
// the committing thread, busy under load, needs no wake-up per call
// (docs/BENCHMARKS.md, part 3: about twice the lifecycles per second of the
// 4-thread HandlerPool it replaced for these calls). An earlier group commit
// (leader/follower on the synchronous server's threads) batched only 1.4
// calls and lost; the queue here batches whatever arrived while the
// previous batch ran, and a lone call starts at once (no timer, no wait).
//
// Protocol (the committer thread, in a loop):
//   1. Takes every queued call, up to kMaxBatch: the calls a worker's
//      training waits on first, background reports after them, each kind in
//      arrival order (commit_queue.h has the rules, and why). Waits only
//      when the queue is empty.
//   2. Opens one write transaction (TrialStore::Atomically) and runs each
//      call's Run() in turn. Each store call a Run() makes is a savepoint,
//      so a call that fails (a lost lease, a bad request) changes nothing
//      and the next call goes on; a later call sees every earlier one's
//      writes (two leases in one batch never claim the same trial).
//   3. Commits, hands the batch to the replier thread and goes back to step
//      1. The replier calls each call's Finish(), in order, with the commit's
//      outcome: OK, and the call replies with its own status; or the
//      commit's error (INTERNAL, RESOURCE_EXHAUSTED for a full disk), which
//      the call must reply instead, since none of its writes were kept. No
//      reply is sent before the commit that holds its writes (trial_store.h,
//      contract 1). Sending 30 replies took 13% of a batch's time on the
//      committer; on the replier it overlaps the next batch.
//   4. Work a call left to TrialStore::RunAfterCommit has run before step 3's
//      Finish() calls (it runs inside Atomically, after COMMIT).
//
// Thread-safety: Submit() from any thread. Run() is called on the committer
// thread, Finish() on the replier thread, after Run() returned (a call needs
// no lock of its own between the two). Run() holds the store's one
// connection for the batch: it must not wait for another thread that may
// call the store (that thread waits for the batch: deadlock), and other
// threads' store calls wait for the batch as they waited for any
// transaction. The destructor runs and finishes every queued call, then
// joins both threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "coordinator/commit_queue.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {

class GroupCommitter {
 public:
  // The most calls one transaction holds: bounds how long a batch keeps the
  // store (and its last reply) waiting. Why not all that wait: taking all 64
  // workers' calls at once left the committer idle while their replies went
  // out and their next calls came in; leaving the rest for the next batch
  // keeps it busy. 32 rather than 256: +4-5% lifecycles/s at 64 workers
  // (docs/BENCHMARKS.md, part 3), p99 unchanged.
  static constexpr size_t kMaxBatch = 32;

  // One queued call.
  class Call {
   public:
    virtual ~Call() = default;
    // Inside the batch's transaction; the call's store writes and its reply
    // (not yet sent).
    virtual void Run() = 0;
    // After the batch committed (`commit` OK) or failed to (its error; then
    // nothing Run() wrote was kept). Sends the reply. Called exactly once,
    // also for a call whose Run() never ran (the transaction did not start).
    virtual void Finish(const absl::Status& commit) = 0;
  };

  // `store` must outlive the committer.
  explicit GroupCommitter(TrialStore* store);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `call` for a coming batch: the next one, unless more calls wait
  // than it holds (commit_queue.h says which go first).
  void Submit(std::unique_ptr<Call> call, CallPriority priority);

  // Counters since construction, for the benchmark and tests. A batch is
  // counted before its calls' Finish(); its busy time after.
  struct Stats {
    int64_t batches = 0;
    int64_t calls = 0;
    int64_t largest_batch = 0;
    // CPU time the committer thread spent on batches (running and
    // committing them): against wall time, how near it is to being the
    // bottleneck.
    double busy_cpu_seconds = 0;
    // CPU time the replier thread spent finishing them (sending replies).
    double reply_cpu_seconds = 0;
  };
  Stats stats() const;

 private:
  // A committed (or failed) batch, waiting for its Finish() calls.
  struct Committed {
    std::vector<std::unique_ptr<Call>> calls;
    absl::Status commit;
  };

  void Loop();
  void ReplyLoop();

  TrialStore* const store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  CommitQueue<Call> queue_;                  // guarded by mu_
  bool waiting_ = false;                     // the thread sleeps on cv_; guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  Stats stats_;                              // guarded by mu_
  std::condition_variable reply_cv_;
  std::deque<Committed> replies_;  // guarded by mu_
  bool committer_done_ = false;    // Loop() returned: no more batches; guarded by mu_
  std::thread thread_;
  std::thread replier_;
};

}  // namespace gridrun::coordinator
