// MpiCommunicator: Communicator over MPI for CPU tensors.
//
// Uses a private duplicate of the communicator it is given (never
// MPI_COMM_WORLD itself, so library traffic cannot collide with ours) with
// MPI_ERRORS_RETURN, so MPI failures become Status values. MPI has no
// collective timeouts; a dead peer is detected by mpirun, which then ends
// the job (the coordinator's lease expiry re-queues the trial).
// Thread-safety: call from one thread; MPI must be initialised (at least
// MPI_THREAD_FUNNELED) before construction and finalised after destruction.
#pragma once

#include <mpi.h>

#include "worker/communicator.h"

namespace gridrun::worker {

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm parent = MPI_COMM_WORLD);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* name() const override { return "mpi"; }
  absl::Status AllReduceSum(torch::Tensor& tensor) override;
  absl::Status Broadcast(torch::Tensor& tensor, int root) override;
  absl::Status BroadcastBytes(std::string& bytes, int root) override;
  absl::Status Barrier() override;

  MPI_Comm comm() const { return comm_; }
  // The rank among processes on the same host (for GPU selection).
  int LocalRank() const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace gridrun::worker
