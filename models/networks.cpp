#include "models/networks.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/torchscript_network.h"

namespace gridrun::models {
namespace {

namespace nn = torch::nn;

torch::Tensor OneHot(const torch::Tensor& labels, int64_t num_classes,
                     const torch::TensorOptions& options) {
  return torch::one_hot(labels.to(torch::kLong), num_classes).to(options.dtype());
}

}  // namespace

std::string ImageShape::ToString() const { return absl::StrCat(channels, "x", height, "x", width); }

torch::Tensor ReshapeImpl::forward(const torch::Tensor& x) {
  std::vector<int64_t> shape = {x.size(0)};
  shape.insert(shape.end(), dims.begin(), dims.end());
  return x.view(shape);
}

// ---- Generator -------------------------------------------------------------

GeneratorImpl::GeneratorImpl(nn::Sequential net, GeneratorLayout layout)
    : layout_(layout), net_(register_module("net", std::move(net))) {}

torch::Tensor GeneratorImpl::NetInput(const torch::Tensor& z, const torch::Tensor& labels) const {
  torch::Tensor input = z;
  if (layout_.num_classes > 0) {
    TORCH_CHECK(labels.defined(), "conditional generator needs labels");
    input = torch::cat({z, OneHot(labels, layout_.num_classes, z.options())}, /*dim=*/1);
  }
  if (layout_.spatial_input) input = input.view({input.size(0), input.size(1), 1, 1});
  return input;
}

GeneratorImpl::GeneratorImpl(TorchScriptNetPtr scripted, GeneratorLayout layout)
    : layout_(layout), scripted_(register_module("net", std::move(scripted))) {}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  if (scripted_) {
    std::vector<torch::IValue> in = {z};
    if (layout_.num_classes > 0) {
      TORCH_CHECK(labels.defined(), "conditional generator needs labels");
      in.emplace_back(OneHot(labels, layout_.num_classes, z.options()));
    }
    return scripted_->CallTensor(std::move(in));
  }
  torch::Tensor out = net_->forward(NetInput(z, labels));
  return out.view({out.size(0), layout_.image.channels, layout_.image.height, layout_.image.width});
}

// ---- Critic ----------------------------------------------------------------

CriticImpl::CriticImpl(nn::Sequential net, CriticLayout layout)
    : layout_(layout), net_(register_module("net", std::move(net))) {}

torch::Tensor CriticImpl::NetInput(const torch::Tensor& images, const torch::Tensor& labels) const {
  torch::Tensor input = images;
  if (layout_.flatten_input) input = input.reshape({input.size(0), -1});
  if (layout_.num_classes > 0 && layout_.label_input != LabelInput::kNone) {
    TORCH_CHECK(labels.defined(), "conditional critic needs labels");
    torch::Tensor one_hot = OneHot(labels, layout_.num_classes, images.options());
    if (layout_.label_input == LabelInput::kVector) {
      input = torch::cat({input.reshape({input.size(0), -1}), one_hot}, /*dim=*/1);
    } else {
      torch::Tensor planes =
          one_hot.view({one_hot.size(0), layout_.num_classes, 1, 1})
              .expand({one_hot.size(0), layout_.num_classes, images.size(2), images.size(3)});
      input = torch::cat({input, planes}, /*dim=*/1);
    }
  }
  return input;
}

torch::Tensor CriticImpl::Score(const torch::Tensor& net_output) const {
  torch::Tensor flat = net_output.reshape({net_output.size(0), -1});
  if (layout_.mean_of_outputs) return flat.mean(/*dim=*/1, /*keepdim=*/true);
  TORCH_CHECK(flat.size(1) == 1, "critic net must produce one score per image, got ", flat.size(1));
  return flat;
}

CriticImpl::CriticImpl(TorchScriptNetPtr scripted, CriticLayout layout)
    : layout_(layout), scripted_(register_module("net", std::move(scripted))) {}

torch::Tensor CriticImpl::forward(const torch::Tensor& images, const torch::Tensor& labels) {
  if (scripted_) {
    std::vector<torch::IValue> in = {images};
    if (layout_.num_classes > 0) {
      TORCH_CHECK(labels.defined(), "conditional critic needs labels");
      in.emplace_back(OneHot(labels, layout_.num_classes, images.options()));
    }
    torch::Tensor out = scripted_->CallTensor(std::move(in));
    return out.reshape({out.size(0), 1});
  }
  return Score(net_->forward(NetInput(images, labels)));
}

// ---- Vae -------------------------------------------------------------------

