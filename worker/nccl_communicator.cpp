#include "worker/nccl_communicator.h"

#include <string>
#include <thread>

#include "common/status_macros.h"

namespace gridrun::worker {
namespace {

absl::Status NcclError(const char* what, ncclResult_t result) {
  return absl::InternalError(std::string(what) + " failed: " + ncclGetErrorString(result));
}

absl::Status CudaError(const char* what, cudaError_t error) {
  return absl::InternalError(std::string(what) + " failed: " + cudaGetErrorString(error));
}

absl::StatusOr<ncclDataType_t> NcclType(const torch::Tensor& tensor) {
  switch (tensor.scalar_type()) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kFloat16: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    default:
      return absl::InvalidArgumentError("NcclCommunicator: unsupported dtype " +
                                        std::string(c10::toString(tensor.scalar_type())));
  }
}

absl::Status CheckTensor(const torch::Tensor& tensor, const char* what) {
  if (!tensor.defined() || !tensor.is_contiguous() || !tensor.is_cuda()) {
    return absl::InvalidArgumentError(std::string(what) +
                                      ": NcclCommunicator needs a defined, contiguous CUDA tensor");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(
    MPI_Comm mpi_comm, std::chrono::milliseconds timeout, int* device_index) {
  std::unique_ptr<NcclCommunicator> comm(new NcclCommunicator());
  comm->timeout_ = timeout;
  MPI_Comm_dup(mpi_comm, &comm->mpi_comm_);
  MPI_Comm_rank(comm->mpi_comm_, &comm->rank_);
  MPI_Comm_size(comm->mpi_comm_, &comm->size_);

  // The GPU: this rank's index among the ranks sharing its host.
  MPI_Comm local;
  MPI_Comm_split_type(comm->mpi_comm_, MPI_COMM_TYPE_SHARED, comm->rank_, MPI_INFO_NULL, &local);
  int local_rank = 0;
  MPI_Comm_rank(local, &local_rank);
  MPI_Comm_free(&local);
  int devices = 0;
  if (cudaError_t e = cudaGetDeviceCount(&devices); e != cudaSuccess) {
    return CudaError("cudaGetDeviceCount", e);
  }
  if (devices == 0) return absl::FailedPreconditionError("no CUDA device visible");
  const int device = local_rank % devices;
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return CudaError("cudaSetDevice", e);
  if (device_index != nullptr) *device_index = device;
  if (cudaError_t e = cudaStreamCreateWithFlags(&comm->stream_, cudaStreamNonBlocking);
      e != cudaSuccess) {
    return CudaError("cudaStreamCreate", e);
  }

  ncclUniqueId id;
  if (comm->rank_ == 0) {
    if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
      return NcclError("ncclGetUniqueId", r);
    }
  }
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm->mpi_comm_);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // lets WaitForCompletion enforce the timeout
  ncclResult_t r =
      ncclCommInitRankConfig(&comm->comm_, comm->size_, id, comm->rank_, &config);
  if (r != ncclSuccess && r != ncclInProgress) return NcclError("ncclCommInitRankConfig", r);
  RETURN_IF_ERROR(comm->WaitForCompletion("ncclCommInitRank"));
  return comm;
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr) {
    if (aborted_) {
      // Already torn down by ncclCommAbort.
    } else {
      ncclCommDestroy(comm_);
    }
  }
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && mpi_comm_ != MPI_COMM_NULL) MPI_Comm_free(&mpi_comm_);
}

absl::Status NcclCommunicator::WaitForCompletion(const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (true) {
    ncclResult_t async = ncclSuccess;
    if (comm_ != nullptr) ncclCommGetAsyncError(comm_, &async);
    if (async != ncclSuccess && async != ncclInProgress) return NcclError(what, async);
    const bool comm_ready = async == ncclSuccess;
    const cudaError_t stream_state = stream_ ? cudaStreamQuery(stream_) : cudaSuccess;
    if (stream_state != cudaSuccess && stream_state != cudaErrorNotReady) {
      return CudaError(what, stream_state);
    }
    if (comm_ready && stream_state == cudaSuccess) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      if (comm_ != nullptr) ncclCommAbort(comm_);
      aborted_ = true;
      return absl::DeadlineExceededError(std::string(what) + " did not finish within " +
                                         std::to_string(timeout_.count()) +
                                         " ms; NCCL communicator aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

absl::Status NcclCommunicator::AllReduceSum(torch::Tensor& tensor) {
  if (aborted_) return absl::FailedPreconditionError("NCCL communicator was aborted");
  RETURN_IF_ERROR(CheckTensor(tensor, "AllReduceSum"));
  ASSIGN_OR_RETURN(const ncclDataType_t type, NcclType(tensor));
  ncclResult_t r =
      ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), type,
                    ncclSum, comm_, stream_);
  if (r != ncclSuccess && r != ncclInProgress) return NcclError("ncclAllReduce", r);
  return WaitForCompletion("ncclAllReduce");
}

absl::Status NcclCommunicator::Broadcast(torch::Tensor& tensor, int root) {
  if (aborted_) return absl::FailedPreconditionError("NCCL communicator was aborted");
  RETURN_IF_ERROR(CheckTensor(tensor, "Broadcast"));
  ASSIGN_OR_RETURN(const ncclDataType_t type, NcclType(tensor));
  ncclResult_t r = ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(),
                                 static_cast<size_t>(tensor.numel()), type, root, comm_, stream_);
  if (r != ncclSuccess && r != ncclInProgress) return NcclError("ncclBroadcast", r);
  return WaitForCompletion("ncclBroadcast");
}

absl::Status NcclCommunicator::BroadcastBytes(std::string& bytes, int root) {
  int64_t length = static_cast<int64_t>(bytes.size());
  MPI_Bcast(&length, 1, MPI_INT64_T, root, mpi_comm_);
  bytes.resize(static_cast<size_t>(length));
  if (length > 0) MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_BYTE, root, mpi_comm_);
  return absl::OkStatus();
}

absl::Status NcclCommunicator::Barrier() {
  MPI_Barrier(mpi_comm_);
  return absl::OkStatus();
}

}  // namespace gridrun::worker
