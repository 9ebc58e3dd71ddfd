// Data-parallel training speed: one trial's steps on every MPI rank with the
// worker's fused gradient all-reduce (worker/fused_gradient_sync.h), global
// batch split across ranks, and the all-reduce bandwidth of a fused float32
// buffer from 4 KB to 16 MB.
//
//   mpirun -np 2 gridrun-bench-dp --model seed001-dcgan --global-batch 128
//   mpirun -np 2 gridrun-bench-dp --allreduce
//
// Rank 0 prints one JSON line (bench/dp_compare.py makes the tables).
#include <mpi.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/blas_env.h"
#include "common/malloc_tuning.h"
#include "common/model_catalog.h"
#include "common/trial_config.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "worker/fused_gradient_sync.h"
#include "worker/mpi_communicator.h"

namespace {

using gridrun::bench::NowSeconds;

int RunAllreduceSweep(gridrun::worker::MpiCommunicator& comm, int reps) {
  if (comm.rank() == 0) std::printf("[");
  bool first = true;
  for (int64_t bytes = 4 << 10; bytes <= (16 << 20); bytes *= 4) {
    torch::Tensor buf = torch::ones({bytes / 4});
    for (int i = 0; i < 3; ++i) (void)comm.AllReduceSum(buf);
    std::vector<double> times;
    for (int i = 0; i < reps; ++i) {
      MPI_Barrier(comm.comm());
      const double t0 = NowSeconds();
      if (auto s = comm.AllReduceSum(buf); !s.ok()) {
        std::cerr << s << "\n";
        return 1;
      }
      times.push_back(NowSeconds() - t0);
    }
    double local = gridrun::bench::Summarize(times).median, worst = 0;
    MPI_Reduce(&local, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, comm.comm());
    if (comm.rank() == 0) {
      std::printf("%s{\"bytes\":%lld,\"ranks\":%d,\"us_median\":%.1f,\"gb_per_s\":%.3f}",
                  first ? "" : ",", static_cast<long long>(bytes), comm.size(), worst * 1e6,
                  bytes / worst / 1e9);
      first = false;
    }
  }
  if (comm.rank() == 0) std::printf("]\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gridrun::EnsureFastBlasEnvironment(argv);
  gridrun::KeepFreedMemoryForReuse();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int code = 0;
  {
    CLI::App app{"gridrun data-parallel benchmark"};
    std::string model = "seed001-dcgan";
    int global_batch = 128, threads = 1, steps = 10, warmup = 2, critic_iters = 1, reps = 20;
    bool allreduce = false;
    app.add_option("--model", model, "catalog model")->capture_default_str();
    app.add_option("--global-batch", global_batch, "global batch (split across ranks)")
        ->check(CLI::Range(1, 65536));
    app.add_option("--threads", threads, "intra-op threads per rank")->check(CLI::Range(1, 256));
    app.add_option("--steps", steps, "timed steps")->check(CLI::Range(1, 100000));
    app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::Range(0, 1000));
    app.add_option("--critic-iters", critic_iters, "GAN critic steps per step")
        ->check(CLI::Range(1, 100));
    app.add_option("--reps", reps, "all-reduce repetitions per size")->check(CLI::Range(1, 10000));
    app.add_flag("--allreduce", allreduce, "measure all-reduce bandwidth 4 KB - 16 MB instead");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      code = app.exit(e);
      MPI_Finalize();
      return code;
    }
    at::set_num_threads(threads);
    gridrun::worker::MpiCommunicator comm;
    if (allreduce) {
      code = RunAllreduceSweep(comm, reps);
    } else if (global_batch % comm.size() != 0) {
      if (comm.rank() == 0) std::cerr << "--global-batch: must be a multiple of the ranks\n";
      code = 2;
    } else {
      gridrun::TrialConfig config;
      config.model = model;
      config.batch_size = global_batch;
      config.ranks = comm.size();
      config.critic_iters = critic_iters;
      config.trial_seed = 1;
      auto bundle = gridrun::models::BuildModel(config, *gridrun::FindDataset("mnist"));
      if (!bundle.ok()) {
        std::cerr << "--model: " << bundle.status() << "\n";
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
      gridrun::worker::FusedGradientSync sync(&comm);
      gridrun::models::TrainerOptions options;
      options.rank = comm.rank();
      options.world_size = comm.size();
      options.gradient_sync = &sync;
      auto trainer = gridrun::models::MakeTrainer(*bundle, config, options);
      if (!trainer.ok()) {
        std::cerr << trainer.status() << "\n";
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
      const int k = (*trainer)->BatchesPerStep();
      const int local = global_batch / comm.size();
      const bool gan = bundle->is_gan();
      std::vector<gridrun::models::Batch> pool;
      for (int i = 0; i < 2 * k; ++i) {
        torch::Tensor x = torch::rand({local, 1, 28, 28});
        if (gan) x = x * 2 - 1;
        pool.push_back({x, torch::randint(10, {local}, torch::kLong)});
      }
      double timed = 0, allreduce_before = 0;
      for (int s = 0; s < warmup + steps; ++s) {
        if (s == warmup) {
          MPI_Barrier(comm.comm());
          timed = NowSeconds();
          allreduce_before = sync.allreduce_seconds();
        }
        auto m = (*trainer)->Step(std::span<const gridrun::models::Batch>(pool.data() + (s % 2) * k, k));
        if (!m.ok() || !sync.status().ok()) {
          std::cerr << "step " << s << ": " << (m.ok() ? sync.status() : m.status()) << "\n";
          MPI_Abort(MPI_COMM_WORLD, 1);
        }
      }
      MPI_Barrier(comm.comm());
      const double wall = NowSeconds() - timed;
      double share = (sync.allreduce_seconds() - allreduce_before) / wall, max_share = 0;
      MPI_Reduce(&share, &max_share, 1, MPI_DOUBLE, MPI_MAX, 0, comm.comm());
      if (comm.rank() == 0) {
        std::printf(
            "{\"model\":\"%s\",\"ranks\":%d,\"threads\":%d,\"global_batch\":%d,\"steps\":%d,"
            "\"images_per_s\":%.2f,\"step_ms\":%.3f,\"allreduce_share\":%.4f,"
            "\"fused_elements\":%lld,\"blas\":\"%s\"}\n",
            model.c_str(), comm.size(), threads, global_batch, steps,
            static_cast<double>(global_batch) * k * steps / wall, wall / steps * 1e3, max_share,
            static_cast<long long>(sync.fused_elements()),
            gridrun::bench::Escape(gridrun::bench::LoadedBlas()).c_str());
      }
    }
  }
  MPI_Finalize();
  return code;
}
