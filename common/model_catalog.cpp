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

const std::vector<ModelInfo>& ModelCatalog() {
  // name, preset, objective, conditional, channels, size, latent, width,
  // depth, latent/width/depth adjustable, description
  static const std::vector<ModelInfo> kModels = {
      // Families: any data set, sized by the spec.
      {"vae-mlp", false, Objective::kVae, false, 0, 0, 20, 500, 1, true, true, true,
       "MLP VAE: depth hidden layers of width units"},
      {"vae-conv", false, Objective::kVae, false, 0, 0, 16, 32, 2, true, true, true,
       "convolutional VAE: depth stride-2 conv blocks starting at width channels"},
      {"gan-mlp", false, Objective::kGan, false, 0, 0, 100, 256, 2, true, true, true,
       "MLP GAN (BCE)"},
      {"dcgan", false, Objective::kGan, false, 0, 0, 100, 64, 3, true, true, false,
       "DCGAN (BatchNorm, transposed convs), BCE"},
      {"wgan", false, Objective::kWgan, false, 0, 0, 100, 64, 3, true, true, false,
       "conv WGAN with weight clipping"},
      {"wgan-gp", false, Objective::kWganGp, false, 0, 0, 100, 64, 3, true, true, false,
       "conv WGAN with gradient penalty"},
      {"cgan-mlp", false, Objective::kGan, true, 0, 0, 100, 256, 2, true, true, true,
       "conditional MLP GAN: one-hot label joined to z and to the image"},
      {"cwgan-conv", false, Objective::kWganGp, true, 0, 0, 100, 64, 3, true, true, false,
       "conditional conv WGAN-GP: one-hot label joined to z, label planes on the image"},
      {"classifier-mlp", false, Objective::kClassifier, false, 0, 0, 0, 500, 1, false, true,
       true, "MLP classifier (transfer source for vae-mlp encoders)"},
      // Presets: exact seed architectures.
      {"seed000-wgan", true, Objective::kWgan, false, 1, 28, 64, 0, 0, false, false, false,
       "seed 000: conv critic 16-32-64 (kernels 6/5/4) and its mirrored generator"},
      {"seed001-dcgan", true, Objective::kGan, false, 1, 28, 100, 0, 0, true, false, false,
       "seed 001: DCGAN, G 791,776 / D 691,680 parameters"},
      {"seed001-vae-mlp", true, Objective::kVae, false, 1, 28, 2, 0, 0, true, false, false,
       "seed 001: MLP VAE 784-500-latent"},
      {"seed001-classifier", true, Objective::kClassifier, false, 1, 28, 0, 0, 0, false, false,
       false, "seed 001: MLP classifier 784-500-10"},
      {"seed002-dcgan", true, Objective::kGan, false, 1, 28, 100, 0, 0, true, false, false,
       "seed 002: DCGAN with 5 transposed convs"},
      {"seed002-cwgan", true, Objective::kWganGp, true, 1, 28, 100, 0, 0, true, false, false,
       "seed 002: conditional WGAN (110 input channels, 11-channel critic)"},
      {"seed003-cwgan-mlp", true, Objective::kWgan, true, 1, 28, 100, 0, 0, true, false, false,
       "seed 003: conditional WGAN with linear layers (100+10 -> G, 784+10 -> D)"},
      {"seed004-vae-mlp", true, Objective::kVae, false, 1, 28, 5, 0, 0, true, false, false,
       "seed 004: MLP VAE 784-1024-512-256-5, 2,924,570 parameters"},
      {"seed004-vae-conv", true, Objective::kVae, false, 3, 32, 5, 0, 0, true, false, false,
       "seed 004: conv VAE for CIFAR-10, 178,445 parameters"},
      {"seed004-gan-mnist", true, Objective::kGan, false, 1, 28, 100, 0, 0, true, false, false,
       "seed 004: GAN for MNIST, D 69,825 / G 1,164,289"},
      {"seed004-gan-cifar10", true, Objective::kGan, false, 3, 32, 100, 0, 0, true, false,
       false, "seed 004: GAN for CIFAR-10, D 522,497 / G 1,466,115"},
      {"seed004-wgan-mnist", true, Objective::kWgan, false, 1, 28, 50, 0, 0, true, false,
       false, "seed 004: WGAN for MNIST, G 851,713 / critic 70,337"},
      {"seed004-wgan-cifar10", true, Objective::kWgan, false, 3, 32, 100, 0, 0, true, false,
       false, "seed 004: WGAN for CIFAR-10, critic 663,747 / G 1,069,379"},
  };
  return kModels;
}

const DatasetInfo* FindDataset(std::string_view name) {
  for (const auto& d : DatasetCatalog()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const ModelInfo* FindModel(std::string_view name) {
  for (const auto& m : ModelCatalog()) {
    if (m.name == name) return &m;
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
std::string ModelNames() { return JoinNames(ModelCatalog()); }

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
