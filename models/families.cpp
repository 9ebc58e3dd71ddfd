#include "models/families.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gridrun::models {
namespace {

namespace nn = torch::nn;

torch::Tensor OneHot(const torch::Tensor& labels, int64_t num_classes,
                     const torch::TensorOptions& options) {
  return torch::one_hot(labels.to(torch::kLong), num_classes).to(options.dtype());
}

absl::Status CheckPositive(const char* what, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " must be > 0, got ", value));
}

// Spatial sizes after each of `depth` 4x4 stride-2 padding-1 convolutions:
// sizes[0] = side, sizes[i] = floor(sizes[i-1] / 2).
absl::StatusOr<std::vector<int64_t>> HalvingSizes(int64_t side, int64_t depth,
                                                  const ImageShape& image) {
  std::vector<int64_t> sizes = {side};
  for (int64_t i = 0; i < depth; ++i) sizes.push_back(sizes.back() / 2);
  if (sizes.back() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("depth ", depth, " halves a ", image.ToString(),
                                                   " image below 1x1; use a smaller depth"));
  }
  return sizes;
}

nn::Conv2dOptions Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                       bool bias) {
  return nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias);
}

// Transposed conv; `output_padding` {h, w} restores odd sizes (7 -> 14 -> 28 from 3).
nn::ConvTranspose2dOptions ConvT(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                 int64_t padding, bool bias,
                                 torch::ExpandingArray<2> output_padding) {
  return nn::ConvTranspose2dOptions(in, out, kernel)
      .stride(stride)
      .padding(padding)
      .bias(bias)
      .output_padding(output_padding);
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

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
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

torch::Tensor CriticImpl::forward(const torch::Tensor& images, const torch::Tensor& labels) {
  return Score(net_->forward(NetInput(images, labels)));
}

// ---- Vae -------------------------------------------------------------------

VaeImpl::VaeImpl(nn::Sequential encoder, nn::Linear z_mean, nn::Linear z_logvar,
                 nn::Sequential decoder, ImageShape image, bool flatten_input)
    : image_(image),
      flatten_input_(flatten_input),
      encoder_(register_module("encoder", std::move(encoder))),
      z_mean_(register_module("z_mean", std::move(z_mean))),
      z_logvar_(register_module("z_logvar", std::move(z_logvar))),
      decoder_(register_module("decoder", std::move(decoder))) {}

torch::Tensor VaeImpl::EncoderInput(const torch::Tensor& images) const {
  return flatten_input_ ? images.reshape({images.size(0), -1}) : images;
}

std::pair<torch::Tensor, torch::Tensor> VaeImpl::encode(const torch::Tensor& images) {
  torch::Tensor h = encoder_->forward(EncoderInput(images));
  return {z_mean_->forward(h), z_logvar_->forward(h)};
}

torch::Tensor VaeImpl::decode_logits(const torch::Tensor& z) {
  torch::Tensor out = decoder_->forward(z);
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
                               ImageShape image)
    : image_(image),
      layers_(register_module("layers", std::move(layers))),
      output_projection_(register_module("output_projection", std::move(output_projection))) {}

torch::Tensor ClassifierImpl::Features(const torch::Tensor& images) {
  return layers_->forward(images.reshape({images.size(0), -1}));
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& images) {
  return output_projection_->forward(Features(images));
}

// ---- Family builders -------------------------------------------------------

absl::StatusOr<Vae> BuildVaeMlp(const ImageShape& image, const FamilySize& size) {
  for (auto [what, value] : {std::pair{"latent_size", size.latent_size},
                             std::pair{"width", size.width}, std::pair{"depth", size.depth}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  const int64_t pixels = image.numel();
  nn::Sequential encoder;
  for (int64_t i = 0; i < size.depth; ++i) {
    encoder->push_back(nn::Linear(i == 0 ? pixels : size.width, size.width));
    encoder->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.01)));
  }
  nn::Sequential decoder;
  for (int64_t i = 0; i < size.depth; ++i) {
    decoder->push_back(nn::Linear(i == 0 ? size.latent_size : size.width, size.width));
    decoder->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.01)));
  }
  decoder->push_back(nn::Linear(size.width, pixels));
  return Vae(encoder, nn::Linear(size.width, size.latent_size),
             nn::Linear(size.width, size.latent_size), decoder, image,
             /*flatten_input=*/true);
}

