// The LibTorch modules every gridrun model is made of. Their layers come
// from model files (models/model_builder.h builds them from a resolved file).
//
// Four module types cover every objective: a Generator (z [+ one-hot label] -> image), a Critic
// (image [+ label] -> one raw score per image: a logit for BCE GANs, a
// Wasserstein score for WGANs), a Vae (encode / decode / forward) and a
// Classifier. Each keeps its layers in torch::nn::Sequential containers so
// that models/layer_table.h can walk them layer by layer like torchsummary;
// reshapes and label conditioning that the seeds did in forward() (x.view,
// torch.cat) happen in forward() here too, so they add no table rows.
//
// Image tensors are NCHW float32. Generators end in Tanh ([-1, 1] data) and
// VAE decoders produce logits (decode() applies the sigmoid: [0, 1] data).
//
// Thread-safety: modules are not thread-safe; one trainer thread owns them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace gridrun::models {

// A module scripted in PyTorch (models/torchscript_network.h); a network
// may be one in place of its layer list.
class TorchScriptNetImpl;
using TorchScriptNetPtr = std::shared_ptr<TorchScriptNetImpl>;

// Channels x height x width of one image.
struct ImageShape {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;

  int64_t numel() const { return channels * height * width; }
  bool operator==(const ImageShape&) const = default;
  std::string ToString() const;  // "1x28x28"
};

// x.view({batch, dims...}): a parameter-free reshape layer (the Keras seeds
// have a Reshape layer between their Dense and Conv2DTranspose layers).
struct ReshapeImpl : torch::nn::Module {
  explicit ReshapeImpl(std::vector<int64_t> dims) : dims(std::move(dims)) {}
  torch::Tensor forward(const torch::Tensor& x);
  std::vector<int64_t> dims;
};
TORCH_MODULE(Reshape);

// How a conditional model sees the class label (num_classes one-hot entries).
enum class LabelInput {
  kNone,    // unconditional
  kVector,  // one-hot vector concatenated to the (flattened) input
  kPlanes,  // num_classes constant planes stacked on the image channels
};

// Generator: z [B, latent] (+ labels [B] int64) -> images [B, C, H, W].
struct GeneratorLayout {
  int64_t latent_size = 100;
  int64_t num_classes = 0;     // > 0: conditional (one-hot joined to z)
  bool spatial_input = false;  // net takes [B, latent(+classes), 1, 1]
  ImageShape image;
};

class GeneratorImpl : public torch::nn::Module {
 public:
  GeneratorImpl(torch::nn::Sequential net, GeneratorLayout layout);
  // A TorchScript generator: called as scripted(z[, one_hot]); no net().
  GeneratorImpl(TorchScriptNetPtr scripted, GeneratorLayout layout);

  // z: [B, latent_size] on the module's device. labels: [B] int64, required
  // iff conditional. Returns [B, C, H, W].
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels = {});
  // The tensor `net` consumes for (z, labels) (used by the layer table).
  torch::Tensor NetInput(const torch::Tensor& z, const torch::Tensor& labels) const;

  bool conditional() const { return layout_.num_classes > 0; }
  const GeneratorLayout& layout() const { return layout_; }
  torch::nn::Sequential& net() { return net_; }
  const TorchScriptNetPtr& scripted() const { return scripted_; }

 private:
  GeneratorLayout layout_;
  torch::nn::Sequential net_{nullptr};
  TorchScriptNetPtr scripted_;
};
TORCH_MODULE(Generator);

// Critic / discriminator: images [B, C, H, W] (+ labels) -> raw scores [B, 1].
// BCE GANs apply the sigmoid inside the loss (binary_cross_entropy_with_logits)
// for numerical safety where the seed's last layer was a Sigmoid; Sigmoid has
// no parameters, so the parameter counts are unaffected.
struct CriticLayout {
  ImageShape image;
  int64_t num_classes = 0;
  LabelInput label_input = LabelInput::kNone;
  bool flatten_input = false;  // MLP critics take [B, C*H*W (+classes)]
  // Average all of net's outputs per image into one score (seed 000: its
  // critic ends in a [64, 1, 1] feature map and its loss took the mean).
  bool mean_of_outputs = false;
};

class CriticImpl : public torch::nn::Module {
 public:
  CriticImpl(torch::nn::Sequential net, CriticLayout layout);
  // A TorchScript critic: called as scripted(images[, one_hot]) -> [B] or
  // [B, 1]; no net().
  CriticImpl(TorchScriptNetPtr scripted, CriticLayout layout);

  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels = {});
  torch::Tensor NetInput(const torch::Tensor& images, const torch::Tensor& labels) const;
  // Maps net's raw output to [B, 1].
  torch::Tensor Score(const torch::Tensor& net_output) const;

  bool conditional() const { return layout_.num_classes > 0; }
  const CriticLayout& layout() const { return layout_; }
  torch::nn::Sequential& net() { return net_; }
  const TorchScriptNetPtr& scripted() const { return scripted_; }

 private:
  CriticLayout layout_;
  torch::nn::Sequential net_{nullptr};
  TorchScriptNetPtr scripted_;
};
TORCH_MODULE(Critic);

