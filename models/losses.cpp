#include "models/losses.h"

#include <string>

#include "absl/status/status.h"

namespace gridrun::models {

namespace F = torch::nn::functional;

absl::StatusOr<ReconLoss> ParseReconLoss(std::string_view name) {
  if (name == "bce") return ReconLoss::kBce;
  if (name == "mse") return ReconLoss::kMse;
  return absl::InvalidArgumentError("recon_loss: '" + std::string(name) +
                                    "' is not allowed; allowed: bce, mse");
}

torch::Tensor ReconstructionLoss(const torch::Tensor& logits, const torch::Tensor& target,
                                 ReconLoss kind) {
  const double batch = static_cast<double>(logits.size(0));
  if (kind == ReconLoss::kBce) {
    return F::binary_cross_entropy_with_logits(
               logits, target,
               F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
           batch;
  }
  return F::mse_loss(torch::sigmoid(logits), target, F::MSELossFuncOptions(torch::kSum)) / batch;
}

torch::Tensor KlDivergence(const torch::Tensor& mu, const torch::Tensor& logvar) {
  return -0.5 * torch::sum(1 + logvar - mu.pow(2) - logvar.exp()) / static_cast<double>(mu.size(0));
}

VaeLossTerms VaeLoss(const VaeOutput& out, const torch::Tensor& target, ReconLoss kind,
                     double kl_weight) {
  VaeLossTerms terms;
  terms.recon = ReconstructionLoss(out.recon_logits, target, kind);
  terms.kl = KlDivergence(out.mu, out.logvar);
  terms.total = terms.recon + kl_weight * terms.kl;
  return terms;
}

torch::Tensor GanDiscriminatorLoss(const torch::Tensor& real_logits,
                                   const torch::Tensor& fake_logits) {
  return F::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
         F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
}

torch::Tensor GanGeneratorLoss(const torch::Tensor& fake_logits) {
  return F::binary_cross_entropy_with_logits(fake_logits, torch::ones_like(fake_logits));
}

torch::Tensor WassersteinCriticLoss(const torch::Tensor& real_scores,
                                    const torch::Tensor& fake_scores) {
  return fake_scores.mean() - real_scores.mean();
}

torch::Tensor WassersteinGeneratorLoss(const torch::Tensor& fake_scores) {
  return -fake_scores.mean();
}

torch::Tensor GradientPenalty(Critic& critic, const torch::Tensor& real, const torch::Tensor& fake,
                              const torch::Tensor& labels, const torch::Tensor& alpha) {
  torch::Tensor mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(true);
  torch::Tensor scores = critic->forward(mixed, labels);
  torch::Tensor grad = torch::autograd::grad({scores}, {mixed}, {torch::ones_like(scores)},
                                             /*retain_graph=*/true, /*create_graph=*/true)[0];
  // sqrt(sum g^2 + eps): the plain norm's gradient is NaN at g == 0.
  torch::Tensor norm = (grad.reshape({grad.size(0), -1}).pow(2).sum(1) + 1e-12).sqrt();
  return (norm - 1).pow(2).mean();
}

}  // namespace gridrun::models
