// The VAE trainer: reconstruction (BCE or MSE, summed over pixels, averaged
// over the batch) + kl_weight * KL, one optimizer over encoder and decoder.
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/losses.h"
#include "models/optim.h"
#include "models/trainer.h"

namespace gridrun::models {
namespace {

constexpr uint64_t kVaeEvalStream = 10;

class VaeTrainer final : public Trainer {
 public:
  VaeTrainer(ModelBundle bundle, TrialConfig config, TrainerOptions options, ReconLoss recon,
             std::unique_ptr<torch::optim::Optimizer> optimizer)
      : Trainer(std::move(bundle), std::move(config), options, /*batches_per_step=*/1),
        recon_(recon),
        params_(Parameters(ParameterGroup::kAll)),
        optimizer_(std::move(optimizer)) {}

 protected:
  absl::StatusOr<Metrics> DoStep(std::span<const Batch> batches) override {
    torch::Tensor x = batches[0].images.to(device());
    optimizer_->zero_grad();
    VaeOutput out = bundle_.vae->forward_with_noise(x, Noise(x.size(0)));
    VaeLossTerms loss = VaeLoss(out, x, recon_, config_.kl_weight);
    // One device-to-host copy for the NaN guard and the reported terms.
    torch::Tensor stats = torch::stack({loss.total.detach(), loss.recon.detach(), loss.kl.detach()})
                              .to(torch::kCPU, torch::kFloat64);
    auto values = stats.accessor<double, 1>();
    Metrics metrics = {
        {"loss/total", values[0]}, {"loss/recon", values[1]}, {"loss/kl", values[2]}};
    RETURN_IF_ERROR(CheckFinite("loss/total", values[0]));
    loss.total.backward();
    Sync(params_);
    optimizer_->step();
    return metrics;
  }

  absl::StatusOr<Metrics> DoEvaluate(const Batch& held_out) override {
    at::Generator gen = StreamGenerator(kVaeEvalStream);
    const int64_t n = held_out.images.size(0);
    double recon_sum = 0, kl_sum = 0;
    for (int64_t start = 0; start < n; start += options_.eval_batch_size) {
      const int64_t len = std::min(options_.eval_batch_size, n - start);
      torch::Tensor x = held_out.images.narrow(0, start, len).to(device());
      VaeOutput out = bundle_.vae->forward(x, gen);
      // The loss functions average over the chunk; weight back by its size.
      recon_sum += ReconstructionLoss(out.recon_logits, x, recon_).item<double>() * len;
      kl_sum += KlDivergence(out.mu, out.logvar).item<double>() * len;
    }
    const double recon = recon_sum / n, kl = kl_sum / n;
    return Metrics{{"test/recon", recon},
                   {"test/kl", kl},
                   {"test/neg_elbo", recon + kl},
                   {"test/loss", recon + config_.kl_weight * kl}};
  }

  torch::Tensor DoGenerate(const torch::Tensor& noise, const torch::Tensor&) override {
    return bundle_.vae->decode(noise);
  }

  std::vector<std::pair<std::string, torch::optim::Optimizer*>> Optimizers() const override {
    return {{"model", optimizer_.get()}};
  }

 private:
  ReconLoss recon_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Trainer>> MakeVaeTrainer(ModelBundle bundle,
                                                        const TrialConfig& config,
                                                        TrainerOptions options) {
  if (!bundle.vae) {
    return absl::InvalidArgumentError(absl::StrCat("'", bundle.name, "' is not a VAE"));
  }
  ASSIGN_OR_RETURN(const ReconLoss recon, ParseReconLoss(config.recon_loss));
  if (!(config.kl_weight >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kl_weight: must be >= 0, got ", config.kl_weight));
  }
  ASSIGN_OR_RETURN(auto optimizer, MakeOptimizer(config.optimizer, bundle.vae->parameters()));
  return std::unique_ptr<Trainer>(
      new VaeTrainer(std::move(bundle), config, options, recon, std::move(optimizer)));
}

}  // namespace gridrun::models
