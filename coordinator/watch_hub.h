// WatchHub: WatchExperiment's notifier. Every watching client is one
// grpc::ServerWriteReactor (no thread, no polling); the store's commit feed
// (TrialCommitListener, trial_store.h) tells the hub of every committed
// change of a trial row, and the hub queues an event for each watcher of
// that trial's experiment and starts its next write.
//
// The protocol of one watch:
//   1. Watch() registers a watcher for the experiment, then asks the store
//      for a snapshot (TrialStore::PublishSnapshot). Changes committed
//      before the snapshot are ignored by that watcher; the snapshot
//      becomes one SNAPSHOT event per trial; every change committed after
//      it becomes a STATE_CHANGE (state differs from the last event of that
//      trial) or PROGRESS event (epoch or step differs), in commit order.
//      Other changes of the row (a renewed deadline) send nothing.
//   2. Events are written one at a time; a watcher's queue holds what is
//      not yet written. More than kMaxQueuedEvents queued: the stream ends
//      with RESOURCE_EXHAUSTED (the client may watch again).
//   3. Once no trial is WAITING or RUNNING and the queue is written, the
//      stream ends OK. A client that cancels ends it at once.
//
// Thread-safety: the listener methods run on whichever thread committed
// (OnCommitted/OnSnapshot under the store's lock, AfterCommit without);
// reactions run on gRPC's threads. Lock order: store -> hub -> watcher; no
// gRPC call is made with any of them held.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "coordinator/trial_store.h"
#include "proto/gridrun.pb.h"

namespace gridrun::coordinator {

class WatchHub final : public TrialCommitListener {
 public:
  static constexpr size_t kMaxQueuedEvents = 100'000;

  // Sets itself as `store`'s commit listener; the destructor resets it. Both
  // must outlive every watch (CoordinatorServer shuts the server down first).
  WatchHub(TrialStore* store, const Clock* clock);
  ~WatchHub() override;

  // Starts a watch of the experiment `experiment_id` (an id, already
  // resolved and authorised). Returns the reactor gRPC drives; it deletes
  // itself when done.
  grpc::ServerWriteReactor<v1::TrialEvent>* Watch(const std::string& experiment_id);

  // Watches open now (for tests and logs).
  int watchers() const { return watchers_.load(); }

  // TrialCommitListener.
  bool active() const override { return watchers_.load(std::memory_order_relaxed) > 0; }
  void OnCommitted(std::vector<TrialChange> changes) override;
  void OnSnapshot(const std::string& experiment_id, std::vector<TrialChange> trials) override;
  void AfterCommit() override;

 private:
  class Watcher;
  void Remove(Watcher* watcher);

  TrialStore* store_;
  const Clock* clock_;
  std::atomic<int> watchers_{0};
  std::mutex mu_;
  // experiment id -> its watchers; guarded by mu_.
  std::unordered_map<std::string, std::vector<std::shared_ptr<Watcher>>> by_experiment_;
  // Watchers with new events since the last AfterCommit; guarded by mu_.
  std::vector<std::shared_ptr<Watcher>> to_pump_;
};

}  // namespace gridrun::coordinator