// VAE: encoder (images -> features), z_mean / z_logvar heads, decoder
// (z -> image logits, reshaped to the image shape).
struct VaeOutput {
  torch::Tensor recon_logits;  // [B, C, H, W]
  torch::Tensor mu;            // [B, latent]
  torch::Tensor logvar;        // [B, latent]
};

class VaeImpl : public torch::nn::Module {
 public:
  // flatten_input: the encoder takes [B, C*H*W]; decoder_spatial: the
  // decoder takes z as [B, latent, 1, 1].
  VaeImpl(torch::nn::Sequential encoder, torch::nn::Linear z_mean, torch::nn::Linear z_logvar,
          torch::nn::Sequential decoder, ImageShape image, bool flatten_input,
          bool decoder_spatial = false);
  // Either network may be TorchScript: a scripted encoder (images -> (mu,
  // logvar)) replaces the encoder and the heads (pass nullptr for all
  // three); a scripted decoder (z -> image logits) replaces the decoder.
  struct Parts {
    torch::nn::Sequential encoder{nullptr};
    torch::nn::Linear z_mean{nullptr};
    torch::nn::Linear z_logvar{nullptr};
    torch::nn::Sequential decoder{nullptr};
    TorchScriptNetPtr scripted_encoder;
    TorchScriptNetPtr scripted_decoder;
  };
  VaeImpl(Parts parts, int64_t latent_size, ImageShape image, bool flatten_input,
          bool decoder_spatial);

  // Returns {mu, logvar}.
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& images);
  torch::Tensor decode_logits(const torch::Tensor& z);
  torch::Tensor decode(const torch::Tensor& z) { return torch::sigmoid(decode_logits(z)); }
  // Reparameterised pass; eps ~ N(0, 1) is drawn from `generator` (CPU) when
  // given, else from torch's default generator.
  VaeOutput forward(const torch::Tensor& images,
                    c10::optional<at::Generator> generator = c10::nullopt);
  // Same with the caller's eps [B, latent] (the trainer draws it for the
  // whole global batch, so N ranks train like one; see models/trainer.h).
  VaeOutput forward_with_noise(const torch::Tensor& images, const torch::Tensor& eps);
  // The encoder input for `images` (flattened for MLP encoders).
  torch::Tensor EncoderInput(const torch::Tensor& images) const;

  int64_t latent_size() const { return latent_size_; }
  const ImageShape& image() const { return image_; }
  torch::nn::Sequential& encoder() { return encoder_; }
  torch::nn::Sequential& decoder() { return decoder_; }
  torch::nn::Linear& z_mean() { return z_mean_; }
  torch::nn::Linear& z_logvar() { return z_logvar_; }
  // The TorchScript networks (nullptr for a layer-list network).
  const TorchScriptNetPtr& scripted_encoder() const { return scripted_encoder_; }
  const TorchScriptNetPtr& scripted_decoder() const { return scripted_decoder_; }

 private:
  VaeOutput Reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar,
                           const torch::Tensor& eps);

  ImageShape image_;
  bool flatten_input_;
  bool decoder_spatial_;
  torch::nn::Sequential encoder_{nullptr};
  torch::nn::Linear z_mean_{nullptr};
  torch::nn::Linear z_logvar_{nullptr};
  torch::nn::Sequential decoder_{nullptr};
  TorchScriptNetPtr scripted_encoder_;
  TorchScriptNetPtr scripted_decoder_;
  int64_t latent_size_ = 0;
};
TORCH_MODULE(Vae);

// Classifier: image (flattened unless flatten_input is false) -> hidden
// `layers` -> output_projection logits.
class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl(torch::nn::Sequential layers, torch::nn::Linear output_projection,
                 ImageShape image, bool flatten_input = true);

  torch::Tensor forward(const torch::Tensor& images);   // [B, num_classes] logits
  torch::Tensor Features(const torch::Tensor& images);  // output of `layers`
  // The input `layers` consume for `images`.
  torch::Tensor LayersInput(const torch::Tensor& images) const;

  const ImageShape& image() const { return image_; }
  torch::nn::Sequential& layers() { return layers_; }
  torch::nn::Linear& output_projection() { return output_projection_; }

 private:
  ImageShape image_;
  bool flatten_input_;
  torch::nn::Sequential layers_{nullptr};
  torch::nn::Linear output_projection_{nullptr};
};
TORCH_MODULE(Classifier);

// DCGAN initialisation (Radford et al.; pytorch/examples dcgan): conv and
// transposed-conv weights ~ N(0, 0.02), BatchNorm weight ~ N(1, 0.02), biases
// 0. Draws from torch's default generator.
void DcganInit(torch::nn::Module& module);

}  // namespace gridrun::models
