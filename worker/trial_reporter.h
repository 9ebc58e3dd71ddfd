// TrialReporter: rank 0's background duties for the trial it runs.
//
//   1. A heartbeat every heartbeat_interval_ms carries the latest progress and
//      renews the lease. A CANCEL reply sets cancel_requested(), a STOP reply
//      (or a metrics report answered with stop) stop_requested(); an ABORTED
//      reply (lease given to someone else) sets lease_lost(). With points
//      waiting, the heartbeat rides on their batch (ReportMetrics with
//      progress, proto convention 8a); a coordinator that does not answer
//      it as a heartbeat gets a Heartbeat call right after.
//   2. Metric points queue up and are sent in batches: when 100 points are
//      waiting or a second has passed, and on Flush(). Each point is built
//      once, in its wire form (v1::MetricPoint), and moved, not copied, into
//      the request that carries it; a batch that fails goes back to the front
//      of the queue for the next try.
//   3. If the coordinator stays unreachable, calls are retried with backoff
//      while the lease could still be valid; once the lease's deadline has
//      passed without a renewal the trial is treated as lost, so we never
//      report over the trial's next owner.
// The training thread only enqueues and reads flags, so it never waits on the
// network except in Flush(). Thread-safety: all public methods are safe to
// call from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "worker/coordinator_client.h"

namespace gridrun::worker {

class TrialReporter {
 public:
  TrialReporter(WorkerClient* client, LeasedTrial trial, int64_t heartbeat_interval_ms);
  ~TrialReporter();  // stops the thread (without a final flush)

  // Queues one point, stamped with the current wall-clock time.
  void AddMetric(const std::string& name, int64_t step, int64_t epoch, double value);
  void SetProgress(const TrialProgress& progress);

  // Sends every queued point now. ABORTED if the lease is lost.
  absl::Status Flush();
  // Sends a heartbeat with the latest progress now (e.g. the final step
  // count before CompleteTrial, so status shows the finished progress).
  absl::Status HeartbeatNow();
  // For a completion that carries the trial's last report (proto convention
  // 8e): waits for a batch in flight, sends queued points while more than
  // one request's worth wait, then moves the rest into `last` and the latest
  // progress into `progress`. The caller sends them; the queue is empty
  // after. ABORTED if the lease is lost; another error of a send leaves the
  // points queued.
  absl::Status TakeLast(v1::ReportMetricsRequest* last, TrialProgress* progress);

  bool cancel_requested() const { return cancel_requested_; }
  // The coordinator stopped the trial early (a heartbeat's STOP or a metrics
  // report's stop).
  bool stop_requested() const { return stop_requested_; }
  bool lease_lost() const { return lease_lost_; }
  const LeasedTrial& trial() const { return trial_; }

 private:
  void Loop();
  // With `progress`, the first request carries it (the heartbeat folded
  // into the batch, proto convention 8a); *beat_answered tells whether the
  // coordinator answered it as a heartbeat (then *beat holds the answer).
  absl::Status SendQueued(const TrialProgress* progress = nullptr, HeartbeatReply* beat = nullptr,
                          bool* beat_answered = nullptr);
  // SendQueued with send_mutex_ held, sending until at most `keep` points
  // are left queued.
  absl::Status SendQueuedLocked(size_t keep, const TrialProgress* progress, HeartbeatReply* beat,
                                bool* beat_answered);
  // Applies a heartbeat's answer (either call's) or its failure.
  void OnHeartbeat(const absl::StatusOr<HeartbeatReply>& reply);

  WorkerClient* client_;
  LeasedTrial trial_;
  int64_t heartbeat_interval_ms_;
  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> lease_lost_{false};

  std::mutex mutex_;
  std::mutex send_mutex_;  // one batch in flight at a time, in order
  std::condition_variable wake_;
  // The points waiting to be sent, oldest first (only its points are used).
  std::unique_ptr<v1::ReportMetricsRequest> queue_;
  TrialProgress progress_;
  std::atomic<int64_t> lease_expires_ms_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gridrun::worker
