// CoordinatorSink: the TrialSink of a real worker. Metrics and progress go
// through a TrialReporter (batched, heartbeats on its own thread); samples
// and checkpoints are sent at once. Stop is requested when the coordinator
// cancels the trial or its lease is lost. Thread-safety: training thread only
// (the reporter has its own thread inside).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "worker/coordinator_client.h"
#include "worker/trial_reporter.h"
#include "worker/trial_sink.h"

namespace gridrun::worker {

class CoordinatorSink final : public TrialSink {
 public:
  CoordinatorSink(WorkerClient* client, const LeasedTrial& trial);

  void Metric(const std::string& name, int64_t step, int64_t epoch, double value) override;
  void Progress(int64_t epoch, int64_t step, int64_t total_steps,
                double steps_per_second) override;
  absl::Status Sample(const std::string& name, int64_t step, int64_t epoch,
                      const std::string& png, int rows, int cols) override;
  absl::Status Checkpoint(int64_t step, int64_t epoch, const std::string& bytes) override;
  bool ShouldStop() override;

  bool cancel_requested() const { return reporter_.cancel_requested(); }
  bool stop_requested() const { return reporter_.stop_requested(); }
  bool lease_lost() const { return lease_lost_ || reporter_.lease_lost(); }
  // Sends the queued metrics and the latest progress (before Complete/Fail).
  absl::Status Flush();
  // Completes the trial and leases the worker's next one (proto convention
  // 8b), carrying the queued metrics and the latest progress in the same
  // call (8e): one round trip where Flush() and the completion took three.
  // Only when the client's completion_takes_points(); otherwise Flush()
  // first and complete with WorkerClient::CompleteAndLease. Errors as
  // WorkerClient::CompleteAndLease (ABORTED also marks the lease lost).
  absl::StatusOr<std::optional<LeaseReply>> CompleteAndLease(
      const std::map<std::string, double>& final_metrics);

 private:
  // ABORTED means the lease is gone: remember it so we stop.
  absl::Status MarkLeaseLostIfAborted(absl::Status status);

  WorkerClient* client_;
  LeasedTrial trial_;
  TrialReporter reporter_;
  bool lease_lost_ = false;
};

}  // namespace gridrun::worker
