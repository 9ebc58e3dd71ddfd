// CommitQueue: which queued calls the GroupCommitter's next batch takes.
// Pure policy (no threads, no store), so it is tested on its own.
//
// Why two kinds of call: a worker's training waits on some calls and not on
// others. LeaseTrial, CompleteTrial (whose reply carries the next lease,
// proto convention 8b; with convention 8e also the trial's last points),
// FailTrial and ReachRung stand between a GPU and its next work. Heartbeat
// and ReportMetrics are sent by the worker's reporter thread while training
// goes on (worker/trial_reporter.h). Under load a batch cannot take every
// waiting call, and the calls it leaves wait a whole batch more; leaving the
// background ones keeps GPUs busy (docs/BENCHMARKS.md, part 3, "Waited-on
// calls first").
//
// Rules for Take(max):
//   1. Waited-on calls go first, in arrival order.
//   2. Background calls fill the rest, in arrival order.
//   3. Background calls never starve: while any wait, they get at least
//      kBackgroundFloor of a batch's places (or all that wait, if fewer).
//      A heartbeat that renews a lease therefore waits at most
//      ceil(queued background calls / kBackgroundFloor) batches, and the
//      waited-on calls are bounded by the number of workers (each waits on
//      one call at a time).
//   4. The calls taken run in the order returned: rule 1's, then rule 2's.
//      Calls of different workers are concurrent RPCs with no order between
//      them; a worker's own calls that are in flight at once (its reporter's
//      heartbeat beside its training thread's ReachRung) had no order on
//      the wire either.
//
// Thread-safety: none; the GroupCommitter calls it under its mutex.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

namespace gridrun::coordinator {

// Whether a worker's training waits on a call's reply (see above).
enum class CallPriority { kWaitedOn, kBackground };

template <typename CallT>
class CommitQueue {
 public:
  // Rule 3's share of a batch for background calls.
  static constexpr size_t kBackgroundFloor = 8;

  void Push(std::unique_ptr<CallT> call, CallPriority priority) {
    (priority == CallPriority::kWaitedOn ? waited_on_ : background_).push_back(std::move(call));
  }

  bool empty() const { return waited_on_.empty() && background_.empty(); }
  size_t size() const { return waited_on_.size() + background_.size(); }

  // Moves up to `max` calls (max >= kBackgroundFloor) into `batch`, by the
  // rules above. Returns how many it moved.
  size_t Take(size_t max, std::vector<std::unique_ptr<CallT>>* batch) {
    const size_t background_reserved = std::min(background_.size(), kBackgroundFloor);
    const size_t waited_on = std::min(waited_on_.size(), max - background_reserved);
    const size_t background = std::min(background_.size(), max - waited_on);
    MoveFront(&waited_on_, waited_on, batch);
    MoveFront(&background_, background, batch);
    return waited_on + background;
  }

 private:
  static void MoveFront(std::deque<std::unique_ptr<CallT>>* from, size_t n,
                        std::vector<std::unique_ptr<CallT>>* to) {
    for (size_t i = 0; i < n; ++i) {
      to->push_back(std::move(from->front()));
      from->pop_front();
    }
  }

  std::deque<std::unique_ptr<CallT>> waited_on_;
  std::deque<std::unique_ptr<CallT>> background_;
};

}  // namespace gridrun::coordinator
