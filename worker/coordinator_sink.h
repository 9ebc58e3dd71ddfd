// CoordinatorSink: the TrialSink of a real worker. Metrics and progress go
// through a TrialReporter (batched, heartbeats on its own thread); samples
// and checkpoints are sent at once. Stop is requested when the coordinator
// cancels the trial or its lease is lost. Thread-safety: training thread only
// (the reporter has its own thread inside).
#pragma once

#include <memory>

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

 private:
  // ABORTED means the lease is gone: remember it so we stop.
  absl::Status MarkLeaseLostIfAborted(absl::Status status);

  WorkerClient* client_;
  LeasedTrial trial_;
  TrialReporter reporter_;
  bool lease_lost_ = false;
};

}  // namespace gridrun::worker
