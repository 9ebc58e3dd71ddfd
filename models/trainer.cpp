// Trainer base (step protocol, RNG streams, checkpoint state), the classifier
// trainer and MakeTrainer. VAE: trainer_vae.cpp; GAN family: trainer_gan.cpp.
#include "models/trainer.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/optim.h"

namespace gridrun::models {
namespace {

// RNG stream ids mixed into the seeds (see the header's "Randomness").
constexpr uint64_t kStepNoiseStream = 1;
constexpr uint64_t kStepGlobalStream = 2;
constexpr uint64_t kFixedNoiseStream = 3;
constexpr int64_t kStateFormat = 1;

void SeedGenerator(at::Generator gen, uint64_t seed) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
}

std::string ModuleKey(const std::string& role) { return "module_" + role; }
std::string OptimizerKey(const std::string& name) { return "optimizer_" + name; }

class ClassifierTrainer final : public Trainer {
 public:
  ClassifierTrainer(ModelBundle bundle, TrialConfig config, TrainerOptions options,
                    std::unique_ptr<torch::optim::Optimizer> optimizer)
      : Trainer(std::move(bundle), std::move(config), options, /*batches_per_step=*/1),
        params_(Parameters(ParameterGroup::kAll)),
        optimizer_(std::move(optimizer)) {}

 protected:
  absl::StatusOr<Metrics> DoStep(std::span<const Batch> batches) override {
    const Batch& batch = batches[0];
    torch::Tensor x = batch.images.to(device());
    torch::Tensor y = batch.labels.to(device());
    optimizer_->zero_grad();
    torch::Tensor logits = bundle_.classifier->forward(x);
    torch::Tensor ce = torch::nn::functional::cross_entropy(logits, y);
    const double ce_value = ce.item<double>();
    RETURN_IF_ERROR(CheckFinite("loss/ce", ce_value));
    ce.backward();
    Sync(params_);
    optimizer_->step();
    const double accuracy = logits.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
    return Metrics{{"loss/ce", ce_value}, {"accuracy", accuracy}};
  }