VaeImpl::VaeImpl(nn::Sequential encoder, nn::Linear z_mean, nn::Linear z_logvar,
                 nn::Sequential decoder, ImageShape image, bool flatten_input,
                 bool decoder_spatial)
    : image_(image),
      flatten_input_(flatten_input),
      decoder_spatial_(decoder_spatial),
      encoder_(register_module("encoder", std::move(encoder))),
      z_mean_(register_module("z_mean", std::move(z_mean))),
      z_logvar_(register_module("z_logvar", std::move(z_logvar))),
      decoder_(register_module("decoder", std::move(decoder))),
      latent_size_(z_mean_->options.out_features()) {}

VaeImpl::VaeImpl(Parts parts, int64_t latent_size, ImageShape image, bool flatten_input,
                 bool decoder_spatial)
    : image_(image),
      flatten_input_(flatten_input),
      decoder_spatial_(decoder_spatial),
      latent_size_(latent_size) {
  // The order of the layer-list constructor: encoder, heads, decoder.
  if (parts.scripted_encoder) {
    scripted_encoder_ = register_module("encoder", std::move(parts.scripted_encoder));
  } else {
    encoder_ = register_module("encoder", std::move(parts.encoder));
    z_mean_ = register_module("z_mean", std::move(parts.z_mean));
    z_logvar_ = register_module("z_logvar", std::move(parts.z_logvar));
  }
  if (parts.scripted_decoder) {
    scripted_decoder_ = register_module("decoder", std::move(parts.scripted_decoder));
  } else {
    decoder_ = register_module("decoder", std::move(parts.decoder));
  }
}

torch::Tensor VaeImpl::EncoderInput(const torch::Tensor& images) const {
  return flatten_input_ ? images.reshape({images.size(0), -1}) : images;
}

std::pair<torch::Tensor, torch::Tensor> VaeImpl::encode(const torch::Tensor& images) {
  if (scripted_encoder_) {
    const torch::IValue out = scripted_encoder_->Call({images});
    TORCH_CHECK(out.isTuple() && out.toTupleRef().elements().size() == 2,
                scripted_encoder_->file_name(), ": encoder must return (mu, logvar)");
    const auto& e = out.toTupleRef().elements();
    return {e[0].toTensor(), e[1].toTensor()};
  }
  torch::Tensor h = encoder_->forward(EncoderInput(images));
  return {z_mean_->forward(h), z_logvar_->forward(h)};
}

torch::Tensor VaeImpl::decode_logits(const torch::Tensor& z) {
  if (scripted_decoder_) return scripted_decoder_->CallTensor({z});
  torch::Tensor out =
      decoder_->forward(decoder_spatial_ ? z.view({z.size(0), z.size(1), 1, 1}) : z);
  return out.view({out.size(0), image_.channels, image_.height, image_.width});
}

VaeOutput VaeImpl::forward(const torch::Tensor& images, c10::optional<at::Generator> generator) {
  auto [mu, logvar] = encode(images);
  torch::Tensor eps =
      torch::randn(mu.sizes(), generator, mu.options().device(torch::kCPU)).to(mu.device());
  return Reparameterize(mu, logvar, eps);
}

VaeOutput VaeImpl::forward_with_noise(const torch::Tensor& images, const torch::Tensor& eps) {
  auto [mu, logvar] = encode(images);
  return Reparameterize(mu, logvar, eps.to(mu.device()));
}

VaeOutput VaeImpl::Reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar,
                                  const torch::Tensor& eps) {
  torch::Tensor z = mu + eps * torch::exp(0.5 * logvar);
  return VaeOutput{decode_logits(z), mu, logvar};
}

// ---- Classifier ------------------------------------------------------------

ClassifierImpl::ClassifierImpl(nn::Sequential layers, nn::Linear output_projection,
                               ImageShape image, bool flatten_input)
    : image_(image),
      flatten_input_(flatten_input),
      layers_(register_module("layers", std::move(layers))),
      output_projection_(register_module("output_projection", std::move(output_projection))) {}

torch::Tensor ClassifierImpl::LayersInput(const torch::Tensor& images) const {
  return flatten_input_ ? images.reshape({images.size(0), -1}) : images;
}

torch::Tensor ClassifierImpl::Features(const torch::Tensor& images) {
  return layers_->forward(LayersInput(images));
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& images) {
  return output_projection_->forward(Features(images));
}

void DcganInit(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/true)) {
    const bool conv = m->as<nn::Conv2d>() != nullptr || m->as<nn::ConvTranspose2d>() != nullptr;
    const bool norm = m->as<nn::BatchNorm2d>() != nullptr;
    if (!conv && !norm) continue;
    for (auto& p : m->named_parameters(/*recurse=*/false)) {
      if (p.key() == "weight") {
        p.value().normal_(conv ? 0.0 : 1.0, 0.02);
      } else if (p.key() == "bias") {
        p.value().zero_();
      }
    }
  }
}

}  // namespace gridrun::models
