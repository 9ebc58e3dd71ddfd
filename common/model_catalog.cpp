#include "common/model_catalog.h"

namespace gridrun {

std::string_view ObjectiveName(Objective objective) {
  switch (objective) {
    case Objective::kVae: return "vae";
    case Objective::kGan: return "gan";
    case Objective::kWgan: return "wgan";
    case Objective::kWganGp: return "wgan-gp";
    case Objective::kClassifier: return "classifier";
  }
  return "unknown";
}

const std::vector<DatasetInfo>& DatasetCatalog() {
  static const std::vector<DatasetInfo> kDatasets = {
      {"mnist", 1, 28, 28, 10},
      {"fashion-mnist", 1, 28, 28, 10},
      {"cifar10", 3, 32, 32, 10},
  };
  return kDatasets;
}

const DatasetInfo* FindDataset(std::string_view name) {
  for (const auto& d : DatasetCatalog()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

namespace {
template <typename Table>
std::string JoinNames(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}
}  // namespace

std::string DatasetNames() { return JoinNames(DatasetCatalog()); }

OptimizerConfig DefaultOptimizer(Objective objective) {
  // name, lr, beta1, beta2 (momentum and weight_decay 0).
  switch (objective) {
    case Objective::kGan:
    case Objective::kWganGp:
      return OptimizerConfig{"adam", 2e-4, 0.5, 0.999};
    case Objective::kWgan:
      return OptimizerConfig{"rmsprop", 5e-5, 0.5, 0.999};
    case Objective::kVae:
    case Objective::kClassifier:
      return OptimizerConfig{"adam", 1e-3, 0.9, 0.999};
  }
  return OptimizerConfig{};
}

int DefaultCriticIters(Objective objective) {
  return objective == Objective::kWgan || objective == Objective::kWganGp ? 5 : 1;
}

void ApplyModelDefaults(const ModelInfo& model, TrialConfig& config) {
  config.latent_size = model.default_latent_size;
  config.width = model.default_width;
  config.depth = model.default_depth;
  config.critic_iters = DefaultCriticIters(model.objective);
  config.optimizer = DefaultOptimizer(model.objective);
}

}  // namespace gridrun
