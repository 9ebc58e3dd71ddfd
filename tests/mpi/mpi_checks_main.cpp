// gridrun_mpi_checks: MPI programs the `mpi` tests run under
// `mpirun -np N`. Each check prints "OK" on rank 0 and exits 0, or prints
// what went wrong and exits 1.
//
//   gridrun_mpi_checks allreduce
//       Fused and plain all-reduce on MpiCommunicator: odd sizes, several
//       dtypes, and FusedGradientSync's averaging.
//   gridrun_mpi_checks train CONFIG_JSON DATA_DIR OUT_FILE [TORCHSCRIPT_FILE...]
//       Runs the trial through the real trial runner on however many ranks
//       the job has; rank 0 writes the final checkpoint bytes to OUT_FILE.
//       The TorchScript files its model names are read from the paths given
//       (each rank reads them: the worker's fetch is not under test here).
#include <mpi.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

#include "common/sha256.h"
#include "common/trial_config.h"
#include "worker/fused_gradient_sync.h"
#include "worker/mpi_communicator.h"
#include "worker/trial_runner.h"

namespace gridrun::worker {
namespace {

int Failure(const std::string& what) {
  std::cerr << "FAILED: " << what << std::endl;
  return 1;
}

int CheckAllReduce(MpiCommunicator& comm) {
  const int world = comm.size();
  const int rank = comm.rank();
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt32, torch::kInt64}) {
    for (int64_t n : {1, 7, 1023, 100003}) {
      // Element i on rank r holds i + r; the sum is world*i + world(world-1)/2.
      torch::Tensor t = (torch::arange(n, torch::kInt64) + rank).to(dtype);
      if (auto s = comm.AllReduceSum(t); !s.ok()) return Failure(s.ToString());
      torch::Tensor expected =
          (torch::arange(n, torch::kInt64) * world + world * (world - 1) / 2).to(dtype);
      if (!torch::equal(t, expected)) {
        return Failure("AllReduceSum " + std::string(c10::toString(dtype)) + " n=" +
                       std::to_string(n));
      }
    }
  }
  // FusedGradientSync: parameters of odd shapes, grads = rank + 1 -> average.
  std::vector<torch::Tensor> params = {torch::zeros({3, 5}, torch::requires_grad()),
                                       torch::zeros({7}, torch::requires_grad()),
                                       torch::zeros({1, 1, 3, 3}, torch::requires_grad())};
  FusedGradientSync sync(&comm);
  for (int round = 0; round < 3; ++round) {  // the buffer is reused
    for (auto& p : params) p.mutable_grad() = torch::full_like(p, rank + 1.0 + round);
    sync.AllReduceGradients(params);
    if (!sync.status().ok()) return Failure(sync.status().ToString());
    const double expected = (world + 1) / 2.0 + round;
    for (auto& p : params) {
      if (!torch::allclose(p.grad(), torch::full_like(p, expected))) {
        return Failure("FusedGradientSync average, round " + std::to_string(round));
      }
    }
  }
  if (sync.fused_elements() != 15 + 7 + 9) return Failure("one fused buffer per network");
  std::string bytes = rank == 0 ? std::string("from rank zero") : std::string();
  if (auto s = comm.BroadcastBytes(bytes, 0); !s.ok() || bytes != "from rank zero") {
    return Failure("BroadcastBytes");
  }
  return 0;
}

// Keeps the last checkpoint; everything else is dropped.
class MemorySink final : public TrialSink {
 public:
  void Metric(const std::string&, int64_t, int64_t, double) override {}
  void Progress(int64_t, int64_t, int64_t, double) override {}
  absl::Status Sample(const std::string&, int64_t, int64_t, const std::string&, int,
                      int) override {
    return absl::OkStatus();
  }
  absl::Status Checkpoint(int64_t, int64_t, const std::string& bytes) override {
    last_checkpoint = bytes;
    return absl::OkStatus();
  }
  bool ShouldStop() override { return false; }
  std::string last_checkpoint;
};

int Train(MpiCommunicator& comm, const std::string& config_json, const std::string& data_dir,
          const std::string& out_file, const std::vector<std::string>& torchscript_paths) {
  auto config = TrialConfigFromJson(config_json);
  if (!config.ok()) return Failure(config.status().ToString());
  MemorySink sink;
  TrialRunOptions options;
  options.data_dir = data_dir;
  std::map<std::string, std::string> torchscript;
  for (const std::string& path : torchscript_paths) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) return Failure("cannot read " + path);
    torchscript.emplace(Sha256Hex(bytes.str()), bytes.str());
  }
  options.torchscript = &torchscript;
  TrialOutcome outcome = RunTrial(*config, "", comm, &sink, options);
  if (outcome.kind != TrialOutcome::Kind::kCompleted) return Failure("trial: " + outcome.error);
  if (comm.rank() == 0) {
    std::ofstream out(out_file, std::ios::binary);
    out << sink.last_checkpoint;
    if (!out) return Failure("cannot write " + out_file);
  }
  return 0;
}

}  // namespace
}  // namespace gridrun::worker

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  at::set_num_threads(1);
  int code = 2;
  {
    gridrun::worker::MpiCommunicator comm(MPI_COMM_WORLD);
    const std::string check = argc > 1 ? argv[1] : "";
    if (check == "allreduce") {
      code = gridrun::worker::CheckAllReduce(comm);
    } else if (check == "train" && argc >= 5) {
      code = gridrun::worker::Train(comm, argv[2], argv[3], argv[4],
                                    std::vector<std::string>(argv + 5, argv + argc));
    } else {
      std::cerr << "usage: gridrun_mpi_checks allreduce | train CONFIG DATA_DIR OUT [TORCHSCRIPT...]\n";
    }
    // Every rank must agree that it passed.
    int worst = code;
    MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (comm.rank() == 0 && worst == 0) std::cout << "OK" << std::endl;
    code = worst;
  }
  MPI_Finalize();
  return code;
}
