// Training-step time of every seed preset built from its model file
// (modelspec/zoo/, the one builder models/model_builder.h) against the same
// preset built by the C++ code gridrun had before model files
// (bench/baselines/compiled_presets.cpp), alternating in one process on the
// same machine: round r times a run of steps of the compiled build, then of
// the file build (the order swaps every round), on the same batches. A run
// has --steps steps, or with --round-ms as many as take about that long
// (at least 5; from the warm-up's step time), so millisecond models are
// not timed on a handful of steps.
//
//   gridrun-bench-model-files --rounds 8 --round-ms 500 --batch 64 --threads 1
//
// Prints one JSON line per preset: median step ms of each build (over the
// rounds' medians) and file/compiled. docs/BENCHMARKS.md "Model files" has
// the numbers.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench/baselines/compiled_presets.h"
#include "bench/bench_util.h"
#include "common/blas_env.h"
#include "common/malloc_tuning.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "modelspec/zoo.h"

namespace {

using gridrun::bench::NowSeconds;

struct Build {
  std::unique_ptr<gridrun::models::Trainer> trainer;
};

}  // namespace

int main(int argc, char** argv) {
  gridrun::EnsureFastBlasEnvironment(argv);
  gridrun::KeepFreedMemoryForReuse();
  CLI::App app{"model files vs the former compiled presets: training-step time"};
  int batch = 64, threads = 1, steps = 0, rounds = 8, round_ms = 500;
  std::string only;
  app.add_option("--batch", batch, "batch size")->check(CLI::Range(2, 4096));
  app.add_option("--threads", threads, "intra-op threads")->check(CLI::Range(1, 256));
  app.add_option("--steps", steps, "timed steps per round and build (0: from --round-ms)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--round-ms", round_ms, "length of a timed run when --steps is 0")
      ->check(CLI::Range(1, 600000));
  app.add_option("--rounds", rounds, "alternating rounds")->check(CLI::Range(1, 1000));
  app.add_option("--model", only, "one preset only");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);

  for (const gridrun::ModelInfo& info : gridrun::ModelCatalog()) {
    if (!info.is_preset || (!only.empty() && info.name != only)) continue;
    const gridrun::DatasetInfo& data =
        *gridrun::FindDataset(info.fixed_channels == 3 ? "cifar10" : "mnist");
    gridrun::TrialConfig config;
    config.model = std::string(info.name);
    config.batch_size = batch;
    config.trial_seed = 1;
    gridrun::ApplyModelDefaults(info, config);
    config.critic_iters = 1;  // one critic step per step: the same work in both builds
    Build builds[2];
    for (int b = 0; b < 2; ++b) {
      torch::manual_seed(1);
      auto bundle = b == 0 ? gridrun::bench::compiled::BuildCompiledPreset(
                                 info, info.default_latent_size, data)
                           : gridrun::models::BuildModel(config, data);
      if (!bundle.ok()) {
        std::cerr << info.name << ": " << bundle.status() << "\n";
        return 1;
      }
      auto trainer = gridrun::models::MakeTrainer(std::move(*bundle), config);
      if (!trainer.ok()) {
        std::cerr << info.name << ": " << trainer.status() << "\n";
        return 1;
      }
      builds[b].trainer = std::move(*trainer);
    }
    const int k = builds[0].trainer->BatchesPerStep();
    const auto range = gridrun::models::DataRange(info.objective);
    std::vector<gridrun::models::Batch> pool;
    for (int i = 0; i < 2 * k; ++i) {
      torch::Tensor x = torch::rand({batch, data.channels, data.height, data.width});
      if (range == gridrun::models::Range::kMinusOneOne) x = x * 2 - 1;
      pool.push_back({x, torch::randint(data.num_classes, {batch}, torch::kLong)});
    }
    auto run = [&](Build& build, int count, std::vector<double>* times) {
      for (int s = 0; s < count; ++s) {
        std::span<const gridrun::models::Batch> batches(pool.data() + (s % 2) * k, k);
        const double t0 = NowSeconds();
        auto m = build.trainer->Step(batches);
        if (!m.ok()) {
          std::cerr << info.name << ": " << m.status() << "\n";
          std::exit(1);
        }
        if (times != nullptr) times->push_back(NowSeconds() - t0);
      }
    };
    std::vector<double> warm;
    for (Build& build : builds) run(build, 3, &warm);  // warm-up, and the step time
    const int n = gridrun::bench::StepsPerRun(steps, round_ms, warm, 5, 1000);
    const std::vector<double> medians = gridrun::bench::AlternatingRoundMedians(
        [&](int i, int count, std::vector<double>* times) { run(builds[i], count, times); },
      rounds, n);
    const double compiled_ms = medians[0] * 1e3;
    const double file_ms = medians[1] * 1e3;
    std::printf(
        "{\"model\":\"%s\",\"batch\":%d,\"threads\":%d,\"rounds\":%d,\"steps\":%d,"
        "\"compiled_step_ms\":%.3f,\"file_step_ms\":%.3f,\"file_over_compiled\":%.4f}\n",
        std::string(info.name).c_str(), batch, threads, rounds, n, compiled_ms, file_ms,
        file_ms / compiled_ms);
    std::fflush(stdout);
  }
  return 0;
}
