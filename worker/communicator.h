// Communicator: the collectives a data-parallel trial needs, over whatever
// transport the ranks share.
//
//   LocalCommunicator  one rank, every collective is a no-op.
//   MpiCommunicator    CPU tensors over MPI (in-place MPI_Allreduce) on a
//                      private duplicate of MPI_COMM_WORLD.
//   NcclCommunicator   CUDA tensors over NCCL (worker/nccl_communicator.h),
//                      built when GRIDRUN_WITH_CUDA is on.
//
// All ranks must call the same collectives in the same order (the usual MPI
// contract). Errors come back as absl::Status (never as exceptions, never as
// an abort) so the worker can fail the trial instead of hanging or crashing.
// Thread-safety: one thread per communicator (the training thread).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace gridrun::worker {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "local", "mpi" or "nccl", for logs and benchmark reports.
  virtual const char* name() const = 0;

  // In-place element-wise sum over all ranks of a contiguous tensor
  // (float32, float64, int32 or int64).
  virtual absl::Status AllReduceSum(torch::Tensor& tensor) = 0;
  // In-place: every rank ends with `root`'s contents. Shapes must match.
  virtual absl::Status Broadcast(torch::Tensor& tensor, int root) = 0;
  // Every rank ends with `root`'s bytes (sizes may differ before the call).
  virtual absl::Status BroadcastBytes(std::string& bytes, int root) = 0;
  virtual absl::Status Barrier() = 0;
};

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const char* name() const override { return "local"; }
  absl::Status AllReduceSum(torch::Tensor&) override { return absl::OkStatus(); }
  absl::Status Broadcast(torch::Tensor&, int) override { return absl::OkStatus(); }
  absl::Status BroadcastBytes(std::string&, int) override { return absl::OkStatus(); }
  absl::Status Barrier() override { return absl::OkStatus(); }
};

}  // namespace gridrun::worker
