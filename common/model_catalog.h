// The catalog of data sets and model names a grid spec may use.
//
// This table is torch-free on purpose: the coordinator validates specs with it
// (it must not link LibTorch), and models/ builds the modules it names
// (tests/models checks that every entry here constructs). A *family* is sized
// by the spec's latent_size / width / depth; a *preset* is one exact
// architecture from the seed studies (../shared/seeds) with a fixed layer
// layout, where only the latent size may change (and only if
// latent_adjustable). Thread-safe: immutable after static initialisation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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
const std::vector<ModelInfo>& ModelCatalog();

// nullptr when unknown.
const DatasetInfo* FindDataset(std::string_view name);
const ModelInfo* FindModel(std::string_view name);

// Names joined with ", " for "allowed: ..." error messages.
std::string DatasetNames();
std::string ModelNames();

}  // namespace gridrun
