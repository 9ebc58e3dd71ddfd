// The seed presets as the C++ builders gridrun had before model files (kept
// verbatim as the baseline of bench/model_file_bench.cpp, which times them
// against the same presets built from modelspec/zoo/ files). Not used by
// gridrun itself.
#include "bench/baselines/compiled_presets.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gridrun::bench::compiled {
namespace {

using models::ImageShape;
using models::ModelBundle;
using models::Generator;
using models::GeneratorLayout;
using models::Critic;
using models::CriticLayout;
using models::LabelInput;
using models::Vae;
using models::Classifier;
using models::Reshape;
using models::CountConvention;

struct FamilySize {
  int64_t latent_size = 0;
  int64_t width = 0;
  int64_t depth = 0;
};

namespace nn = torch::nn;

nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

nn::ConvTranspose2d ConvT(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                          bool bias) {
  return nn::ConvTranspose2d(
      nn::ConvTranspose2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

nn::LeakyReLU LeakyReLU(double slope) {
  return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(slope));
}

// Keras BatchNormalization defaults: momentum 0.99 (torch: 0.01), eps 1e-3.
nn::BatchNorm2d KerasBatchNorm(int64_t channels) {
  return nn::BatchNorm2d(nn::BatchNormOptions(channels).momentum(0.01).eps(1e-3));
}

// A parameter-free step the seed did in forward() (F.relu, x.view, ...):
// a torch::nn::Functional, which the layer table skips like torchsummary.
nn::Functional Fn(std::function<torch::Tensor(torch::Tensor)> f) {
  return nn::Functional(std::move(f));
}

ImageShape ShapeOf(const DatasetInfo& d) { return ImageShape{d.channels, d.height, d.width}; }

ModelBundle NewBundle(const ModelInfo& info, int64_t latent_size, const DatasetInfo& dataset) {
  ModelBundle b;
  b.name = std::string(info.name);
  b.objective = info.objective;
  b.conditional = info.conditional;
  b.latent_size = latent_size;
  b.num_classes = dataset.num_classes;
  b.image = ShapeOf(dataset);
  return b;
}

CriticLayout ConvCriticLayout(const ImageShape& image) {
  CriticLayout layout;
  layout.image = image;
  return layout;
}

CriticLayout MlpCriticLayout(const ImageShape& image, int64_t num_classes) {
  CriticLayout layout;
  layout.image = image;
  layout.num_classes = num_classes;
  layout.label_input = num_classes > 0 ? LabelInput::kVector : LabelInput::kNone;
  layout.flatten_input = true;
  return layout;
}

absl::Status CheckPositive(const char* what, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " must be > 0, got ", value));
}

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