  absl::StatusOr<Metrics> DoEvaluate(const Batch& held_out) override {
    const int64_t n = held_out.images.size(0);
    double ce_sum = 0, correct = 0;
    for (int64_t start = 0; start < n; start += options_.eval_batch_size) {
      const int64_t len = std::min(options_.eval_batch_size, n - start);
      torch::Tensor x = held_out.images.narrow(0, start, len).to(device());
      torch::Tensor y = held_out.labels.narrow(0, start, len).to(device());
      torch::Tensor logits = bundle_.classifier->forward(x);
      ce_sum +=
          torch::nn::functional::cross_entropy(
              logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
              .item<double>();
      correct += logits.argmax(1).eq(y).sum().item<double>();
    }
    return Metrics{{"test/accuracy", correct / n}, {"test/ce", ce_sum / n}};
  }

  torch::Tensor DoGenerate(const torch::Tensor&, const torch::Tensor&) override {
    return {};  // unreachable: Generate rejects classifiers
  }

  std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() const override {
    return {{"model", optimizer_.get()}};
  }

 private:
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

}  // namespace

uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t h = 0x9E3779B97F4A7C15ULL;
  for (uint64_t v : {a, b, c, d}) {
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31;
  }
  return h;
}

Range DataRange(Objective objective) {
  switch (objective) {
    case Objective::kGan:
    case Objective::kWgan:
    case Objective::kWganGp:
      return Range::kMinusOneOne;
    case Objective::kVae:
    case Objective::kClassifier:
      return Range::kZeroOne;
  }
  return Range::kZeroOne;
}

Trainer::Trainer(ModelBundle bundle, TrialConfig config, TrainerOptions options,
                 int batches_per_step)
    : bundle_(std::move(bundle)),
      config_(std::move(config)),
      options_(options),
      batches_per_step_(batches_per_step),
      sync_(options.gradient_sync != nullptr ? options.gradient_sync : &local_sync_),
      noise_gen_(at::detail::createCPUGenerator(
          MixSeed(static_cast<uint64_t>(config_.trial_seed), 0, 0, kStepNoiseStream))) {
  SetTraining(true);
}

void Trainer::SetTraining(bool training) {
  for (const auto& [role, module] : bundle_.Modules()) module->train(training);
}

void Trainer::ReseedForStep() {
  const uint64_t seed = static_cast<uint64_t>(config_.trial_seed);
  const uint64_t rank = static_cast<uint64_t>(options_.rank);
  const uint64_t step = static_cast<uint64_t>(step_);
  // The step's noise stream is the same on every rank: each rank draws the
  // noise of the whole global batch and keeps its own rows (StepNoise).
  SeedGenerator(noise_gen_, MixSeed(seed, 0, step, kStepNoiseStream));
  // Dropout draws from torch's default generator of the device.
  const uint64_t global = MixSeed(seed, rank, step, kStepGlobalStream);
  SeedGenerator(at::detail::getDefaultCPUGenerator(), global);
  if (options_.device.is_cuda()) {
    SeedGenerator(at::globalContext().defaultGenerator(options_.device), global);
  }
}

at::Generator Trainer::StreamGenerator(uint64_t stream) const {
  return at::detail::createCPUGenerator(MixSeed(static_cast<uint64_t>(config_.trial_seed), stream));
}

torch::Tensor Trainer::StepNoise(int64_t n, std::vector<int64_t> per_sample, bool uniform) {
  // This rank's rows of the global batch: ranks before it hold the first
  // LocalBatchSize(...) rows each (the split ShardIndices makes).
  const int64_t global = config_.batch_size;
  const bool sharded = LocalBatchSize(global, options_.rank, options_.world_size) == n;
  int64_t offset = 0;
  if (sharded) {
    for (int r = 0; r < options_.rank; ++r) {
      offset += LocalBatchSize(global, r, options_.world_size);
    }
  }
  std::vector<int64_t> shape = {sharded ? global : n};
  shape.insert(shape.end(), per_sample.begin(), per_sample.end());
  torch::Tensor all = uniform ? torch::rand(shape, noise_gen_, torch::kFloat32)
                              : torch::randn(shape, noise_gen_, torch::kFloat32);
  if (sharded) all = all.narrow(0, offset, n);
  return all.to(device());
}

torch::Tensor Trainer::Noise(int64_t n) { return StepNoise(n, {bundle_.latent_size}); }

torch::Tensor Trainer::RandomLabels(int64_t n, at::Generator& gen) {
  return torch::randint(bundle_.num_classes, {n}, gen, torch::kLong).to(device());
}

torch::Tensor Trainer::FixedNoise(int64_t n) const {
  at::Generator gen = StreamGenerator(kFixedNoiseStream);
  return torch::randn({n, std::max<int64_t>(bundle_.latent_size, 1)}, gen, torch::kFloat32);
}

absl::Status Trainer::CheckFinite(const std::string& name, double value) const {
  if (std::isfinite(value)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("non-finite ", name, " at step ", step_));
}

std::vector<torch::Tensor> Trainer::Parameters(ParameterGroup which) const {
  std::vector<torch::Tensor> out;
  for (const auto& [role, module] : bundle_.Modules()) {
    const bool take = which == ParameterGroup::kAll ||
                      (which == ParameterGroup::kGenerator && role == "generator") ||
                      (which == ParameterGroup::kCritic && role == "critic");
    if (!take) continue;
    for (const auto& p : module->parameters()) out.push_back(p);
  }
  return out;
}

absl::Status Trainer::ValidateBatch(const Batch& batch, const char* what) const {
  const ImageShape& im = bundle_.image;
  if (!batch.images.defined() || batch.images.dim() != 4 || batch.images.size(0) < 1 ||
      batch.images.size(1) != im.channels || batch.images.size(2) != im.height ||
      batch.images.size(3) != im.width || !batch.images.is_floating_point()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": images must be float [B>=1, ", im.channels, ", ", im.height, ", ", im.width,
        "], got ",
        batch.images.defined() ? c10::str(batch.images.sizes(), " ", batch.images.dtype())
                               : std::string("undefined")));
  }
  const bool needs_labels = bundle_.conditional || bundle_.objective == Objective::kClassifier;
  if (needs_labels &&
      (!batch.labels.defined() || batch.labels.dim() != 1 ||
       batch.labels.size(0) != batch.images.size(0) || batch.labels.is_floating_point())) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": model '", bundle_.name, "' needs int64 labels [", batch.images.size(0), "]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Metrics> Trainer::Step(std::span<const Batch> batches) {
  if (static_cast<int>(batches.size()) != batches_per_step_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Step: expected ", batches_per_step_, " batches (critic_iters), got ", batches.size()));
  }
  for (const Batch& batch : batches) {
    RETURN_IF_ERROR(ValidateBatch(batch, "Step"));
  }
  try {
    ReseedForStep();
    SetTraining(true);
    absl::StatusOr<Metrics> result = DoStep(batches);
    if (result.ok()) ++step_;
    return result;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("step ", step_, ": ", e.what()));
  }
}

