// NcclCommunicator: Communicator over NCCL for CUDA tensors (built only when
// GRIDRUN_WITH_CUDA is on; compiled against the CUDA runtime API and NCCL, no
// nvcc needed).
//
// Bootstrap as in nccl-tests and Horovod: rank 0 calls ncclGetUniqueId, the
// id travels to every rank with MPI_Bcast, every rank calls
// ncclCommInitRankConfig. Each rank drives the GPU numbered by its rank among
// the processes on its host (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)).
//
// Timeouts: the communicator is created non-blocking, and every operation is
// waited for by polling ncclCommGetAsyncError and cudaStreamQuery against a
// deadline; when it passes, ncclCommAbort tears the communicator down and the
// call returns DEADLINE_EXCEEDED, so a dead peer fails the trial instead of
// hanging the job. Thread-safety: one thread.
#pragma once

#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <chrono>
#include <memory>

#include "absl/status/statusor.h"
#include "worker/communicator.h"

namespace gridrun::worker {

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `mpi_comm`'s ranks. Selects the local GPU (cudaSetDevice)
  // and returns its index through `device_index` if not null.
  static absl::StatusOr<std::unique_ptr<NcclCommunicator>> Create(
      MPI_Comm mpi_comm, std::chrono::milliseconds timeout, int* device_index = nullptr);
  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* name() const override { return "nccl"; }
  absl::Status AllReduceSum(torch::Tensor& tensor) override;
  absl::Status Broadcast(torch::Tensor& tensor, int root) override;
  // Bytes go over MPI (host memory); NCCL is for device buffers.
  absl::Status BroadcastBytes(std::string& bytes, int root) override;
  absl::Status Barrier() override;

 private:
  NcclCommunicator() = default;
  // Waits for the last enqueued NCCL operation, with the timeout.
  absl::Status WaitForCompletion(const char* what);

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  MPI_Comm mpi_comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::chrono::milliseconds timeout_{0};
  bool aborted_ = false;
};

}  // namespace gridrun::worker
