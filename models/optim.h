// Optimizers from a trial's OptimizerConfig (adam | rmsprop | sgd, with lr,
// betas, momentum, weight_decay). GAN trainers build one for the generator
// and one for the critic. Thread-safety: the returned optimizer belongs to
// the trainer's thread.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/trial_config.h"

namespace gridrun::models {

// adam: Adam(lr, betas (beta1, beta2), weight_decay); rmsprop: RMSprop(lr,
// momentum, weight_decay; alpha 0.99, eps 1e-8 as in PyTorch); sgd: SGD(lr,
// momentum, weight_decay). INVALID_ARGUMENT (naming the field) for an
// unknown name, lr <= 0 or not finite, betas outside [0, 1), negative
// momentum or weight_decay, or no parameters.
absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    const OptimizerConfig& config, std::vector<torch::Tensor> params);

}  // namespace gridrun::models