absl::StatusOr<Metrics> Trainer::Evaluate(const Batch& held_out) {
  RETURN_IF_ERROR(ValidateBatch(held_out, "Evaluate"));
  try {
    SetTraining(false);
    torch::NoGradGuard no_grad;
    absl::StatusOr<Metrics> result = DoEvaluate(held_out);
    SetTraining(true);
    return result;
  } catch (const std::exception& e) {
    SetTraining(true);
    return absl::InternalError(absl::StrCat("evaluate: ", e.what()));
  }
}

absl::StatusOr<torch::Tensor> Trainer::Generate(const torch::Tensor& noise,
                                                const torch::Tensor& labels) {
  if (bundle_.objective == Objective::kClassifier) {
    return absl::FailedPreconditionError(
        absl::StrCat("Generate: '", bundle_.name, "' is a classifier"));
  }
  if (!noise.defined() || noise.dim() != 2 || noise.size(1) != bundle_.latent_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("Generate: noise must be [n, ", bundle_.latent_size, "]"));
  }
  const int64_t n = noise.size(0);
  if (labels.defined() && (labels.dim() != 1 || labels.size(0) != n)) {
    return absl::InvalidArgumentError(absl::StrCat("Generate: labels must be [", n, "]"));
  }
  try {
    SetTraining(false);
    torch::NoGradGuard no_grad;
    torch::Tensor y;
    if (bundle_.conditional) {
      y = labels.defined() ? labels.to(torch::kLong)
                           : torch::arange(n, torch::kLong).remainder(bundle_.num_classes);
    }
    std::vector<torch::Tensor> chunks;
    for (int64_t start = 0; start < n; start += options_.eval_batch_size) {
      const int64_t len = std::min(options_.eval_batch_size, n - start);
      torch::Tensor z = noise.narrow(0, start, len).to(torch::kFloat32).to(device());
      torch::Tensor yl = y.defined() ? y.narrow(0, start, len).to(device()) : torch::Tensor();
      chunks.push_back(DoGenerate(z, yl).to(torch::kCPU));
    }
    SetTraining(true);
    torch::Tensor images =
        n > 0
            ? torch::cat(chunks)
            : torch::empty({0, bundle_.image.channels, bundle_.image.height, bundle_.image.width});
    return DataRange(bundle_.objective) == Range::kMinusOneOne ? images.clamp(-1, 1)
                                                               : images.clamp(0, 1);
  } catch (const std::exception& e) {
    SetTraining(true);
    return absl::InternalError(absl::StrCat("generate: ", e.what()));
  }
}

