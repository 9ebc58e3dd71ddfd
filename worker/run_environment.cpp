// Collects a worker job's RunEnvironment (see run_environment.h): build
// identity, library versions, the BLAS mapped, and each rank's host and
// device.
#include "worker/run_environment.h"

#include <mpi.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/build_info.h"
#include "common/status_macros.h"
#include "worker/communicator.h"
#ifdef GRIDRUN_HAVE_CUDA
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace gridrun::worker {
namespace {

constexpr const char* kBlasNames[] = {"libblas", "libopenblas", "libmkl", "libcblas",
                                      "libflexiblas", "libblis"};

std::string MpiLibraryVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string version(text, static_cast<size_t>(std::max(length, 0)));
  // Open MPI counts the terminating NUL in `length`; keep the first line.
  version = version.substr(0, version.find_first_of(std::string("\n\0", 2)));
  return std::string(absl::StripAsciiWhitespace(version));
}

// "model name" of /proc/cpuinfo, or "" if there is none.
std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
  }
  return "";
}

std::string ThisRankDevice(const std::string& device, int device_index) {
#ifdef GRIDRUN_HAVE_CUDA
  if (device == "cuda") {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, device_index) == cudaSuccess) {
      return absl::StrCat("cuda:", device_index, " (", properties.name, ")");
    }
    return absl::StrCat("cuda:", device_index);
  }
#else
  (void)device_index;
  if (device == "cuda") return "cuda (not built with CUDA)";
#endif
  const std::string model = CpuModel();
  return model.empty() ? device : absl::StrCat(device, " (", model, ")");
}

std::string CudaRuntimeVersion() {
#ifdef GRIDRUN_HAVE_CUDA
  int version = 0;
  if (cudaRuntimeGetVersion(&version) != cudaSuccess) return "unknown";
  return absl::StrCat(version / 1000, ".", (version % 1000) / 10);
#else
  return "none";
#endif
}

std::string NcclVersion() {
#ifdef GRIDRUN_HAVE_CUDA
  int version = 0;
  if (ncclGetVersion(&version) != ncclSuccess) return "unknown";
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return absl::StrCat(version / 10000, ".", (version % 10000) / 100, ".", version % 100);
#else
  return "none";
#endif
}

}  // namespace

std::string ThisHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::string MappedBlasLibraries() {
  std::ifstream maps("/proc/self/maps");
  if (!maps) return "unknown";
  std::vector<std::string> found;
  std::set<std::string> seen;
  std::string line;
  while (std::getline(maps, line)) {
    // address perms offset dev inode path
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = std::filesystem::path(path).filename().string();
    bool is_blas = false;
    for (const char* name : kBlasNames) is_blas = is_blas || absl::StartsWith(file, name);
    if (!is_blas) continue;
    std::error_code error;
    std::filesystem::path resolved = std::filesystem::canonical(path, error);
    const std::string shown = error ? path : resolved.string();
    if (seen.insert(shown).second) found.push_back(shown);
  }
  return found.empty() ? "none mapped" : absl::StrJoin(found, ", ");
}

absl::StatusOr<RunEnvironment> CollectRunEnvironment(Communicator& comm, const std::string& device,
                                                     int device_index) {
  RunEnvironment environment;
  environment.gridrun_version = kGridrunVersion;
  environment.build_commit = kGridrunBuildCommit;
  environment.torch_version = TORCH_VERSION;
  environment.blas = MappedBlasLibraries();
  environment.mpi = MpiLibraryVersion();
  environment.cuda = CudaRuntimeVersion();
  environment.nccl = NcclVersion();
  const nlohmann::json mine = {{"host", ThisHostName()},
                               {"device", ThisRankDevice(device, device_index)}};
  // Each rank in turn broadcasts its placement: a start-up cost of `size`
  // small broadcasts, with only the collectives every Communicator has.
  for (int root = 0; root < comm.size(); ++root) {
    std::string bytes = comm.rank() == root ? mine.dump() : std::string();
    RETURN_IF_ERROR(comm.BroadcastBytes(bytes, root));
    const nlohmann::json placement = nlohmann::json::parse(bytes, nullptr, false);
    RankPlacement rank;
    rank.rank = root;
    rank.host = placement.is_object() ? placement.value("host", "unknown") : "unknown";
    rank.device = placement.is_object() ? placement.value("device", "unknown") : "unknown";
    environment.ranks.push_back(std::move(rank));
  }
  return environment;
}

std::string RunEnvironmentJson(const RunEnvironment& environment) {
  nlohmann::json ranks = nlohmann::json::array();
  std::vector<std::string> hosts;
  for (const RankPlacement& rank : environment.ranks) {
    ranks.push_back({{"rank", rank.rank}, {"host", rank.host}, {"device", rank.device}});
    if (std::find(hosts.begin(), hosts.end(), rank.host) == hosts.end()) {
      hosts.push_back(rank.host);
    }
  }
  const nlohmann::json json = {{"gridrun_version", environment.gridrun_version},
                               {"build_commit", environment.build_commit},
                               {"torch_version", environment.torch_version},
                               {"blas", environment.blas},
                               {"mpi", environment.mpi},
                               {"cuda", environment.cuda},
                               {"nccl", environment.nccl},
                               {"world_size", environment.ranks.size()},
                               {"hosts", hosts},
                               {"ranks", ranks}};
  return json.dump();
}

}  // namespace gridrun::worker
