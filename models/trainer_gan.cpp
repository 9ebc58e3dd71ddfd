// The GAN-family trainer: BCE GAN (non-saturating generator), WGAN with
// weight clipping, WGAN-GP, and their conditional variants.
//
// One Step, with k = critic_iters batches:
//  for i in 0..k-1 (critic step i, real batch i):
//    z ~ N(0, 1); fake = G(z, y_i) with y_i the batch's labels (conditional);
//      only the last fake keeps its graph (the generator step reuses it, as
//      pytorch/examples dcgan does), earlier ones are made under no_grad;
//    loss/d = critic loss on (real_i, fake.detach()) [+ gp_weight * GP];
//    backward; GradientSync(critic params); critic optimizer step;
//    WGAN: clamp every critic parameter to [-clip_value, clip_value].
//  generator step: loss/g on the critic's score of the last fake (critic
//    parameters frozen so backward skips their gradients); backward;
//    GradientSync(generator params); generator optimizer step.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/losses.h"
#include "models/optim.h"
#include "models/trainer.h"

namespace gridrun::models {
namespace {

constexpr uint64_t kGanEvalStream = 11;

// Sets requires_grad on `params` for its lifetime, then restores true.
class FreezeGuard {
 public:
  explicit FreezeGuard(std::vector<torch::Tensor>& params) : params_(params) {
    for (auto& p : params_) p.requires_grad_(false);
  }
  ~FreezeGuard() {
    for (auto& p : params_) p.requires_grad_(true);
  }
  FreezeGuard(const FreezeGuard&) = delete;
  FreezeGuard& operator=(const FreezeGuard&) = delete;

 private:
  std::vector<torch::Tensor>& params_;
};

class GanTrainer final : public Trainer {
 public:
  GanTrainer(ModelBundle bundle, const TrialConfig& config, TrainerOptions options,
             std::unique_ptr<torch::optim::Optimizer> g_opt,
             std::unique_ptr<torch::optim::Optimizer> d_opt)
      : Trainer(std::move(bundle), config, options, config.critic_iters),
        objective_(bundle_.objective),
        g_params_(Parameters(ParameterGroup::kGenerator)),
        d_params_(Parameters(ParameterGroup::kCritic)),
        g_opt_(std::move(g_opt)),
        d_opt_(std::move(d_opt)) {}

 protected:
  absl::StatusOr<Metrics> DoStep(std::span<const Batch> batches) override {
    Generator& g = bundle_.generator;
    Critic& d = bundle_.critic;
    const bool bce = objective_ == Objective::kGan;
    const int k = static_cast<int>(batches.size());
    double loss_d = 0, d_real = 0, d_fake = 0, gp_total = 0;
    torch::Tensor fake, labels;

    for (int i = 0; i < k; ++i) {
      torch::Tensor real = batches[i].images.to(device());
      labels = bundle_.conditional ? batches[i].labels.to(device()) : torch::Tensor();
      torch::Tensor z = Noise(real.size(0));
      if (i == k - 1) {
        fake = g->forward(z, labels);
      } else {
        torch::NoGradGuard no_grad;
        fake = g->forward(z, labels);
      }
      d_opt_->zero_grad();
      torch::Tensor real_out = d->forward(real, labels);
      torch::Tensor fake_out = d->forward(fake.detach(), labels);
      torch::Tensor loss = bce ? GanDiscriminatorLoss(real_out, fake_out)
                               : WassersteinCriticLoss(real_out, fake_out);
      torch::Tensor gp;
      if (objective_ == Objective::kWganGp) {
        torch::Tensor alpha = StepNoise(real.size(0), {1, 1, 1}, /*uniform=*/true);
        gp = GradientPenalty(d, real, fake, labels, alpha);
        loss = loss + config_.gp_weight * gp;
      }
      // One device-to-host copy per critic step: the loss for the NaN guard
      // and the reported terms.
      torch::Tensor stats;
      {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> parts = {loss.detach(),
                                            (bce ? torch::sigmoid(real_out) : real_out).mean(),
                                            (bce ? torch::sigmoid(fake_out) : fake_out).mean()};
        if (gp.defined()) parts.push_back(gp.detach());
        stats = torch::stack(parts).to(torch::kCPU, torch::kFloat64);
      }
      auto values = stats.accessor<double, 1>();
      RETURN_IF_ERROR(CheckFinite("loss/d", values[0]));
      loss.backward();
      Sync(d_params_);
      d_opt_->step();
      if (objective_ == Objective::kWgan) {
        torch::NoGradGuard no_grad;
        for (auto& p : d_params_) p.clamp_(-config_.clip_value, config_.clip_value);
      }
      loss_d += values[0];
      d_real += values[1];
      d_fake += values[2];
      if (gp.defined()) gp_total += values[3];
    }

    g_opt_->zero_grad();
    double loss_g = 0;
    {
      FreezeGuard freeze(d_params_);
      torch::Tensor out = d->forward(fake, labels);
      torch::Tensor loss = bce ? GanGeneratorLoss(out) : WassersteinGeneratorLoss(out);
      loss_g = loss.item<double>();
      RETURN_IF_ERROR(CheckFinite("loss/g", loss_g));
      loss.backward();
    }
    Sync(g_params_);
    g_opt_->step();

    Metrics metrics = {
        {"loss/d", loss_d / k}, {"loss/g", loss_g}, {"d_real", d_real / k}, {"d_fake", d_fake / k}};
    if (!bce) metrics["wasserstein"] = (d_real - d_fake) / k;
    if (objective_ == Objective::kWganGp) metrics["loss/gp"] = gp_total / k;
    return metrics;
  }

