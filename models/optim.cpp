#include "models/optim.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gridrun::models {

absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    const OptimizerConfig& config, std::vector<torch::Tensor> params) {
  if (params.empty()) return absl::InvalidArgumentError("optimizer: no parameters to optimize");
  if (!(config.lr > 0) || !std::isfinite(config.lr)) {
    return absl::InvalidArgumentError(absl::StrCat("optimizer.lr: must be > 0, got ", config.lr));
  }
  if (!(config.momentum >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("optimizer.momentum: must be >= 0, got ", config.momentum));
  }
  if (!(config.weight_decay >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("optimizer.weight_decay: must be >= 0, got ", config.weight_decay));
  }
  try {
    if (config.name == "adam") {
      for (double beta : {config.beta1, config.beta2}) {
        if (!(beta >= 0 && beta < 1)) {
          return absl::InvalidArgumentError(
              absl::StrCat("optimizer.betas: must be in [0, 1), got ", beta));
        }
      }
      return std::make_unique<torch::optim::Adam>(std::move(params),
                                                  torch::optim::AdamOptions(config.lr)
                                                      .betas({config.beta1, config.beta2})
                                                      .weight_decay(config.weight_decay));
    }
    if (config.name == "rmsprop") {
      return std::make_unique<torch::optim::RMSprop>(std::move(params),
                                                     torch::optim::RMSpropOptions(config.lr)
                                                         .momentum(config.momentum)
                                                         .weight_decay(config.weight_decay));
    }
    if (config.name == "sgd") {
      return std::make_unique<torch::optim::SGD>(std::move(params),
                                                 torch::optim::SGDOptions(config.lr)
                                                     .momentum(config.momentum)
                                                     .weight_decay(config.weight_decay));
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("optimizer: ", e.what()));
  }
  return absl::InvalidArgumentError(absl::StrCat("optimizer.name: '", config.name,
                                                 "' is not allowed; allowed: adam, rmsprop, sgd"));
}

}  // namespace gridrun::models
