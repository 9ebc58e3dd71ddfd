// RunEnvironment: where a worker job runs -- the gridrun build, the libraries
// the trial's numbers depend on (LibTorch, the BLAS actually mapped, MPI,
// CUDA/NCCL) and each rank's host and device -- so a stored result can be
// traced to its environment.
//
// The worker collects it once at start-up (every rank takes part: rank 0
// gathers each rank's host and device) and sends it as JSON with each lease
// request; the coordinator stores it per attempt (trial_attempts) and
// `gridrun status EXP TRIAL` shows it.
//
// Thread-safety: CollectRunEnvironment is a collective (call it from the
// communicator's thread on every rank); the rest are pure or read-only.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun::worker {

class Communicator;

struct RankPlacement {
  int rank = 0;
  std::string host;
  std::string device;  // e.g. "cpu (Intel(R) Xeon(R) ...)" or "cuda:0 (NVIDIA H100 ...)"
};

struct RunEnvironment {
  std::string gridrun_version;  // common/build_info.h
  std::string build_commit;     // short hash, "unknown" outside git
  std::string torch_version;    // the LibTorch headers built against
  std::string blas;             // path(s) of the BLAS library mapped in rank 0
  std::string mpi;              // MPI_Get_library_version, first line
  std::string cuda;             // CUDA runtime version, "none" without CUDA
  std::string nccl;             // NCCL version, "none" without CUDA
  std::vector<RankPlacement> ranks;  // one per rank, in rank order
};

// Collective over `comm`: every rank reports its host and device ("cpu" or
// "cuda" with `device_index`); every rank returns the whole environment.
// Errors: the communicator's, if a broadcast fails.
absl::StatusOr<RunEnvironment> CollectRunEnvironment(Communicator& comm, const std::string& device,
                                                     int device_index);

// The JSON object sent to the coordinator: the fields above by name, plus
// "hosts" (distinct host names in rank order) and "world_size".
std::string RunEnvironmentJson(const RunEnvironment& environment);

// The BLAS libraries mapped into this process (libblas, libopenblas, libmkl,
// libcblas, libflexiblas, libblis), as resolved paths from /proc/self/maps,
// comma-separated; "none mapped" if there is none, "unknown" if the maps
// cannot be read.
std::string MappedBlasLibraries();

// This process's host name ("unknown" if gethostname fails).
std::string ThisHostName();

}  // namespace gridrun::worker