  absl::StatusOr<Metrics> DoEvaluate(const Batch& held_out) override {
    Generator& g = bundle_.generator;
    Critic& d = bundle_.critic;
    const bool bce = objective_ == Objective::kGan;
    const int64_t chunk = options_.eval_batch_size;

    // Real images.
    const int64_t n_real = held_out.images.size(0);
    double real_sum = 0, real_log_d = 0, real_correct = 0;
    for (int64_t start = 0; start < n_real; start += chunk) {
      const int64_t len = std::min(chunk, n_real - start);
      torch::Tensor x = held_out.images.narrow(0, start, len).to(device());
      torch::Tensor y = bundle_.conditional ? held_out.labels.narrow(0, start, len).to(device())
                                            : torch::Tensor();
      torch::Tensor out = d->forward(x, y);
      if (bce) {
        real_sum += torch::sigmoid(out).sum().item<double>();
        real_log_d += torch::log_sigmoid(out).sum().item<double>();
        real_correct += out.gt(0).sum().item<double>();
      } else {
        real_sum += out.sum().item<double>();
      }
    }

    // Generated images: eval_samples of them (n_real when unset), from a
    // stream that is the same at every evaluation.
    at::Generator gen = StreamGenerator(kGanEvalStream);
    const int64_t n_fake = config_.eval_samples > 0 ? config_.eval_samples : n_real;
    double fake_sum = 0, fake_log_1md = 0, fake_correct = 0;
    for (int64_t start = 0; start < n_fake; start += chunk) {
      const int64_t len = std::min(chunk, n_fake - start);
      torch::Tensor z = torch::randn({len, bundle_.latent_size}, gen, torch::kFloat32).to(device());
      torch::Tensor y = bundle_.conditional ? RandomLabels(len, gen) : torch::Tensor();
      torch::Tensor out = d->forward(g->forward(z, y), y);
      if (bce) {
        fake_sum += torch::sigmoid(out).sum().item<double>();
        fake_log_1md += torch::log_sigmoid(-out).sum().item<double>();
        fake_correct += out.lt(0).sum().item<double>();
      } else {
        fake_sum += out.sum().item<double>();
      }
    }

    Metrics metrics = {{"test/d_real", real_sum / n_real}, {"test/d_fake", fake_sum / n_fake}};
    if (bce) {
      metrics["test/d_accuracy"] = (real_correct + fake_correct) / (n_real + n_fake);
      const double jsd = std::log(2.0) + 0.5 * (real_log_d / n_real + fake_log_1md / n_fake);
      metrics["test/jsd"] = std::max(0.0, jsd);
    } else {
      metrics["test/wasserstein"] = real_sum / n_real - fake_sum / n_fake;
    }
    return metrics;
  }

  torch::Tensor DoGenerate(const torch::Tensor& noise, const torch::Tensor& labels) override {
    return bundle_.generator->forward(noise, labels);
  }

  std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() const override {
    return {{"generator", g_opt_.get()}, {"critic", d_opt_.get()}};
  }

 private:
  Objective objective_;
  std::vector<torch::Tensor> g_params_;
  std::vector<torch::Tensor> d_params_;
  std::unique_ptr<torch::optim::Optimizer> g_opt_;
  std::unique_ptr<torch::optim::Optimizer> d_opt_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Trainer>> MakeGanTrainer(ModelBundle bundle,
                                                        const TrialConfig& config,
                                                        TrainerOptions options) {
  if (!bundle.generator || !bundle.critic) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", bundle.name, "' has no generator and critic"));
  }
  if (config.critic_iters < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("critic_iters: must be >= 1, got ", config.critic_iters));
  }
  if (bundle.objective == Objective::kWgan && !(config.clip_value > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("clip_value: must be > 0, got ", config.clip_value));
  }
  if (bundle.objective == Objective::kWganGp && !(config.gp_weight >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gp_weight: must be >= 0, got ", config.gp_weight));
  }
  ASSIGN_OR_RETURN(auto g_opt, MakeOptimizer(config.optimizer, bundle.generator->parameters()));
  ASSIGN_OR_RETURN(auto d_opt, MakeOptimizer(config.optimizer, bundle.critic->parameters()));
  return std::unique_ptr<Trainer>(
      new GanTrainer(std::move(bundle), config, options, std::move(g_opt), std::move(d_opt)));
}

}  // namespace gridrun::models
