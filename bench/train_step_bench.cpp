// Training-step throughput of gridrun's trainer (models/trainer.h) on
// MNIST-shaped random data, and the float32 GEMM ceiling of the BLAS in use.
//
//   gridrun-bench-train --model seed001-dcgan --batch 128 --threads 2 --steps 20
//   gridrun-bench-train --gemm --threads 2
//
// Prints one JSON line (bench/train_compare.py alternates it with the PyTorch
// script bench/baselines/train_step.py and makes the table). images/s counts
// the real images a step consumes (batch * critic_iters for GAN objectives).
// flop_per_image is an analytic count: 2 * multiply-adds of every conv /
// transposed conv / linear layer in each forward pass the step makes, with a
// backward pass counted as 2x its forward (input + weight gradients) and the
// gradient penalty as 6x a critic forward (forward, input gradient, and the
// double backward of both).
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

namespace {

using gridrun::bench::NowSeconds;
namespace nn = torch::nn;

// Multiply-adds of one sample through `seq` starting from `x`; x becomes the output.
int64_t SequentialMacs(nn::SequentialImpl& seq, torch::Tensor& x) {
  int64_t macs = 0;
  for (auto& any : seq) {
    auto module = any.ptr();
    torch::Tensor y = any.forward(x);
    if (auto* conv = dynamic_cast<nn::Conv2dImpl*>(module.get())) {
      const auto& w = conv->weight;  // [out, in/groups, kh, kw]
      macs += y.numel() * w.size(1) * w.size(2) * w.size(3);
    } else if (auto* convt = dynamic_cast<nn::ConvTranspose2dImpl*>(module.get())) {
      const auto& w = convt->weight;  // [in, out/groups, kh, kw]
      macs += x.numel() * w.size(1) * w.size(2) * w.size(3);
    } else if (auto* linear = dynamic_cast<nn::LinearImpl*>(module.get())) {
      macs += linear->weight.numel() * (x.numel() / x.size(-1));
    }
    x = y;
  }
  return macs;
}

std::shared_ptr<nn::SequentialImpl> Child(nn::Module& m, const std::string& name) {
  for (const auto& item : m.named_children()) {
    if (item.key() == name) return std::dynamic_pointer_cast<nn::SequentialImpl>(item.value());
  }
  return nullptr;
}

int64_t LinearMacs(nn::Module& m, const std::string& name) {
  for (const auto& item : m.named_children()) {
    if (item.key() != name) continue;
    if (auto l = std::dynamic_pointer_cast<nn::LinearImpl>(item.value())) return l->weight.numel();
  }
  return 0;
}

// Forward FLOPs per image of the step's networks, and the step's FLOPs per
// consumed image (see the file comment for the convention). 0 if unknown.
double FlopPerImage(gridrun::models::ModelBundle& b, int critic_iters) {
  torch::NoGradGuard no_grad;
  for (auto& [name, m] : b.Modules()) m->eval();
  double result = 0;
  if (b.vae) {
    auto enc = Child(*b.vae, "encoder");
    auto dec = Child(*b.vae, "decoder");
    if (!enc || !dec) return 0;
    torch::Tensor x = torch::zeros({1, b.image.channels, b.image.height, b.image.width});
    if (enc->size() > 0 && dynamic_cast<nn::LinearImpl*>(enc->ptr(0).get())) x = x.reshape({1, -1});
    int64_t macs = SequentialMacs(*enc, x);
    macs += LinearMacs(*b.vae, "z_mean") + LinearMacs(*b.vae, "z_logvar");
    torch::Tensor z = torch::zeros({1, b.latent_size});
    macs += SequentialMacs(*dec, z);
    result = 3.0 * 2.0 * static_cast<double>(macs);
  } else if (b.generator && b.critic) {
    auto g = Child(*b.generator, "net");
    auto d = Child(*b.critic, "net");
    if (!g || !d) return 0;
    torch::Tensor z = torch::zeros({1, b.latent_size, 1, 1});
    const double gf = 2.0 * static_cast<double>(SequentialMacs(*g, z));
    torch::Tensor x = torch::zeros({1, b.image.channels, b.image.height, b.image.width});
    const double df = 2.0 * static_cast<double>(SequentialMacs(*d, x));
    const double k = critic_iters;
    const double gp = b.objective == gridrun::Objective::kWganGp ? 6.0 * df : 0.0;
    // Per critic step: G forward, D forward on real + fake, their backward,
    // the penalty. Generator step: D forward + input backward, G backward.
    const double per_step = k * (gf + 2 * df + 4 * df + gp) + (2 * df + 2 * gf);
    result = per_step / k;
  }
  for (auto& [name, m] : b.Modules()) m->train();
  return result;
}

int RunGemm(int threads, int reps) {
  const int64_t n = 1024;
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::mm(a, b);  // warm-up
  std::vector<double> gflops;
  for (int i = 0; i < reps; ++i) {
    const double t0 = NowSeconds();
    c = torch::mm(a, b);
    const double dt = NowSeconds() - t0;
    gflops.push_back(2.0 * n * n * n / dt / 1e9);
  }
  auto s = gridrun::bench::Summarize(gflops);
  std::printf(
      "{\"impl\":\"cpp\",\"what\":\"gemm\",\"n\":1024,\"threads\":%d,\"gflops_median\":%.1f,"
      "\"gflops_max\":%.1f,\"blas\":\"%s\",\"coretype\":\"%s\",\"torch\":\"%s\"}\n",
      threads, s.median, s.max, gridrun::bench::Escape(gridrun::bench::LoadedBlas()).c_str(),
      getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "", TORCH_VERSION);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gridrun::EnsureFastBlasEnvironment(argv);
  gridrun::KeepFreedMemoryForReuse();
  CLI::App app{"gridrun training-step benchmark"};
  std::string model = "seed001-dcgan", dataset_name = "mnist";
  int batch = 64, threads = 1, steps = 20, warmup = 3, critic_iters = 1;
  bool gemm = false;
  app.add_option("--model", model, "catalog model")->capture_default_str();
  app.add_option("--dataset", dataset_name, "data set shape")->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(CLI::Range(1, 65536));
  app.add_option("--threads", threads, "intra-op threads")->check(CLI::Range(1, 256));
  app.add_option("--steps", steps, "timed steps")->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::Range(0, 1000));
  app.add_option("--critic-iters", critic_iters, "GAN critic steps per step")
      ->check(CLI::Range(1, 100));
  app.add_flag("--gemm", gemm, "measure the 1024^3 float32 torch::mm ceiling instead");
  CLI11_PARSE(app, argc, argv);

