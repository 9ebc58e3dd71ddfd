// Training steps, evaluation and sampling for every objective: VAE, GAN (BCE),
// WGAN (weight clipping), WGAN-GP (gradient penalty), their conditional
// variants, and the classifier used for transfer.
//
// The worker's loop, per rank (numbered once here, where it lives):
//  1. bundle = BuildModel(config, dataset); trainer = MakeTrainer(bundle,
//     config, {rank, world, &sync, device}). Equal configs build equal
//     initial weights on every rank (BuildModel seeds from trial_seed).
//  2. Each step hands BatchesPerStep() batches of this rank's shard, images in
//     DataRange(objective) (models/dataset.h BatchIterator does the scaling).
//     GAN objectives take critic_iters batches: each critic step consumes its
//     own real batch; the generator step that follows uses no real data. The
//     count is a function of the config only, so every rank draws the same
//     number of batches per step and the epoch ends on the same step
//     everywhere (the caller drops an incomplete last group of batches).
//  3. Inside Step, after every backward() (each critic step and the generator
//     step; the one VAE / classifier step) and before the optimizer step, the
//     trainer calls GradientSync::AllReduceGradients(params) with that
//     network's parameters (the same vector object and order every call), so
//     the worker can average the gradients across ranks in one fused buffer.
//     Every rank makes the same sequence of calls.
//  4. Losses returned by Step are this rank's local batch means; averaged
//     gradients make the update equal to one global-batch step.
//  5. Per epoch: Evaluate(held-out) and Generate(FixedNoise(n)) on rank 0.
//
// Randomness: noise (z, the VAE's eps, WGAN-GP's interpolation weights) comes
// from a torch::Generator owned by the trainer, reseeded at the start of every
// step from (trial_seed, step); every rank draws the noise of the whole global
// batch and keeps its own rows (StepNoise), so N-rank training equals 1-rank
// training on the same global batch. torch's default generators (dropout) are
// reseeded from (trial_seed, rank, step). So a run is deterministic under
// trial_seed on CPU, and a checkpoint (models/checkpoint_state.h) that
// restores the step counter resumes every rank exactly.
//
// Errors: Step / Evaluate / Generate never throw; torch errors come back as
// INTERNAL, malformed batches as INVALID_ARGUMENT, and a NaN / inf loss as
// FAILED_PRECONDITION "non-finite loss/d at step 17" before its backward()
// (no update is applied from it). After a failed Step the trainer may hold a
// partly updated model (e.g. critic steps done): discard it.
//
// Thread-safety: a Trainer is used by one thread. GradientSync
// implementations are called on that thread.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/trial_config.h"
#include "models/dataset.h"
#include "models/model_factory.h"

namespace gridrun::models {

// Scalar results by name: "loss/total", "loss/d", "test/accuracy", ...
using Metrics = std::map<std::string, double>;

// One batch of this rank's shard. images: float32 [B, C, H, W] in
// DataRange(objective), on any device (moved to the trainer's). labels: int64
// [B]; required for conditional models and classifiers, else may be undefined.
struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
};

// The image range a model's data is in: [-1, 1] for GAN objectives (Tanh
// generators), [0, 1] for VAEs (sigmoid decoders) and classifiers (so a
// classifier's first layers transfer to a VAE encoder).
Range DataRange(Objective objective);

// Where the worker averages gradients across ranks.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // Called after backward(), before the optimizer step, with the parameters
  // of the network being stepped; every params[i].grad() is defined. Must
  // leave in each grad the average over ranks.
  virtual void AllReduceGradients(std::vector<torch::Tensor>& params) = 0;
};

// Single process: nothing to average.
class LocalGradientSync final : public GradientSync {
 public:
  void AllReduceGradients(std::vector<torch::Tensor>& /*params*/) override {}
};

struct TrainerOptions {
  int rank = 0;
  int world_size = 1;
  GradientSync* gradient_sync = nullptr;  // not owned; nullptr = LocalGradientSync
  torch::Device device = torch::kCPU;
  int64_t eval_batch_size = 256;  // chunk size of Evaluate / Generate
};

enum class ParameterGroup {
  kAll,        // every trained parameter
  kGenerator,  // GAN objectives: the generator's
  kCritic,     // GAN objectives: the critic's / discriminator's
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // critic_iters for GAN objectives, else 1.
  int BatchesPerStep() const { return batches_per_step_; }

  // One optimizer step (GAN: critic_iters critic steps, one per batch, then
  // one generator step). batches.size() must equal BatchesPerStep(). Returns
  // this rank's loss terms:
  //   VAE:        loss/total, loss/recon, loss/kl
  //   GAN (BCE):  loss/d, loss/g, d_real, d_fake (mean sigmoid outputs)
  //   WGAN(-GP):  loss/d, loss/g, d_real, d_fake (mean critic scores),
  //               wasserstein (mean real - mean fake score), loss/gp (GP)
  //   classifier: loss/ce, accuracy
  // Critic terms are averaged over the critic_iters critic steps.
  absl::StatusOr<Metrics> Step(std::span<const Batch> batches);
  absl::StatusOr<Metrics> Step(const Batch& batch) {
    return Step(std::span<const Batch>(&batch, 1));
  }