absl::StatusOr<Vae> BuildVaeConv(const ImageShape& image, const FamilySize& size) {
  for (auto [what, value] : {std::pair{"latent_size", size.latent_size},
                             std::pair{"width", size.width}, std::pair{"depth", size.depth}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  ASSIGN_OR_RETURN(const std::vector<int64_t> heights,
                   HalvingSizes(image.height, size.depth, image));
  ASSIGN_OR_RETURN(const std::vector<int64_t> widths, HalvingSizes(image.width, size.depth, image));
  auto channels = [&](int64_t block) { return size.width << block; };  // width * 2^block
  const int64_t top = channels(size.depth - 1);
  const int64_t bottom_h = heights.back(), bottom_w = widths.back();
  const int64_t features = top * bottom_h * bottom_w;

  nn::Sequential encoder;
  for (int64_t i = 0; i < size.depth; ++i) {
    encoder->push_back(nn::Conv2d(Conv(i == 0 ? image.channels : channels(i - 1), channels(i),
                                       /*kernel_size=*/4, /*stride=*/2, /*padding=*/1,
                                       /*bias=*/true)));
    encoder->push_back(nn::ReLU());
  }
  encoder->push_back(nn::Flatten());

  nn::Sequential decoder;
  decoder->push_back(nn::Linear(size.latent_size, features));
  decoder->push_back(nn::ReLU());
  decoder->push_back(Reshape(std::vector<int64_t>{top, bottom_h, bottom_w}));
  for (int64_t i = size.depth - 1; i >= 0; --i) {
    const int64_t out = i == 0 ? image.channels : channels(i - 1);
    // ConvT(k4, s2, p1) maps n to 2n + output_padding.
    decoder->push_back(nn::ConvTranspose2d(
        ConvT(channels(i), out, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, /*bias=*/true,
              /*output_padding=*/{heights[i] % 2, widths[i] % 2})));
    if (i > 0) decoder->push_back(nn::ReLU());
  }
  return Vae(encoder, nn::Linear(features, size.latent_size),
             nn::Linear(features, size.latent_size), decoder, image, /*flatten_input=*/false);
}

absl::StatusOr<Generator> BuildMlpGenerator(const ImageShape& image, const FamilySize& size,
                                            int64_t num_classes) {
  for (auto [what, value] : {std::pair{"latent_size", size.latent_size},
                             std::pair{"width", size.width}, std::pair{"depth", size.depth}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  nn::Sequential net;
  int64_t in = size.latent_size + num_classes;
  for (int64_t i = 0; i < size.depth; ++i) {
    const int64_t out = size.width << i;
    net->push_back(nn::Linear(in, out));
    net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    in = out;
  }
  net->push_back(nn::Linear(in, image.numel()));
  net->push_back(nn::Tanh());
  return Generator(net, GeneratorLayout{size.latent_size, num_classes,
                                        /*spatial_input=*/false, image});
}

absl::StatusOr<Critic> BuildMlpCritic(const ImageShape& image, const FamilySize& size,
                                      int64_t num_classes) {
  for (auto [what, value] : {std::pair{"width", size.width}, std::pair{"depth", size.depth}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  nn::Sequential net;
  int64_t in = image.numel() + num_classes;
  for (int64_t i = size.depth - 1; i >= 0; --i) {
    const int64_t out = size.width << i;
    net->push_back(nn::Linear(in, out));
    net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    in = out;
  }
  net->push_back(nn::Linear(in, 1));
  CriticLayout layout;
  layout.image = image;
  layout.num_classes = num_classes;
  layout.label_input = num_classes > 0 ? LabelInput::kVector : LabelInput::kNone;
  layout.flatten_input = true;
  return Critic(net, layout);
}

absl::StatusOr<Generator> BuildConvGenerator(const ImageShape& image, const FamilySize& size,
                                             int64_t num_classes) {
  for (auto [what, value] : {std::pair{"latent_size", size.latent_size},
                             std::pair{"width", size.width}, std::pair{"depth", size.depth}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  ASSIGN_OR_RETURN(const std::vector<int64_t> heights,
                   HalvingSizes(image.height, size.depth, image));
  ASSIGN_OR_RETURN(const std::vector<int64_t> widths, HalvingSizes(image.width, size.depth, image));
  auto channels = [&](int64_t block) { return size.width << block; };

  nn::Sequential net;
  // 1x1 -> the critic's last map (kernel = that map's size).
  auto first = nn::ConvTranspose2dOptions(size.latent_size + num_classes, channels(size.depth - 1),
                                          torch::ExpandingArray<2>({heights.back(), widths.back()}))
                   .stride(1)
                   .padding(0)
                   .bias(false);
  net->push_back(nn::ConvTranspose2d(first));
  net->push_back(nn::BatchNorm2d(channels(size.depth - 1)));
  net->push_back(nn::ReLU());
  for (int64_t i = size.depth - 1; i >= 0; --i) {
    const int64_t out = i == 0 ? image.channels : channels(i - 1);
    net->push_back(nn::ConvTranspose2d(ConvT(channels(i), out, /*kernel_size=*/4, /*stride=*/2,
                                             /*padding=*/1, /*bias=*/false,
                                             /*output_padding=*/{heights[i] % 2, widths[i] % 2})));
    if (i > 0) {
      net->push_back(nn::BatchNorm2d(out));
      net->push_back(nn::ReLU());
    }
  }
  net->push_back(nn::Tanh());
  return Generator(net, GeneratorLayout{size.latent_size, num_classes,
                                        /*spatial_input=*/true, image});
}

absl::StatusOr<Critic> BuildConvCritic(const ImageShape& image, const FamilySize& size,
                                       int64_t num_classes, bool batch_norm) {
  for (auto [what, value] : {std::pair{"width", size.width}, std::pair{"depth", size.depth}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  ASSIGN_OR_RETURN(const std::vector<int64_t> heights,
                   HalvingSizes(image.height, size.depth, image));
  ASSIGN_OR_RETURN(const std::vector<int64_t> widths, HalvingSizes(image.width, size.depth, image));
  auto channels = [&](int64_t block) { return size.width << block; };

  nn::Sequential net;
  for (int64_t i = 0; i < size.depth; ++i) {
    const int64_t in = i == 0 ? image.channels + num_classes : channels(i - 1);
    const bool norm = batch_norm && i > 0;
    net->push_back(nn::Conv2d(Conv(in, channels(i), /*kernel_size=*/4, /*stride=*/2,
                                   /*padding=*/1, /*bias=*/!norm)));
    if (norm) net->push_back(nn::BatchNorm2d(channels(i)));
    net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  }
  net->push_back(
      nn::Conv2d(nn::Conv2dOptions(channels(size.depth - 1), 1,
                                   torch::ExpandingArray<2>({heights.back(), widths.back()}))
                     .stride(1)
                     .padding(0)
                     .bias(true)));
  CriticLayout layout;
  layout.image = image;
  layout.num_classes = num_classes;
  layout.label_input = num_classes > 0 ? LabelInput::kPlanes : LabelInput::kNone;
  return Critic(net, layout);
}

absl::StatusOr<Classifier> BuildClassifierMlp(const ImageShape& image, const FamilySize& size,
                                              int64_t num_classes) {
  for (auto [what, value] : {std::pair{"width", size.width}, std::pair{"depth", size.depth},
                             std::pair{"num_classes", num_classes}}) {
    RETURN_IF_ERROR(CheckPositive(what, value));
  }
  nn::Sequential layers;
  for (int64_t i = 0; i < size.depth; ++i) {
    layers->push_back(nn::Linear(i == 0 ? image.numel() : size.width, size.width));
    layers->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.01)));
  }
  return Classifier(layers, nn::Linear(size.width, num_classes), image);
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