absl::Status Trainer::SaveState(torch::serialize::OutputArchive& archive) const {
  try {
    archive.write("format", c10::IValue(kStateFormat));
    archive.write("model", c10::IValue(bundle_.name));
    archive.write("trial_seed", c10::IValue(static_cast<int64_t>(config_.trial_seed)));
    archive.write("step", c10::IValue(step_));
    for (const auto& [role, module] : bundle_.Modules()) {
      torch::serialize::OutputArchive sub(archive.compilation_unit());
      module->save(sub);
      archive.write(ModuleKey(role), sub);
    }
    for (const auto& [name, optimizer] : Optimizers()) {
      torch::serialize::OutputArchive sub(archive.compilation_unit());
      optimizer->save(sub);
      archive.write(OptimizerKey(name), sub);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("saving trainer state: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status Trainer::LoadState(torch::serialize::InputArchive& archive) {
  try {
    c10::IValue format, model, seed, step;
    if (!archive.try_read("format", format) || !archive.try_read("model", model) ||
        !archive.try_read("trial_seed", seed) || !archive.try_read("step", step)) {
      return absl::DataLossError("trainer state: missing format/model/trial_seed/step");
    }
    if (format.toInt() != kStateFormat) {
      return absl::FailedPreconditionError(
          absl::StrCat("trainer state: format ", format.toInt(), ", expected ", kStateFormat));
    }
    if (model.toStringRef() != bundle_.name) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trainer state is for model '", model.toStringRef(), "', not '", bundle_.name, "'"));
    }
    if (seed.toInt() != config_.trial_seed) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trainer state has trial_seed ", seed.toInt(), ", this trial ", config_.trial_seed));
    }
    for (const auto& [role, module] : bundle_.Modules()) {
      torch::serialize::InputArchive sub;
      if (!archive.try_read(ModuleKey(role), sub)) {
        return absl::DataLossError(absl::StrCat("trainer state: no ", role, " module"));
      }
      module->load(sub);
    }
    for (const auto& [name, optimizer] : Optimizers()) {
      torch::serialize::InputArchive sub;
      if (!archive.try_read(OptimizerKey(name), sub)) {
        return absl::DataLossError(absl::StrCat("trainer state: no ", name, " optimizer"));
      }
      optimizer->load(sub);
    }
    step_ = step.toInt();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("loading trainer state: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Trainer>> MakeClassifierTrainer(ModelBundle bundle,
                                                               const TrialConfig& config,
                                                               TrainerOptions options) {
  if (!bundle.classifier) {
    return absl::InvalidArgumentError(absl::StrCat("'", bundle.name, "' is not a classifier"));
  }
  ASSIGN_OR_RETURN(auto optimizer,
                   MakeOptimizer(config.optimizer, bundle.classifier->parameters()));
  return std::unique_ptr<Trainer>(
      new ClassifierTrainer(std::move(bundle), config, options, std::move(optimizer)));
}

absl::StatusOr<std::unique_ptr<Trainer>> MakeTrainer(ModelBundle bundle, const TrialConfig& config,
                                                     TrainerOptions options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options.rank, " outside world of ", options.world_size));
  }
  if (options.eval_batch_size < 1) {
    return absl::InvalidArgumentError("eval_batch_size must be >= 1");
  }
  try {
    bundle.To(options.device);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("moving '", bundle.name, "' to ", options.device.str(), ": ", e.what()));
  }
  switch (bundle.objective) {
    case Objective::kVae:
      return MakeVaeTrainer(std::move(bundle), config, options);
    case Objective::kGan:
    case Objective::kWgan:
    case Objective::kWganGp:
      return MakeGanTrainer(std::move(bundle), config, options);
    case Objective::kClassifier:
      return MakeClassifierTrainer(std::move(bundle), config, options);
  }
  return absl::InvalidArgumentError("unknown objective");
}

}  // namespace gridrun::models