  at::set_num_threads(threads);
  if (gemm) return RunGemm(threads, steps);

  const gridrun::DatasetInfo* dataset = gridrun::FindDataset(dataset_name);
  if (!dataset) {
    std::cerr << "--dataset: unknown data set '" << dataset_name << "'\n";
    return 2;
  }
  gridrun::TrialConfig config;
  config.model = model;
  config.batch_size = batch;
  config.critic_iters = critic_iters;
  config.trial_seed = 1;
  auto bundle = gridrun::models::BuildModel(config, *dataset);
  if (!bundle.ok()) {
    std::cerr << "--model: " << bundle.status() << "\n";
    return 2;
  }
  const double flop_per_image = FlopPerImage(*bundle, critic_iters);
  auto trainer = gridrun::models::MakeTrainer(*bundle, config);
  if (!trainer.ok()) {
    std::cerr << trainer.status() << "\n";
    return 2;
  }
  const int k = (*trainer)->BatchesPerStep();
  const auto range = gridrun::models::DataRange(bundle->objective);
  // A pool of distinct batches, cycled, so no step sees a cached input.
  std::vector<gridrun::models::Batch> pool;
  for (int i = 0; i < 2 * k; ++i) {
    torch::Tensor x = torch::rand({batch, dataset->channels, dataset->height, dataset->width});
    if (range == gridrun::models::Range::kMinusOneOne) x = x * 2 - 1;
    pool.push_back({x, torch::randint(dataset->num_classes, {batch}, torch::kLong)});
  }
  std::vector<double> step_seconds;
  for (int s = 0; s < warmup + steps; ++s) {
    std::span<const gridrun::models::Batch> batches(pool.data() + (s % 2) * k, k);
    const double t0 = NowSeconds();
    auto m = (*trainer)->Step(batches);
    const double dt = NowSeconds() - t0;
    if (!m.ok()) {
      std::cerr << "step " << s << ": " << m.status() << "\n";
      return 1;
    }
    if (s >= warmup) step_seconds.push_back(dt);
  }
  double total = 0;
  for (double t : step_seconds) total += t;
  const double images_per_s = static_cast<double>(batch) * k * steps / total;
  auto s = gridrun::bench::Summarize(step_seconds);
  std::printf(
      "{\"impl\":\"cpp\",\"model\":\"%s\",\"batch\":%d,\"threads\":%d,\"critic_iters\":%d,"
      "\"steps\":%d,\"images_per_s\":%.2f,\"step_ms_median\":%.3f,\"step_ms_min\":%.3f,"
      "\"step_ms_max\":%.3f,\"flop_per_image\":%.0f,\"gflops\":%.2f,\"blas\":\"%s\","
      "\"coretype\":\"%s\",\"torch\":\"%s\"}\n",
      model.c_str(), batch, threads, k, steps, images_per_s, s.median * 1e3, s.min * 1e3,
      s.max * 1e3, flop_per_image, flop_per_image * images_per_s / 1e9,
      gridrun::bench::Escape(gridrun::bench::LoadedBlas()).c_str(),
      getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "", TORCH_VERSION);
  return 0;
}
