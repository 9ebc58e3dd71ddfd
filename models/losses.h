// The training objectives as tensor functions: VAE reconstruction + KL, GAN
// binary cross-entropy (non-saturating generator), Wasserstein critic /
// generator losses and the WGAN-GP gradient penalty.
//
// Conventions: every loss is a per-image mean, so gradients averaged across
// data-parallel ranks equal the global-batch gradient. Image sums (the VAE's
// reconstruction) are summed over pixels first. Critic outputs are raw
// scores / logits [B, 1]; BCE losses apply the sigmoid inside
// binary_cross_entropy_with_logits. Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <string_view>

#include "absl/status/statusor.h"
#include "models/networks.h"

namespace gridrun::models {

enum class ReconLoss { kBce, kMse };

// "bce" | "mse"; INVALID_ARGUMENT otherwise (names the allowed values).
absl::StatusOr<ReconLoss> ParseReconLoss(std::string_view name);

// Reconstruction error of `logits` (decoder output before the sigmoid) against
// `target` in [0, 1]: BCE on the logits, or squared error of sigmoid(logits);
// summed over each image's pixels and averaged over the batch.
torch::Tensor ReconstructionLoss(const torch::Tensor& logits, const torch::Tensor& target,
                                 ReconLoss kind);

// KL(q(z|x) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) per image,
// averaged over the batch.
torch::Tensor KlDivergence(const torch::Tensor& mu, const torch::Tensor& logvar);

struct VaeLossTerms {
  torch::Tensor recon;
  torch::Tensor kl;
  torch::Tensor total;  // recon + kl_weight * kl
};
VaeLossTerms VaeLoss(const VaeOutput& out, const torch::Tensor& target, ReconLoss kind,
                     double kl_weight);

// BCE discriminator loss: BCE(D(x), 1) + BCE(D(G(z)), 0) on logits.
torch::Tensor GanDiscriminatorLoss(const torch::Tensor& real_logits,
                                   const torch::Tensor& fake_logits);
// Non-saturating generator loss: BCE(D(G(z)), 1) = -mean log sigmoid(D(G(z))).
torch::Tensor GanGeneratorLoss(const torch::Tensor& fake_logits);

// Critic loss mean D(G(z)) - mean D(x) (minimised; its negation estimates
// the Wasserstein-1 distance). Generator loss -mean D(G(z)).
torch::Tensor WassersteinCriticLoss(const torch::Tensor& real_scores,
                                    const torch::Tensor& fake_scores);
torch::Tensor WassersteinGeneratorLoss(const torch::Tensor& fake_scores);

// Gulrajani et al.: mean over images of (||grad_x D(x_hat)||_2 - 1)^2 with
// x_hat = alpha * real + (1 - alpha) * fake, alpha [B, 1, 1, 1] in [0, 1].
// Built with create_graph, so backward() of a loss containing it reaches the
// critic's parameters. `labels` for conditional critics (else undefined).
torch::Tensor GradientPenalty(Critic& critic, const torch::Tensor& real, const torch::Tensor& fake,
                              const torch::Tensor& labels, const torch::Tensor& alpha);

}  // namespace gridrun::models
