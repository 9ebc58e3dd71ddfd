#include "worker/mpi_communicator.h"

#include <string>

#include "common/status_macros.h"

namespace gridrun::worker {
namespace {

absl::Status MpiError(const char* what, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return absl::InternalError(std::string(what) + " failed: " + std::string(text, length));
}

absl::Status CheckTensor(const torch::Tensor& tensor, const char* what) {
  if (!tensor.defined() || !tensor.is_contiguous() || !tensor.device().is_cpu()) {
    return absl::InvalidArgumentError(std::string(what) +
                                      ": MpiCommunicator needs a defined, contiguous CPU tensor");
  }
  return absl::OkStatus();
}

// The MPI datatype of a tensor's elements, or MPI_DATATYPE_NULL.
MPI_Datatype MpiType(const torch::Tensor& tensor) {
  switch (tensor.scalar_type()) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default: return MPI_DATATYPE_NULL;
  }
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm parent) {
  MPI_Comm_dup(parent, &comm_);
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

int MpiCommunicator::LocalRank() const {
  MPI_Comm local;
  MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  int local_rank = 0;
  MPI_Comm_rank(local, &local_rank);
  MPI_Comm_free(&local);
  return local_rank;
}

absl::Status MpiCommunicator::AllReduceSum(torch::Tensor& tensor) {
  RETURN_IF_ERROR(CheckTensor(tensor, "AllReduceSum"));
  MPI_Datatype type = MpiType(tensor);
  if (type == MPI_DATATYPE_NULL || type == MPI_UINT8_T) {
    return absl::InvalidArgumentError("AllReduceSum: unsupported dtype " +
                                      std::string(c10::toString(tensor.scalar_type())));
  }
  // MPI counts are int: reduce very large buffers in slices.
  constexpr int64_t kMaxCount = int64_t{1} << 30;
  char* data = static_cast<char*>(tensor.data_ptr());
  const int64_t element = tensor.element_size();
  for (int64_t offset = 0; offset < tensor.numel(); offset += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, tensor.numel() - offset));
    int rc = MPI_Allreduce(MPI_IN_PLACE, data + offset * element, count, type, MPI_SUM, comm_);
    if (rc != MPI_SUCCESS) return MpiError("MPI_Allreduce", rc);
  }
  return absl::OkStatus();
}

absl::Status MpiCommunicator::Broadcast(torch::Tensor& tensor, int root) {
  RETURN_IF_ERROR(CheckTensor(tensor, "Broadcast"));
  // Bytes: any dtype broadcasts exactly.
  const int64_t bytes = tensor.numel() * tensor.element_size();
  if (bytes > INT32_MAX) return absl::InvalidArgumentError("Broadcast: tensor over 2 GiB");
  int rc = MPI_Bcast(tensor.data_ptr(), static_cast<int>(bytes), MPI_BYTE, root, comm_);
  if (rc != MPI_SUCCESS) return MpiError("MPI_Bcast", rc);
  return absl::OkStatus();
}

absl::Status MpiCommunicator::BroadcastBytes(std::string& bytes, int root) {
  int64_t length = static_cast<int64_t>(bytes.size());
  int rc = MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_);
  if (rc != MPI_SUCCESS) return MpiError("MPI_Bcast (length)", rc);
  if (length > INT32_MAX) return absl::InvalidArgumentError("BroadcastBytes: over 2 GiB");
  bytes.resize(static_cast<size_t>(length));
  if (length == 0) return absl::OkStatus();
  rc = MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_BYTE, root, comm_);
  if (rc != MPI_SUCCESS) return MpiError("MPI_Bcast", rc);
  return absl::OkStatus();
}

absl::Status MpiCommunicator::Barrier() {
  int rc = MPI_Barrier(comm_);
  if (rc != MPI_SUCCESS) return MpiError("MPI_Barrier", rc);
  return absl::OkStatus();
}

}  // namespace gridrun::worker
