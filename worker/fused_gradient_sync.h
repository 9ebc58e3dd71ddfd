// FusedGradientSync: averages gradients across ranks with ONE all-reduce per
// backward pass (Horovod's fusion buffer).
//
// The first call for a network (identified by the parameter vector the
// trainer passes; it passes the same vector object every time) allocates one
// flat buffer of all its parameters' elements and records a view per
// parameter. Every call then copies each gradient into its view, all-reduces
// the buffer in place, divides by the world size and copies the views back:
// no per-parameter collectives and no per-step allocation.
// Thread-safety: one thread (the trainer's).
#pragma once

#include <torch/torch.h>

#include <map>
#include <vector>

#include "absl/status/status.h"
#include "models/trainer.h"
#include "worker/communicator.h"

namespace gridrun::worker {

class FusedGradientSync final : public models::GradientSync {
 public:
  explicit FusedGradientSync(Communicator* comm) : comm_(comm) {}

  void AllReduceGradients(std::vector<torch::Tensor>& params) override;

  // The first collective error, if any (the trainer's interface returns
  // nothing, so the worker checks this after each step).
  const absl::Status& status() const { return status_; }
  // Seconds spent inside the all-reduce (for benchmarks).
  double allreduce_seconds() const { return allreduce_seconds_; }
  int64_t fused_elements() const;

 private:
  struct Fusion {
    torch::Tensor buffer;
    std::vector<torch::Tensor> views;  // one per parameter, into buffer
  };
  Fusion& FusionFor(const std::vector<torch::Tensor>& params);

  Communicator* comm_;
  std::map<const void*, Fusion> fusions_;
  absl::Status status_;
  double allreduce_seconds_ = 0;
};

// Makes every rank's parameters and buffers equal to rank 0's (before
// training, and for BatchNorm statistics before evaluation and checkpoints).
absl::Status BroadcastModuleState(Communicator& comm, const std::vector<torch::Tensor>& tensors);

}  // namespace gridrun::worker
