// The data sets a grid spec may use, the training objectives, and what a
// model's catalog row (ModelInfo) says about it.
//
// Torch-free on purpose: the coordinator validates specs with it (it must not
// link LibTorch). The models themselves are model files: the built-in ones
// (modelspec/zoo.h: ModelCatalog, FindModel) and a user's own
// (modelspec/model_file.h); ModelFile::Info() gives each its row. A *family*
// is sized by the spec's latent_size / width / depth; a *preset* is one exact
// architecture from the seed studies (../shared/seeds) with a fixed layer
// layout, where only the latent size may change (and only if
// latent_adjustable). This file also holds the defaults that depend on the
// model: ApplyModelDefaults fills them into a TrialConfig before a grid
// spec's settings are applied. Thread-safe: immutable after static
// initialisation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/trial_config.h"

namespace gridrun {

struct DatasetInfo {
  std::string_view name;  // "mnist", "fashion-mnist", "cifar10"
  int channels;
  int height;
  int width;
  int num_classes;
};

// What a model is trained for; decides the training loop and the metrics.
enum class Objective {
  kVae,         // reconstruction + kl_weight * KL
  kGan,         // BCE discriminator, non-saturating generator
  kWgan,        // critic_iters critic steps, weight clipping (clip_value)
  kWganGp,      // critic_iters critic steps, gradient penalty (gp_weight)
  kClassifier,  // cross-entropy; used for transfer (init_encoder_from)
};

std::string_view ObjectiveName(Objective objective);

struct ModelInfo {
  std::string_view name;
  bool is_preset;
  Objective objective;
  bool conditional;  // generator and critic also see the class label
  // Data sets the architecture fits: "" = any; otherwise the channel count
  // and side it requires (presets are built for one input shape).
  int fixed_channels;  // 0 = any
  int fixed_size;      // 0 = any
  int default_latent_size;
  int default_width;  // families: base channel count / hidden units
  int default_depth;  // families: number of up/down-sampling blocks or layers
  bool latent_adjustable;
  bool width_adjustable;
  bool depth_adjustable;
  std::string_view description;
};

const std::vector<DatasetInfo>& DatasetCatalog();

// nullptr when unknown.
const DatasetInfo* FindDataset(std::string_view name);

// Names joined with ", " for "allowed: ..." error messages.
std::string DatasetNames();

// The optimizer a model trains with when the spec does not say: gan and
// wgan-gp adam 2e-4, betas 0.5/0.999 (DCGAN); wgan rmsprop 5e-5 (the WGAN
// paper); vae and classifier adam 1e-3, betas 0.9/0.999. Optimizer settings
// the spec gives override single fields of it.
OptimizerConfig DefaultOptimizer(Objective objective);

// Critic (discriminator) steps per generator step when the spec does not say:
// 5 for wgan and wgan-gp, 1 otherwise.
int DefaultCriticIters(Objective objective);

// Sets the settings whose default depends on `model`: latent_size, width and
// depth from its entry, critic_iters and the optimizer from its objective.
// Every other setting keeps its value (a fresh TrialConfig: its default).
void ApplyModelDefaults(const ModelInfo& model, TrialConfig& config);

}  // namespace gridrun
