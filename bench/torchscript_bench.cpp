// Training-step time of a TorchScript generator and critic (models/
// torchscript_network.h) against the same networks written as a model file
// (the layer-list builder, models/model_builder.h), alternating in one
// process: round r times a run of steps of one build, then of the other (the
// order swaps every round), on the same batches, as
// bench/model_file_bench.cpp does.
//
// The TorchScript files come from experiments/models/torchscript/make_cgan.py
// (bench/run.sh writes them with /usr/bin/python3): a conditional MLP
// WGAN-GP, generator Linear(latent+10, W) ReLU Linear(W, W) ReLU
// Linear(W, 784) Tanh, critic Linear(784+10, W) LeakyReLU Linear(W, W)
// LeakyReLU Linear(W, 1); the model file below has the same layers.
//
//   gridrun-bench-torchscript --generator g.pt --critic c.pt --width 128 \
//       --latent-size 64 --rounds 8 --round-ms 500 --batch 64 --threads 1
//
// Prints one JSON line: the median step ms of each build (over the rounds'
// medians) and torchscript/file. docs/BENCHMARKS.md "TorchScript networks".
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/blas_env.h"
#include "common/malloc_tuning.h"
#include "common/sha256.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "modelspec/model_file.h"

namespace {

using gridrun::bench::NowSeconds;

struct Build {
  std::unique_ptr<gridrun::models::Trainer> trainer;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string LayerFile(int latent, int width) {
  return "objective: wgan-gp\nconditional: true\nsettings:\n  latent_size: {default: " +
         std::to_string(latent) + ", fixed: true}\n  width: " + std::to_string(width) +
         "\n"
         "generator:\n  layers:\n"
         "    - Linear: {out_features: \"${width}\"}\n    - ReLU\n"
         "    - Linear: {out_features: \"${width}\"}\n    - ReLU\n"
         "    - Linear: {out_features: \"${channels * image_height * image_width}\"}\n    - Tanh\n"
         "critic:\n  input: flat\n  labels: vector\n  layers:\n"
         "    - Linear: {out_features: \"${width}\"}\n    - LeakyReLU: 0.2\n"
         "    - Linear: {out_features: \"${width}\"}\n    - LeakyReLU: 0.2\n"
         "    - Linear: {out_features: 1}\n";
}

}  // namespace

int main(int argc, char** argv) {
  gridrun::EnsureFastBlasEnvironment(argv);
  gridrun::KeepFreedMemoryForReuse();
  CLI::App app{"TorchScript networks vs the same networks as a model file: training-step time"};
  int batch = 64, threads = 1, steps = 0, rounds = 8, round_ms = 500, width = 128, latent = 64;
  std::string generator_path, critic_path;
  app.add_option("--generator", generator_path, "TorchScript generator (make_cgan.py)")->required();
  app.add_option("--critic", critic_path, "TorchScript critic (make_cgan.py)")->required();
  app.add_option("--width", width, "the scripts' --width")->check(CLI::Range(1, 65536));
  app.add_option("--latent-size", latent, "the scripts' --latent-size")
      ->check(CLI::Range(1, 65536));
  app.add_option("--batch", batch, "batch size")->check(CLI::Range(2, 4096));
  app.add_option("--threads", threads, "intra-op threads")->check(CLI::Range(1, 256));
  app.add_option("--steps", steps, "timed steps per round and build (0: from --round-ms)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--round-ms", round_ms, "length of a timed run when --steps is 0")
      ->check(CLI::Range(1, 600000));
  app.add_option("--rounds", rounds, "alternating rounds")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);

  const gridrun::DatasetInfo& data = *gridrun::FindDataset("mnist");
  const std::string g = ReadFile(generator_path), c = ReadFile(critic_path);
  const std::string g_sha = gridrun::Sha256Hex(g), c_sha = gridrun::Sha256Hex(c);
  const gridrun::models::TorchScriptFiles files = {{g_sha, g}, {c_sha, c}};
  const std::string scripted_text = gridrun::modelspec::WithTorchScriptHashes(
      "objective: wgan-gp\nconditional: true\nsettings:\n  latent_size: {default: " +
          std::to_string(latent) +
          ", fixed: true}\ngenerator: {torchscript: g.pt}\ncritic: {torchscript: c.pt}\n",
      {{"g.pt", g_sha}, {"c.pt", c_sha}});
  Build builds[2];  // 0: model file, 1: TorchScript
  for (int b = 0; b < 2; ++b) {
    gridrun::TrialConfig config;
    config.model = b == 0 ? "layers.yaml" : "scripted.yaml";
    config.model_source = b == 0 ? LayerFile(latent, width) : scripted_text;
    config.dataset = "mnist";
    config.batch_size = batch;
    config.trial_seed = 1;
    config.critic_iters = 1;
    config.optimizer = gridrun::OptimizerConfig{"adam", 1e-4, 0.5, 0.9, 0.0, 0.0};
    auto bundle = gridrun::models::BuildModel(config, data, files);
    if (!bundle.ok()) {
      std::cerr << config.model << ": " << bundle.status() << "\n";
      return 1;
    }
    auto trainer = gridrun::models::MakeTrainer(std::move(*bundle), config);
    if (!trainer.ok()) {
      std::cerr << config.model << ": " << trainer.status() << "\n";
      return 1;
    }
    builds[b].trainer = std::move(*trainer);
  }
  const int k = builds[0].trainer->BatchesPerStep();
  std::vector<gridrun::models::Batch> pool;
  for (int i = 0; i < 2 * k; ++i) {
    torch::Tensor x = torch::rand({batch, data.channels, data.height, data.width}) * 2 - 1;
    pool.push_back({x, torch::randint(data.num_classes, {batch}, torch::kLong)});
  }
  auto run = [&](Build& build, int count, std::vector<double>* times) {
    for (int s = 0; s < count; ++s) {
      std::span<const gridrun::models::Batch> batches(pool.data() + (s % 2) * k, k);
      const double t0 = NowSeconds();
      auto m = build.trainer->Step(batches);
      if (!m.ok()) {
        std::cerr << m.status() << "\n";
        std::exit(1);
      }
      if (times != nullptr) times->push_back(NowSeconds() - t0);
    }
  };
  // Warm-up: the TorchScript profiling executor optimises a graph after its
  // first runs; 20 steps each leave that out of the timed rounds.
  std::vector<double> warm;
  for (Build& build : builds) run(build, 20, &warm);
  const int n = gridrun::bench::StepsPerRun(steps, round_ms, warm, 5, 2000);
  const std::vector<double> medians = gridrun::bench::AlternatingRoundMedians(
      [&](int i, int count, std::vector<double>* times) { run(builds[i], count, times); },
      rounds, n);
  const double file_ms = medians[0] * 1e3;
  const double script_ms = medians[1] * 1e3;
  std::printf(
      "{\"width\":%d,\"latent_size\":%d,\"batch\":%d,\"threads\":%d,\"rounds\":%d,\"steps\":%d,"
      "\"file_step_ms\":%.3f,\"torchscript_step_ms\":%.3f,\"torchscript_over_file\":%.4f}\n",
      width, latent, batch, threads, rounds, n, file_ms, script_ms, script_ms / file_ms);
  return 0;
}
