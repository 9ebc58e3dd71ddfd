#include "models/model_factory.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/presets.h"

namespace gridrun::models {
namespace {

namespace nn = torch::nn;

ImageShape ShapeOf(const DatasetInfo& d) { return ImageShape{d.channels, d.height, d.width}; }

absl::StatusOr<ModelBundle> BuildFamily(const ModelInfo& info, const FamilySize& size,
                                        const DatasetInfo& dataset) {
  ModelBundle b;
  b.name = std::string(info.name);
  b.objective = info.objective;
  b.conditional = info.conditional;
  b.latent_size = info.objective == Objective::kClassifier ? 0 : size.latent_size;
  b.num_classes = dataset.num_classes;
  b.image = ShapeOf(dataset);
  const int64_t classes = info.conditional ? dataset.num_classes : 0;
  const std::string_view name = info.name;

  if (name == "vae-mlp" || name == "vae-conv") {
    ASSIGN_OR_RETURN(b.vae,
                     name == "vae-mlp" ? BuildVaeMlp(b.image, size) : BuildVaeConv(b.image, size));
  } else if (name == "gan-mlp" || name == "cgan-mlp") {
    ASSIGN_OR_RETURN(b.generator, BuildMlpGenerator(b.image, size, classes));
    ASSIGN_OR_RETURN(b.critic, BuildMlpCritic(b.image, size, classes));
  } else if (name == "dcgan" || name == "wgan" || name == "wgan-gp" || name == "cwgan-conv") {
    ASSIGN_OR_RETURN(b.generator, BuildConvGenerator(b.image, size, classes));
    // BatchNorm in the critic for BCE and weight clipping (DCGAN / WGAN
    // papers); none under a gradient penalty, which is per-sample.
    const bool critic_bn = info.objective != Objective::kWganGp;
    ASSIGN_OR_RETURN(b.critic, BuildConvCritic(b.image, size, classes, critic_bn));
    DcganInit(*b.generator);
    DcganInit(*b.critic);
  } else if (name == "classifier-mlp") {
    ASSIGN_OR_RETURN(b.classifier, BuildClassifierMlp(b.image, size, dataset.num_classes));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("model: no builder for family '", std::string(name), "'"));
  }
  return b;
}

std::vector<nn::Linear> LinearLayers(nn::Sequential& seq) {
  std::vector<nn::Linear> out;
  for (const auto& child : seq->children()) {
    if (auto impl = std::dynamic_pointer_cast<nn::LinearImpl>(child)) {
      out.push_back(nn::Linear(impl));
    }
  }
  return out;
}

std::string LinearShape(const nn::Linear& l) {
  return absl::StrCat("Linear(", l->options.in_features(), "->", l->options.out_features(), ")");
}

}  // namespace

