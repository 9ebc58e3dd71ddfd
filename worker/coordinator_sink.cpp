#include "worker/coordinator_sink.h"

#include "common/status_macros.h"
#include "proto/gridrun.pb.h"

namespace gridrun::worker {

CoordinatorSink::CoordinatorSink(WorkerClient* client, const LeasedTrial& trial)
    : client_(client), trial_(trial), reporter_(client, trial, client->heartbeat_interval_ms()) {}

void CoordinatorSink::Metric(const std::string& name, int64_t step, int64_t epoch, double value) {
  reporter_.AddMetric(name, step, epoch, value);
}

void CoordinatorSink::Progress(int64_t epoch, int64_t step, int64_t total_steps,
                               double steps_per_second) {
  reporter_.SetProgress(TrialProgress{epoch, step, total_steps, steps_per_second});
}

absl::Status CoordinatorSink::MarkLeaseLostIfAborted(absl::Status status) {
  if (status.code() == absl::StatusCode::kAborted) lease_lost_ = true;
  return status;
}

absl::Status CoordinatorSink::Sample(const std::string& name, int64_t step, int64_t epoch,
                                     const std::string& png, int rows, int cols) {
  if (lease_lost()) return absl::AbortedError("lease lost");
  // Metrics up to this step go first: the coordinator judges a keep_best
  // grid by the values it has stored (proto convention 7d).
  RETURN_IF_ERROR(MarkLeaseLostIfAborted(reporter_.Flush()));
  return MarkLeaseLostIfAborted(client_->ReportSample(trial_, name, step, epoch, png, rows, cols));
}

absl::Status CoordinatorSink::Checkpoint(int64_t step, int64_t epoch, const std::string& bytes) {
  if (lease_lost()) return absl::AbortedError("lease lost");
  // Metrics up to this step go first, so a resume from this checkpoint never
  // leaves a gap before it.
  RETURN_IF_ERROR(MarkLeaseLostIfAborted(reporter_.Flush()));
  return MarkLeaseLostIfAborted(client_->SaveCheckpoint(trial_, step, epoch, bytes));
}

bool CoordinatorSink::ShouldStop() {
  return lease_lost() || reporter_.cancel_requested() || reporter_.stop_requested();
}

absl::StatusOr<std::optional<LeaseReply>> CoordinatorSink::CompleteAndLease(
    const std::map<std::string, double>& final_metrics) {
  v1::ReportMetricsRequest last;
  TrialProgress progress;
  RETURN_IF_ERROR(MarkLeaseLostIfAborted(reporter_.TakeLast(&last, &progress)));
  auto completed = client_->CompleteAndLease(trial_, final_metrics, &last, &progress);
  if (!completed.ok()) MarkLeaseLostIfAborted(completed.status()).IgnoreError();
  return completed;
}

absl::Status CoordinatorSink::Flush() {
  RETURN_IF_ERROR(MarkLeaseLostIfAborted(reporter_.Flush()));
  return MarkLeaseLostIfAborted(reporter_.HeartbeatNow());
}

}  // namespace gridrun::worker