  // Scores held-out data (images in DataRange, labels for conditional models
  // and classifiers), in chunks of eval_batch_size, in eval mode without
  // gradients; the trainer's training state (BatchNorm statistics, RNG
  // stream) is unchanged. Noise comes from a generator seeded by trial_seed
  // alone, so every evaluation scores the same z.
  //   VAE:        test/recon, test/kl, test/neg_elbo (recon + kl),
  //               test/loss (recon + kl_weight * kl); per image.
  //   GAN (BCE):  test/d_real, test/d_fake (mean D probabilities on real and
  //               on config.eval_samples generated images), test/d_accuracy
  //               (fraction of real with D > 1/2 and fake with D < 1/2),
  //               test/jsd = max(0, log 2 + (E log D(x) + E log(1 - D(G(z)))) / 2).
  //   WGAN(-GP):  test/d_real, test/d_fake (mean scores), test/wasserstein
  //               (mean real - mean fake: the EMD estimate).
  //   classifier: test/accuracy, test/ce.
  // INVALID_ARGUMENT for an empty or malformed batch.
  absl::StatusOr<Metrics> Evaluate(const Batch& held_out);

  // Renders images from `noise` [n, latent] (any device): GAN generators and
  // VAE decoders, in eval mode. `labels` [n] int64 for conditional models;
  // undefined means 0, 1, ..., 9, 0, ... Returns float32 [n, C, H, W] on CPU
  // in DataRange(objective) (clamped). FAILED_PRECONDITION for classifiers.
  absl::StatusOr<torch::Tensor> Generate(const torch::Tensor& noise,
                                         const torch::Tensor& labels = {});

  // The same [n, latent] N(0, 1) noise for every call with the same n (a
  // function of trial_seed only): the samples' fixed z. CPU.
  torch::Tensor FixedNoise(int64_t n) const;

  // The parameters of `which` (empty where the objective has no such group),
  // in the order GradientSync sees them.
  std::vector<torch::Tensor> Parameters(ParameterGroup which) const;

  // Completed steps (restored by checkpoints).
  int64_t step() const { return step_; }
  const ModelBundle& bundle() const { return bundle_; }
  const TrialConfig& config() const { return config_; }
  const torch::Device& device() const { return options_.device; }

  // models/checkpoint_state.h: modules, optimizers and the step counter.
  absl::Status SaveState(torch::serialize::OutputArchive& archive) const;
  absl::Status LoadState(torch::serialize::InputArchive& archive);

 protected:
  Trainer(ModelBundle bundle, TrialConfig config, TrainerOptions options, int batches_per_step);

  virtual absl::StatusOr<Metrics> DoStep(std::span<const Batch> batches) = 0;
  virtual absl::StatusOr<Metrics> DoEvaluate(const Batch& held_out) = 0;
  virtual torch::Tensor DoGenerate(const torch::Tensor& noise, const torch::Tensor& labels) = 0;
  // Optimizers by name ("generator", "critic", "model"), for checkpoints.
  virtual std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() const = 0;

  // The step's noise stream (reseeded by Step).
  at::Generator& noise_generator() { return noise_gen_; }
  // Noise for `n` samples of this rank's batch: when n is this rank's share
  // of the global batch, the noise of the WHOLE global batch is drawn (the
  // same on every rank) and this rank's rows are returned, so N ranks compute
  // exactly what one rank computes on the global batch. Otherwise n rows are
  // drawn. N(0, 1), or U[0, 1) if `uniform`; shape [n, per_sample...].
  torch::Tensor StepNoise(int64_t n, std::vector<int64_t> per_sample, bool uniform = false);
  // N(0, 1) [n, latent] from the step's stream (StepNoise), on the device.
  torch::Tensor Noise(int64_t n);
  // Uniform labels [n] in [0, num_classes) from `gen`, on the device.
  torch::Tensor RandomLabels(int64_t n, at::Generator& gen);
  // A CPU generator seeded from trial_seed and `stream` only.
  at::Generator StreamGenerator(uint64_t stream) const;
  // OK if finite, else FAILED_PRECONDITION "non-finite <name> at step <step>".
  absl::Status CheckFinite(const std::string& name, double value) const;
  void Sync(std::vector<torch::Tensor>& params) { sync_->AllReduceGradients(params); }
  // Puts every module in train (true) or eval (false) mode.
  void SetTraining(bool training);

  ModelBundle bundle_;
  TrialConfig config_;
  TrainerOptions options_;

 private:
  absl::Status ValidateBatch(const Batch& batch, const char* what) const;
  void ReseedForStep();

  int batches_per_step_;
  GradientSync* sync_;
  LocalGradientSync local_sync_;
  at::Generator noise_gen_;
  int64_t step_ = 0;
};

// Builds the trainer for bundle.objective: moves the bundle to
// options.device and creates its optimizer(s) from config.optimizer.
// INVALID_ARGUMENT for bad settings (optimizer, recon_loss, critic_iters < 1,
// clip_value <= 0 for WGAN, gp_weight < 0, rank outside [0, world_size)).
absl::StatusOr<std::unique_ptr<Trainer>> MakeTrainer(ModelBundle bundle, const TrialConfig& config,
                                                     TrainerOptions options = {});

// Per-objective constructors MakeTrainer dispatches to (trainer_vae.cpp,
// trainer_gan.cpp, trainer.cpp); same contract.
absl::StatusOr<std::unique_ptr<Trainer>> MakeVaeTrainer(ModelBundle bundle,
                                                        const TrialConfig& config,
                                                        TrainerOptions options);
absl::StatusOr<std::unique_ptr<Trainer>> MakeGanTrainer(ModelBundle bundle,
                                                        const TrialConfig& config,
                                                        TrainerOptions options);
absl::StatusOr<std::unique_ptr<Trainer>> MakeClassifierTrainer(ModelBundle bundle,
                                                               const TrialConfig& config,
                                                               TrainerOptions options);

// A 64-bit mix of the inputs (splitmix64 finaliser), for seeding streams.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

}  // namespace gridrun::models
