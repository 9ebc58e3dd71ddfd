// TrialSink: where rank 0's training loop sends what it produces (metrics,
// progress, samples, checkpoints) and asks whether to stop. The worker's
// implementation (worker/coordinator_sink.h) batches to the coordinator;
// tests use in-memory ones. Kept free of torch and gRPC headers.
// Thread-safety: called from the training thread only.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace gridrun::worker {

class TrialSink {
 public:
  virtual ~TrialSink() = default;
  virtual void Metric(const std::string& name, int64_t step, int64_t epoch, double value) = 0;
  virtual void Progress(int64_t epoch, int64_t step, int64_t total_steps,
                        double steps_per_second) = 0;
  // A PNG grid of `rows` x `cols` images. The coordinator's sink sends the
  // metrics reported so far first.
  virtual absl::Status Sample(const std::string& name, int64_t step, int64_t epoch,
                              const std::string& png, int rows, int cols) = 0;
  virtual absl::Status Checkpoint(int64_t step, int64_t epoch, const std::string& bytes) = 0;
  // True once the trial must stop: cancelled, or its lease was lost.
  virtual bool ShouldStop() = 0;
};

}  // namespace gridrun::worker