ParameterCount CountParameters(const torch::nn::Module& module, CountConvention convention) {
  ParameterCount count;
  for (const auto& p : module.parameters(/*recurse=*/true)) {
    (p.requires_grad() ? count.trainable : count.non_trainable) += p.numel();
  }
  if (convention == CountConvention::kKeras) {
    for (const auto& m : module.modules(/*include_self=*/true)) {
      const auto* bn = m->as<nn::BatchNorm2d>();
      if (bn == nullptr || !bn->options.track_running_stats()) continue;
      count.non_trainable += bn->running_mean.numel() + bn->running_var.numel();
    }
  }
  return count;
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> ModelBundle::Modules()
    const {
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> out;
  if (vae) out.emplace_back("vae", vae.ptr());
  if (generator) out.emplace_back("generator", generator.ptr());
  if (critic) out.emplace_back("critic", critic.ptr());
  if (classifier) out.emplace_back("classifier", classifier.ptr());
  return out;
}

ParameterCount ModelBundle::Count() const {
  ParameterCount total;
  for (const auto& [role, module] : Modules()) {
    ParameterCount c = CountParameters(*module, count_convention);
    total.trainable += c.trainable;
    total.non_trainable += c.non_trainable;
  }
  return total;
}

void ModelBundle::To(const torch::Device& device) {
  for (const auto& [role, module] : Modules()) module->to(device);
}

absl::StatusOr<ModelBundle> BuildModelByName(std::string_view model_name,
                                             const DatasetInfo& dataset, int64_t latent_size,
                                             int64_t width, int64_t depth, int64_t seed) {
  const ModelInfo* info = FindModel(model_name);
  const std::string model(model_name);  // absl::StrCat here takes no std::string_view
  const std::string dataset_name(dataset.name);
  if (info == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("model: unknown model '", model, "'; allowed: ", ModelNames()));
  }
  const ImageShape image = ShapeOf(dataset);
  if (info->fixed_channels != 0 &&
      (image.channels != info->fixed_channels || image.height != info->fixed_size ||
       image.width != info->fixed_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: '", model, "' is built for ", info->fixed_channels, "x", info->fixed_size, "x",
        info->fixed_size, " images; dataset '", dataset_name, "' has ", image.ToString()));
  }
  if (info->conditional && dataset.num_classes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: '", model, "' is conditional but dataset '", dataset_name, "' has no classes"));
  }
  if (latent_size <= 0) latent_size = info->default_latent_size;
  if (width <= 0) width = info->default_width;
  if (depth <= 0) depth = info->default_depth;
  if (info->objective != Objective::kClassifier && !info->latent_adjustable &&
      latent_size != info->default_latent_size) {
    return absl::InvalidArgumentError(absl::StrCat("latent_size: '", model, "' fixes it at ",
                                                   info->default_latent_size, ", got ",
                                                   latent_size));
  }
  if (info->is_preset) {
    if (width != info->default_width || depth != info->default_depth) {
      return absl::InvalidArgumentError(absl::StrCat("width/depth: preset '", model,
                                                     "' has a fixed layout; got width ", width,
                                                     ", depth ", depth));
    }
  }

  torch::manual_seed(static_cast<uint64_t>(seed));
  try {
    if (info->is_preset) return BuildPreset(*info, latent_size, dataset);
    return BuildFamily(*info, FamilySize{latent_size, width, depth}, dataset);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("building model '", model, "': ", e.what()));
  }
}

absl::StatusOr<ModelBundle> BuildModel(const TrialConfig& config, const DatasetInfo& dataset) {
  return BuildModelByName(config.model, dataset, config.latent_size, config.width, config.depth,
                          config.trial_seed);
}

absl::Status InitEncoderFrom(const ModelBundle& source, ModelBundle& target) {
  if (!source.classifier) {
    return absl::InvalidArgumentError(
        absl::StrCat("init_encoder_from: '", source.name, "' is not a classifier"));
  }
  if (!target.vae) {
    return absl::InvalidArgumentError(
        absl::StrCat("init_encoder_from: target '", target.name, "' is not a VAE"));
  }
  Classifier classifier = source.classifier;  // holders share the module
  Vae vae = target.vae;
  std::vector<nn::Linear> from = LinearLayers(classifier->layers());
  std::vector<nn::Linear> to = LinearLayers(vae->encoder());
  if (from.empty() || to.size() < from.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "init_encoder_from: '", source.name, "' has ", from.size(),
        " hidden Linear layers but the encoder of '", target.name, "' has ", to.size()));
  }
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i]->weight.sizes() != to[i]->weight.sizes() ||
        from[i]->bias.defined() != to[i]->bias.defined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "init_encoder_from: layer ", i, " of '", source.name, "' is ", LinearShape(from[i]),
          " but the encoder of '", target.name, "' has ", LinearShape(to[i])));
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < from.size(); ++i) {
      to[i]->weight.copy_(from[i]->weight);
      if (to[i]->bias.defined()) to[i]->bias.copy_(from[i]->bias);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("init_encoder_from: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace gridrun::models
