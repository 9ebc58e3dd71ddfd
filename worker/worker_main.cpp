// gridrun-worker: an MPI program; N ranks train one trial at a time,
// data-parallel. `mpirun -np N gridrun-worker --coordinator HOST:PORT`.
#include <mpi.h>
#include <signal.h>
#include <torch/torch.h>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>

#include "common/blas_env.h"
#include "common/malloc_tuning.h"
#include "common/logging.h"
#include "models/dataset.h"
#include "worker/model_check.h"
#include "worker/model_tool.h"
#include "worker/mpi_communicator.h"
#include "worker/worker_loop.h"
#ifdef GRIDRUN_HAVE_CUDA
#include "worker/nccl_communicator.h"
#endif

namespace {

std::atomic<bool> g_preempt{false};

// SIGTERM (Slurm's preemption signal) and SIGINT: finish the step, checkpoint,
// give the trial back, exit 0.
void OnTerminate(int) { g_preempt = true; }

}  // namespace

int main(int argc, char** argv) {
  gridrun::EnsureFastBlasEnvironment(argv);
  gridrun::KeepFreedMemoryForReuse();
  // `model-tool`: the torch half of `gridrun export --models` and `gridrun
  // sample` (worker/model_tool.h); no MPI, no coordinator.
  if (gridrun::worker::IsModelToolInvocation(argc, argv)) {
    return gridrun::worker::RunModelTool(argc, argv);
  }
  gridrun::worker::WorkerOptions options;
  std::string token_file, log_level = "info";
  CLI::App app{"gridrun worker: trains the coordinator's trials, data-parallel over the MPI job's "
               "ranks"};
  bool check_models = false;
  app.add_option("--coordinator", options.coordinator.address, "coordinator HOST:PORT")
      ->envname("GRIDRUN_COORDINATOR");
  app.add_flag("--check-models", check_models,
               "build the models of the configs on stdin once, without a coordinator, and print "
               "their problems (worker/model_check.h; gridrun validate runs it)");
  app.add_option("--token-file", token_file, "file with the coordinator's bearer token")
      ->envname("GRIDRUN_TOKEN_FILE");
  app.add_option("--tls-ca", options.coordinator.tls_ca_path, "PEM CA: talk TLS to the coordinator");
  app.add_option("--tls-cert", options.coordinator.tls_cert_path, "PEM client certificate");
  app.add_option("--tls-key", options.coordinator.tls_key_path, "PEM client key");
  app.add_option("--data-dir", options.data_dir, "where the data sets are")
      ->envname("GRIDRUN_DATA_DIR");
  app.add_option("--device", options.device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "intra-op threads per rank")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-trials", options.max_trials, "exit after this many trials (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--exit-when-idle", options.exit_when_idle_s,
                 "exit after this many seconds without a trial (default: never)");
  app.add_option("--metrics-every", options.metrics_every_steps,
                 "record training losses every N steps")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);  // before MPI_Init: every rank prints and exits alike
  }
  if (check_models) return gridrun::worker::RunModelCheck(std::cin, std::cout);
  if (options.coordinator.address.empty()) {
    std::fprintf(stderr, "gridrun-worker: --coordinator is required\n");
    return 2;
  }
  if (options.data_dir.empty()) options.data_dir = gridrun::models::DefaultDataDir();
  try {
    options.coordinator.token = gridrun::LoadToken(token_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gridrun-worker: %s\n", e.what());
    return 2;
  }

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  gridrun::InitLogging("worker." + std::to_string(rank), log_level);
  struct sigaction action = {};
  action.sa_handler = OnTerminate;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  at::set_num_threads(options.threads);

  int code = 0;
  {
    gridrun::worker::MpiCommunicator comm(MPI_COMM_WORLD);
    std::unique_ptr<gridrun::worker::Communicator> tensor_comm;
    if (options.device == "cuda") {
#ifdef GRIDRUN_HAVE_CUDA
      // Torch must use the GPU NCCL bound this rank to (local rank % GPUs).
      auto nccl = gridrun::worker::NcclCommunicator::Create(comm.comm(), std::chrono::minutes(5),
                                                            &options.device_index);
      if (!nccl.ok()) {
        spdlog::error("NCCL set-up failed: {}", nccl.status().ToString());
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      tensor_comm = std::move(*nccl);
#else
      spdlog::error("--device cuda: this gridrun was built without CUDA/NCCL");
      MPI_Finalize();
      return 2;
#endif
    }
    code = gridrun::worker::RunWorker(options, comm, tensor_comm.get(), g_preempt);
  }
  MPI_Finalize();
  return code;
}