// ---- seed 000: conv WGAN for MNIST, latent 64 ------------------------------
// Critic Conv(1,16,k6,s3,p1) -> 9x9, Conv(16,32,k5,s2,p1) -> 4x4,
// Conv(32,64,k4,s2,p0) -> 1x1, LeakyReLU(0.2) after each: 46,256 parameters.
// Its output is the [64, 1, 1] map the report describes ("to accommodate our
// latent size"); a WGAN critic needs one score per image and the report's loss
// averaged the output, so the score is the mean of the 64 outputs
// (CriticLayout::mean_of_outputs, no parameters).
// Generator: the mirror, ConvT(64,32,k4,s2) -> 4, ConvT(32,16,k5,s2,p1) -> 9,
// ConvT(16,1,k6,s3,p1) -> 28, LeakyReLU(0.2) after each (also the last, as in
// the seed): 46,193 parameters.
void BuildSeed000(ModelBundle& b) {
  nn::Sequential critic(
      Conv(1, 16, /*kernel_size=*/6, /*stride=*/3, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(16, 32, /*kernel_size=*/5, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(32, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/0, true), LeakyReLU(0.2));
  CriticLayout layout = ConvCriticLayout(b.image);
  layout.mean_of_outputs = true;
  b.critic = Critic(critic, layout);
  nn::Sequential generator(
      ConvT(b.latent_size, 32, /*kernel_size=*/4, /*stride=*/2, /*padding=*/0, true),
      LeakyReLU(0.2), ConvT(32, 16, /*kernel_size=*/5, /*stride=*/2, /*padding=*/1, true),
      LeakyReLU(0.2), ConvT(16, 1, /*kernel_size=*/6, /*stride=*/3, /*padding=*/1, true),
      LeakyReLU(0.2));
  b.generator = Generator(generator, GeneratorLayout{b.latent_size, 0, true, b.image});
}

// ---- seed 001: DCGAN for Fashion-MNIST (torchsummary tables) ---------------
// G: ConvT(100,128,k7) 627,200 -> 7x7, BN, LeakyReLU; ConvT(128,64,k4,s2,p1)
// 131,072 -> 14; BN; ConvT(64,32) 32,768 -> 28; BN; Conv(32,1,k3,p1) 288; Tanh.
// All bias-free (the counts leave no room for biases): 791,776.
// D: Conv(1,32,k3,p1) 288; BN; Conv(32,64,k4,s2,p1) 32,768 -> 14; BN;
// Conv(64,128) 131,072 -> 7; BN; Conv(128,256) 524,288 -> 3; BN;
// Conv(256,1,k3) 2,304 -> 1x1: 691,680. The table has no final Sigmoid.
void BuildSeed001Dcgan(ModelBundle& b) {
  nn::Sequential g(ConvT(b.latent_size, 128, /*kernel_size=*/7, /*stride=*/1, /*padding=*/0, false),
                   nn::BatchNorm2d(128), LeakyReLU(0.2),
                   ConvT(128, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
                   nn::BatchNorm2d(64), LeakyReLU(0.2),
                   ConvT(64, 32, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
                   nn::BatchNorm2d(32), LeakyReLU(0.2),
                   Conv(32, 1, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1, false), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, 0, true, b.image});
  nn::Sequential d(
      Conv(1, 32, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1, false), nn::BatchNorm2d(32),
      LeakyReLU(0.2), Conv(32, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
      nn::BatchNorm2d(64), LeakyReLU(0.2),
      Conv(64, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false), nn::BatchNorm2d(128),
      LeakyReLU(0.2), Conv(128, 256, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
      nn::BatchNorm2d(256), LeakyReLU(0.2),
      Conv(256, 1, /*kernel_size=*/3, /*stride=*/1, /*padding=*/0, false));
  b.critic = Critic(d, ConvCriticLayout(b.image));
}

// ---- seed 002: DCGAN and conditional WGAN for MNIST (module printouts) -----
// G: five bias-free transposed convs 100->256->128->64->32 (k4,s2,p1: 1 -> 2
// -> 4 -> 8 -> 16) then ConvT(32,1,k2,s2,p2) -> 28, BatchNorm + ReLU between,
// Tanh: 1,098,816. D: Conv(1,32,k2,s2,p2) -> 16, LeakyReLU(0.02), three
// bias-free k4 s2 p1 convs with BatchNorm (-> 8, 4, 2), Conv(256,1,k4,s2,p1)
// with bias -> 1x1 (its Sigmoid is in the loss): 693,249.
// The conditional WGAN takes latent+10 generator input channels (one-hot
// label joined to z) and an 11-channel critic input (10 label planes stacked
// on the image), without the Sigmoid: G 1,139,776, critic 694,529.
void BuildSeed002(ModelBundle& b, int64_t label_channels) {
  nn::Sequential g(
      ConvT(b.latent_size + label_channels, 256, /*kernel_size=*/4, /*stride=*/2,
            /*padding=*/1, false),
      nn::BatchNorm2d(256), nn::ReLU(),
      ConvT(256, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false), nn::BatchNorm2d(128),
      nn::ReLU(), ConvT(128, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
      nn::BatchNorm2d(64), nn::ReLU(),
      ConvT(64, 32, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false), nn::BatchNorm2d(32),
      nn::ReLU(), ConvT(32, 1, /*kernel_size=*/2, /*stride=*/2, /*padding=*/2, false), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, label_channels, true, b.image});
  nn::Sequential d(
      Conv(1 + label_channels, 32, /*kernel_size=*/2, /*stride=*/2, /*padding=*/2, false),
      LeakyReLU(0.02), Conv(32, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
      nn::BatchNorm2d(64), LeakyReLU(0.02),
      Conv(64, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false), nn::BatchNorm2d(128),
      LeakyReLU(0.02), Conv(128, 256, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, false),
      nn::BatchNorm2d(256), LeakyReLU(0.02),
      Conv(256, 1, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true));
  CriticLayout layout = ConvCriticLayout(b.image);
  layout.num_classes = label_channels;
  layout.label_input = label_channels > 0 ? LabelInput::kPlanes : LabelInput::kNone;
  b.critic = Critic(d, layout);
}

// ---- seed 003: conditional WGAN with linear layers (Fashion-MNIST) ---------
// The report gives the input sizes (100+10 -> G, 784+10 -> D) and cites
// arturml/mnist-cgan for the layers: G 110-256-512-1024-784 (LeakyReLU 0.2,
// Tanh): 1,488,912; D 794-1024-512-256-1 (LeakyReLU 0.2, Dropout 0.3), no
// Sigmoid ("scores instead of probabilities for WGANs"): 1,470,465. The label
// is a one-hot vector (as the report describes), not the reference's Embedding.
void BuildSeed003(ModelBundle& b) {
  const int64_t classes = b.num_classes;
  nn::Sequential g(nn::Linear(b.latent_size + classes, 256), LeakyReLU(0.2), nn::Linear(256, 512),
                   LeakyReLU(0.2), nn::Linear(512, 1024), LeakyReLU(0.2),
                   nn::Linear(1024, b.image.numel()), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, classes, false, b.image});
  nn::Sequential d(nn::Linear(b.image.numel() + classes, 1024), LeakyReLU(0.2), nn::Dropout(0.3),
                   nn::Linear(1024, 512), LeakyReLU(0.2), nn::Dropout(0.3), nn::Linear(512, 256),
                   LeakyReLU(0.2), nn::Dropout(0.3), nn::Linear(256, 1));
  b.critic = Critic(d, MlpCriticLayout(b.image, classes));
}

// ---- seed 004 (torchsummary and Keras tables) ------------------------------

// MLP VAE 784-1024-512-256-latent and back: 2,924,570 at latent 5. The table
// lists only Linear rows, so the ReLUs were functional calls (F.relu).
void BuildSeed004VaeMlp(ModelBundle& b) {
  auto relu = [] { return Fn([](torch::Tensor x) { return torch::relu(x); }); };
  nn::Sequential encoder(nn::Linear(b.image.numel(), 1024), relu(), nn::Linear(1024, 512), relu(),
                         nn::Linear(512, 256), relu());
  nn::Sequential decoder(nn::Linear(b.latent_size, 256), relu(), nn::Linear(256, 512), relu(),
                         nn::Linear(512, 1024), relu(), nn::Linear(1024, b.image.numel()));
  b.vae = Vae(encoder, nn::Linear(256, b.latent_size), nn::Linear(256, b.latent_size), decoder,
              b.image, /*flatten_input=*/true);
}

// Conv VAE for CIFAR-10: 178,445 at latent 5.
// Encoder: Conv(3,64,k4,s2,p1) 3,136 -> 16x16, Conv(64,128,k4,s2,p1) 131,200
// -> 8x8. The mean / log-variance Linear layers take 2,048 = 128*4*4 inputs
// (10,245 each), so a parameter-free downsampling step is missing from the
// printout: read as a functional 2x2 max pool (8x8 -> 4x4), like the
// decoder's final MaxPool2d.
// Decoder: Linear(latent,2048) 12,288, then ConvTranspose2d-6 [64, 64, 64]
// with 8,256 = 8*64*4*4 + 64 parameters: the 2,048 features viewed as
// 8x16x16 and ConvT(8,64,k4,s4) -> 64x64 (the only bias-carrying reading with
// a standard kernel that gives both the count and the printed 64x64); then
// ConvT(64,3,k4,s2,p1) 3,075 -> 128x128 and MaxPool2d(4) -> 32x32 as printed.
void BuildSeed004VaeConv(ModelBundle& b) {
  auto relu = [] { return Fn([](torch::Tensor x) { return torch::relu(x); }); };
  nn::Sequential encoder(
      Conv(3, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), relu(),
      Conv(64, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), relu(),
      Fn([](torch::Tensor x) { return torch::max_pool2d(x, /*kernel_size=*/2); }),
      Fn([](torch::Tensor x) {
        return x.reshape({x.size(0), -1});
      }));
  nn::Sequential decoder(nn::Linear(b.latent_size, 2048), relu(), Fn([](torch::Tensor x) {
                           return x.view({x.size(0), 8, 16, 16});
                         }),
                         ConvT(8, 64, /*kernel_size=*/4, /*stride=*/4, /*padding=*/0, true), relu(),
                         ConvT(64, 3, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                         nn::MaxPool2d(nn::MaxPool2dOptions(4)));
  b.vae = Vae(encoder, nn::Linear(2048, b.latent_size), nn::Linear(2048, b.latent_size), decoder,
              b.image, /*flatten_input=*/false);
}

// Keras GAN for MNIST. D: Conv2D(64,k4,s2,'same') 1,088 -> 14, LeakyReLU,
// Conv2D(64,k4,s2) 65,600 -> 7, LeakyReLU, Flatten, Dense(1) 3,137: 69,825.
// G: Dense(6272) 633,472, LeakyReLU, Reshape(7,7,128), two
// Conv2DTranspose(128,k4,s2) 262,272 each (-> 14 -> 28) with LeakyReLU,
// Conv2D(1,k7,'same') 6,273: 1,164,289. Output Tanh for [-1, 1] data.
void BuildSeed004GanMnist(ModelBundle& b) {
  nn::Sequential d(Conv(1, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   LeakyReLU(0.2),
                   Conv(64, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   LeakyReLU(0.2), nn::Flatten(), nn::Linear(64 * 7 * 7, 1));
  b.critic = Critic(d, ConvCriticLayout(b.image));
  nn::Sequential g(
      nn::Linear(b.latent_size, 128 * 7 * 7), LeakyReLU(0.2),
      Reshape(std::vector<int64_t>{128, 7, 7}),
      ConvT(128, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      ConvT(128, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(128, 1, /*kernel_size=*/7, /*stride=*/1, /*padding=*/3, true), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, 0, false, b.image});
  b.count_convention = CountConvention::kKeras;
}

// Keras GAN for CIFAR-10. D: Conv2D(64,k3,'same') 1,792, Conv2D(128,k3,s2)
// 73,856 -> 16, Conv2D(128,k3,s2) 147,584 -> 8, Conv2D(256,k3,s2) 295,168
// -> 4 (LeakyReLU after each), Flatten, Dropout(0.4), Dense(1) 4,097:
// 522,497. G: Dense(4096) 413,696, LeakyReLU, Reshape(4,4,256),
// Conv2DTranspose 256->128 524,416 (-> 8), 128->128 262,272 (-> 16),
// 128->128 262,272 (-> 32), LeakyReLU after each, Conv2D(3,k3,'same') 3,459,
// Tanh: 1,466,115.
void BuildSeed004GanCifar(ModelBundle& b) {
  nn::Sequential d(
      Conv(3, 64, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(64, 128, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(128, 128, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(128, 256, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      nn::Flatten(), nn::Dropout(0.4), nn::Linear(256 * 4 * 4, 1));
  b.critic = Critic(d, ConvCriticLayout(b.image));
  nn::Sequential g(
      nn::Linear(b.latent_size, 256 * 4 * 4), LeakyReLU(0.2),
      Reshape(std::vector<int64_t>{256, 4, 4}),
      ConvT(256, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      ConvT(128, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      ConvT(128, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(128, 3, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1, true), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, 0, false, b.image});
  b.count_convention = CountConvention::kKeras;
}

// Keras WGAN for MNIST. G (latent 50): Dense(6272) 319,872, LeakyReLU,
// Reshape(7,7,128), Conv2DTranspose(128,k4,s2) 262,272 + BatchNormalization
// 512 + LeakyReLU, twice (-> 14 -> 28), Conv2D(1,k7,'same') 6,273, Tanh:
// 851,713 of which 512 non-trainable (the BatchNorm moving statistics).
// Critic: Conv2D(64,k4,s2) 1,088 + BN 256 + LeakyReLU, Conv2D(64,k4,s2)
// 65,600 + BN 256 + LeakyReLU, Flatten, Dense(1) 3,137: 70,337 (the
// printout's "70,327" is an OCR error; its rows sum to 70,337).
void BuildSeed004WganMnist(ModelBundle& b) {
  nn::Sequential g(nn::Linear(b.latent_size, 128 * 7 * 7), LeakyReLU(0.2),
                   Reshape(std::vector<int64_t>{128, 7, 7}),
                   ConvT(128, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   KerasBatchNorm(128), LeakyReLU(0.2),
                   ConvT(128, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   KerasBatchNorm(128), LeakyReLU(0.2),
                   Conv(128, 1, /*kernel_size=*/7, /*stride=*/1, /*padding=*/3, true), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, 0, false, b.image});
  nn::Sequential d(Conv(1, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   KerasBatchNorm(64), LeakyReLU(0.2),
                   Conv(64, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   KerasBatchNorm(64), LeakyReLU(0.2), nn::Flatten(), nn::Linear(64 * 7 * 7, 1));
  b.critic = Critic(d, ConvCriticLayout(b.image));
  b.count_convention = CountConvention::kKeras;
}

// WGAN for CIFAR-10 (torchsummary tables).
// Critic: Conv(3,64,k4,s2,p1) 3,136 -> 16, LeakyReLU, Conv(64,128) 131,200
// -> 8, BN 256, LeakyReLU, Conv(128,256) 524,544 -> 4, BN 512, LeakyReLU,
// Conv(256,1,k4) 4,097 -> 1x1, Linear(1,1) 2 (printed without a count):
// 663,747.
// G: ConvT(100,256,k4) 409,856, BN 512, ReLU, ConvT(256,128,k4,s2,p1) 524,416,
// BN 256, ReLU, ConvT(128,64) 131,136, BN 128, ReLU, ConvT(64,3) 3,075, Tanh:
// 1,069,379 (printed "1,669,379"; its rows sum to 1,069,379). The printout's
// output shapes (7, 14, 28, 56) cannot come from a 1x1 latent with a 4x4
// kernel nor end at CIFAR's 32x32; with the same kernels and counts this
// reads as the standard 1 -> 4 -> 8 -> 16 -> 32 DCGAN generator.
void BuildSeed004WganCifar(ModelBundle& b) {
  nn::Sequential d(
      Conv(3, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), LeakyReLU(0.2),
      Conv(64, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), nn::BatchNorm2d(128),
      LeakyReLU(0.2), Conv(128, 256, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
      nn::BatchNorm2d(256), LeakyReLU(0.2),
      Conv(256, 1, /*kernel_size=*/4, /*stride=*/1, /*padding=*/0, true), nn::Linear(1, 1));
  b.critic = Critic(d, ConvCriticLayout(b.image));
  nn::Sequential g(ConvT(b.latent_size, 256, /*kernel_size=*/4, /*stride=*/1, /*padding=*/0, true),
                   nn::BatchNorm2d(256), nn::ReLU(),
                   ConvT(256, 128, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   nn::BatchNorm2d(128), nn::ReLU(),
                   ConvT(128, 64, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true),
                   nn::BatchNorm2d(64), nn::ReLU(),
                   ConvT(64, 3, /*kernel_size=*/4, /*stride=*/2, /*padding=*/1, true), nn::Tanh());
  b.generator = Generator(g, GeneratorLayout{b.latent_size, 0, true, b.image});
}

}  // namespace

absl::StatusOr<ModelBundle> BuildCompiledPreset(const ModelInfo& info, int64_t latent_size,
                                                const DatasetInfo& dataset) {
  ModelBundle b = NewBundle(info, latent_size, dataset);
  const std::string_view name = info.name;
  if (name == "seed000-wgan") {
    BuildSeed000(b);
  } else if (name == "seed001-dcgan") {
    BuildSeed001Dcgan(b);
  } else if (name == "seed001-vae-mlp") {
    // Seed 001's VAE is the vae-mlp family at width 500, depth 1.
    ASSIGN_OR_RETURN(b.vae, BuildVaeMlp(b.image, FamilySize{latent_size, 500, 1}));
  } else if (name == "seed001-classifier") {
    ASSIGN_OR_RETURN(b.classifier,
                     BuildClassifierMlp(b.image, FamilySize{0, 500, 1}, dataset.num_classes));
    b.latent_size = 0;
  } else if (name == "seed002-dcgan") {
    BuildSeed002(b, /*label_channels=*/0);
  } else if (name == "seed002-cwgan") {
    BuildSeed002(b, /*label_channels=*/dataset.num_classes);
  } else if (name == "seed003-cwgan-mlp") {
    BuildSeed003(b);
  } else if (name == "seed004-vae-mlp") {
    BuildSeed004VaeMlp(b);
  } else if (name == "seed004-vae-conv") {
    BuildSeed004VaeConv(b);
  } else if (name == "seed004-gan-mnist") {
    BuildSeed004GanMnist(b);
  } else if (name == "seed004-gan-cifar10") {
    BuildSeed004GanCifar(b);
  } else if (name == "seed004-wgan-mnist") {
    BuildSeed004WganMnist(b);
  } else if (name == "seed004-wgan-cifar10") {
    BuildSeed004WganCifar(b);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("model: '", std::string(name), "' is not a seed preset"));
  }
  return b;
}

}  // namespace gridrun::bench::compiled
