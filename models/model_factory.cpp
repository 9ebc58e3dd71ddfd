#include "models/model_factory.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/model_builder.h"
#include "modelspec/model_resolve.h"
#include "modelspec/trial_model.h"
#include "modelspec/zoo.h"

namespace gridrun::models {
namespace {

namespace nn = torch::nn;

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
      // BatchNorm1d and BatchNorm2d share their options and buffers.
      const auto* bn = m->as<nn::BatchNorm2d>();
      const auto* bn1 = m->as<nn::BatchNorm1d>();
      if (bn != nullptr && bn->options.track_running_stats()) {
        count.non_trainable += bn->running_mean.numel() + bn->running_var.numel();
      } else if (bn1 != nullptr && bn1->options.track_running_stats()) {
        count.non_trainable += bn1->running_mean.numel() + bn1->running_var.numel();
      }
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

absl::StatusOr<ModelBundle> BuildModelFromFile(std::shared_ptr<const modelspec::ModelFile> file,
                                               const DatasetInfo& dataset, int64_t latent_size,
                                               int64_t width, int64_t depth, int64_t seed,
                                               const TorchScriptFiles& torchscript) {
  ASSIGN_OR_RETURN(const modelspec::ResolvedModel resolved,
                   modelspec::ResolveModelForTrial(std::move(file), dataset,
                                                   {latent_size, width, depth}));
  torch::manual_seed(static_cast<uint64_t>(seed));
  return BuildResolvedModel(resolved, torchscript);
}

absl::StatusOr<ModelBundle> BuildModelByName(std::string_view model_name,
                                             const DatasetInfo& dataset, int64_t latent_size,
                                             int64_t width, int64_t depth, int64_t seed) {
  auto file = modelspec::FindZooFile(model_name);
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("model: unknown model '",
                                                   std::string(model_name), "'; allowed: ",
                                                   ModelNames()));
  }
  return BuildModelFromFile(std::move(file), dataset, latent_size, width, depth, seed);
}

absl::StatusOr<ModelBundle> BuildModel(const TrialConfig& config, const DatasetInfo& dataset,
                                       const TorchScriptFiles& torchscript) {
  ASSIGN_OR_RETURN(auto file, modelspec::ModelFileOfTrial(config));
  return BuildModelFromFile(std::move(file), dataset, config.latent_size, config.width,
                            config.depth, config.trial_seed, torchscript);
}

absl::Status InitEncoderFrom(const ModelBundle& source, ModelBundle& target) {
  if (!source.classifier) {
    return absl::InvalidArgumentError(
        absl::StrCat("init_encoder_from: '", source.name, "' is not a classifier"));
  }
  if (!target.vae || !target.vae->encoder()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "init_encoder_from: target '", target.name, "' is not a VAE with a layer-list encoder"));
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
