// Malformed model files: each is refused with its exact error text, naming
// the file, the network, the layer (number, type and line) and the problem
// (modelspec/model_file.h, modelspec/model_resolve.h). Parsing checks the
// structure; resolving (here on MNIST at the file's default sizes) checks
// expressions, sizes and shapes.
#include <gtest/gtest.h>

#include <string>

#include "modelspec/model_file.h"
#include "modelspec/model_resolve.h"

namespace gridrun::modelspec {
namespace {
namespace model_file_errors_test {

struct Case {
  const char* name;
  const char* text;
  const char* error;
};

const Case kCases[] = {
    {"NotYaml",
     R"yaml(objective: [gan
)yaml",
     "gan.yaml: line 2: not valid YAML: end of sequence flow not found"},
    {"NotAMap",
     R"yaml(- just
- a list
)yaml",
     "gan.yaml: not a model file (a YAML map with objective: and networks)"},
    {"EmptyFile",
     R"yaml()yaml",
     "gan.yaml: not a model file (a YAML map with objective: and networks)"},
    {"MissingObjective",
     R"yaml(settings: {latent_size: 4}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: line 1: missing 'objective' (allowed: vae, gan, wgan, wgan-gp, classifier)"},
    {"UnknownObjective",
     R"yaml(objective: wgan_gp
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: line 1: objective: unknown value 'wgan_gp', did you mean 'wgan-gp'? (allowed: vae, gan, wgan, wgan-gp, classifier)"},
    {"UnknownTopKey",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
optimiser: adam
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: line 3: unknown key 'optimiser' (allowed: name, description, kind, objective, conditional, data, settings, init, parameter_counts, generator, critic, discriminator, encoder, heads, decoder, classifier, torchscript_sha256)"},
    {"MissingCritic",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
)yaml",
     "gan.yaml: line 1: missing network 'critic' (a wgan model has generator, critic)"},
    {"NetworkOfAnotherObjective",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
encoder:
  layers: [ReLU]
)yaml",
     "gan.yaml: line 21: encoder: not a network of a wgan model (it has generator, critic)"},
    {"CriticAndDiscriminator",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
discriminator:
  layers: [ReLU]
)yaml",
     "gan.yaml: line 21: discriminator: give critic or discriminator, not both"},
    {"UnknownLayerType",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2D: {out_channels: 8, kernel_size: 4}
)yaml",
     "gan.yaml: line 14: critic: unknown layer type 'Conv2D', did you mean 'Conv2d'? (known: Linear, Conv2d, ConvTranspose2d, BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, LeakyReLU, ReLU, Tanh, Sigmoid, Flatten, Unflatten, Reshape, MaxPool2d, AvgPool2d, Upsample, Identity)"},
    {"UnknownArgument",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: 8, kernal_size: 4}
)yaml",
     "gan.yaml: line 14: critic: Conv2d: unknown argument 'kernal_size', did you mean 'kernel_size'? (allowed: in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)"},
    {"TooManyPositional",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - LeakyReLU: [0.2, true, 3]
)yaml",
     "gan.yaml: line 14: critic: LeakyReLU takes at most 1 positional argument (negative_slope), gets 3"},
    {"MissingArgument",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: 8}
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 14): missing argument 'kernel_size'"},
    {"LayerNotAMap",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - {Conv2d: {out_channels: 8}, ReLU: null}
)yaml",
     "gan.yaml: line 14: critic: a layer is written `- Type` or `- Type: {arguments}` (or a repeat block)"},
    {"NoLayers",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers: []
)yaml",
     "gan.yaml: line 13: critic: has no layers"},
    {"ConditionalWithoutLabels",
     R"yaml(objective: gan
conditional: true
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: line 14: critic: a conditional model's critic must say how it sees the label: labels: planes (stacked on the image channels) or labels: vector (appended to the flattened image)"},
    {"LabelsOnUnconditional",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  labels: planes
  layers: [Flatten, {Linear: {out_features: 1}}]
)yaml",
     "gan.yaml: line 13: critic.labels: the model is not conditional (set conditional: true)"},
    {"ConditionalVae",
     R"yaml(objective: vae
conditional: true
)yaml",
     "gan.yaml: line 2: conditional: only GAN objectives (gan, wgan, wgan-gp) take the class label"},
    {"UnknownSetting",
     R"yaml(objective: wgan
settings: {latent_size: 16, widht: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: line 2: settings: unknown setting 'widht', did you mean 'width'? (allowed: latent_size, width, depth)"},
    {"BadRepeatKey",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - repeat: 2
      times: 3
      layers: [ReLU]
)yaml",
     "gan.yaml: line 15: critic: repeat block: unknown key 'times' (allowed: repeat, index, layers)"},
    {"RepeatIndexIsASetting",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - repeat: 2
      index: width
      layers: [ReLU]
)yaml",
     "gan.yaml: line 15: critic: repeat index 'width' must be a new name (not a setting)"},
    {"ChannelMismatch",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {in_channels: "${width * 2}", out_channels: 64, kernel_size: 4, stride: 2, padding: 1}
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: critic layer 3 (Conv2d, line 16): expects 64 input channels, gets 32 from layer 2 output [B, 32, 14, 14]"},
    {"DeepChannelMismatch",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: 64, kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: 64, kernel_size: 3, padding: 1}
    - BatchNorm2d: {num_features: 32}
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: critic layer 6 (BatchNorm2d, line 19): expects 32 input features, gets 64 from layer 5 output [B, 64, 7, 7]"},
    {"LinearFeatureMismatch",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Flatten
    - Linear: {in_features: 512, out_features: 1}
)yaml",
     "gan.yaml: critic layer 2 (Linear, line 15): expects 512 input features, gets 784 from layer 1 output [B, 784]"},
    {"WrongGeneratorShape",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: 64, kernel_size: 7}
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: generator: output [B, 1, 14, 14] is not the data set's image [B, 1, 28, 28] (or the flat [B, 784])"},
    {"CriticNotOneScore",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: 8, kernel_size: 4, stride: 2, padding: 1}
)yaml",
     "gan.yaml: critic: output [B, 8, 14, 14] is not one score per image; end with a layer of one output, or set output: mean to average its outputs"},
    {"ConvOnFlatInput",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  input: flat
  layers:
    - Conv2d: {out_channels: 8, kernel_size: 3}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 15): expects a [C, H, W] input, gets [B, 784] from the critic input [B, 784]"},
    {"DivisionByZero",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width // (latent_size - 16)}", kernel_size: 4}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 14): out_channels: ${width // (latent_size - 16)}: division by zero"},
    {"NegativeSize",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width - 64}", kernel_size: 4}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 14): out_channels: ${width - 64} = -32; must be >= 1"},
    {"ZeroSizedLayer",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Flatten
    - Linear: {out_features: 0}
)yaml",
     "gan.yaml: critic layer 2 (Linear, line 15): out_features: 0; must be >= 1"},
    {"UnknownNameInExpression",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${widht}", kernel_size: 4}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 14): out_channels: ${widht}: unknown name 'widht', did you mean 'width'? (known: channels, image_height, image_size, image_width, latent_size, num_classes, width)"},
    {"UndeclaredSetting",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${depth * 8}", kernel_size: 4}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 14): out_channels: ${depth * 8}: unknown name 'depth' (known: channels, image_height, image_size, image_width, latent_size, num_classes, width)"},
    {"SlashIsNotIntegerDivision",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width / 2}", kernel_size: 4}
)yaml",
     "gan.yaml: critic layer 1 (Conv2d, line 14): out_channels: ${width / 2}: '/' is not integer division; write '//'"},
    {"ImpossibleRepeat",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 8, depth: 6}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - repeat: ${depth}
      layers:
        - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: critic layer 5 (Conv2d, line 16): the convolution makes the 1x1 input 0x0 (it must stay at least 1x1); its input is layer 4 output [B, 8, 1, 1]"},
    {"NegativeRepeat",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - repeat: ${latent_size - 20}
      layers: [ReLU]
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: critic repeat block (line 14): repeat count -4 is negative"},
    {"EncoderNotFlat",
     R"yaml(objective: vae
settings: {latent_size: 8}
encoder:
  layers:
    - Conv2d: {out_channels: 8, kernel_size: 4, stride: 2, padding: 1}
decoder:
  layers:
    - Linear: {out_features: 784}
)yaml",
     "gan.yaml: encoder: output [B, 8, 14, 14] must be flat features for the latent heads; end the encoder with Flatten"},
    {"HeadsNotLatent",
     R"yaml(objective: vae
settings: {latent_size: 8}
encoder:
  input: flat
  layers:
    - Linear: {out_features: 64}
heads: {out_features: 16}
decoder:
  layers:
    - Linear: {out_features: 784}
)yaml",
     "gan.yaml: heads: out_features 16 must equal latent_size 8"},
    {"ClassifierWithoutProjection",
     R"yaml(objective: classifier
classifier:
  layers:
    - Linear: {out_features: 64}
    - ReLU
)yaml",
     "gan.yaml: classifier: the last layer must be Linear with num_classes = 10 outputs (the logits), gets ReLU with output [B, 64]"},
    {"BadOutputPadding",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: 8, kernel_size: 7}
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1, output_padding: 2}
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: generator layer 2 (ConvTranspose2d, line 7): output_padding 2 must be smaller than stride 2 or dilation 1; its input is layer 1 output [B, 8, 7, 7]"},
    {"TooLarge",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 60000}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: the model has 230,502,240,002 parameters, over the limit of 1,000,000,000"},
    {"BadBool",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Flatten
    - Linear: {out_features: 1, bias: yes}
)yaml",
     "gan.yaml: critic layer 2 (Linear, line 15): bias: expects true or false"},
    {"RealOutOfRange",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Dropout: 1.5
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: critic layer 1 (Dropout, line 14): p: 1.5 is not in [0, 1]"},
    {"ReshapeWrongSize",
     R"yaml(objective: wgan
settings: {latent_size: 16, width: 32}
generator:
  layers:
    - Linear: {out_features: 6272}
    - Reshape: [128, 7, 8]
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: generator layer 2 (Reshape, line 6): shape [128, 7, 8] holds 7168 values per image, not 6272; its input is layer 1 output [B, 6272]"},
    {"NoLatentSize",
     R"yaml(objective: gan
settings: {width: 8}
generator:
  input: spatial
  layers:
    - ConvTranspose2d: {out_channels: "${width * 2}", kernel_size: 7}
    - ReLU
    - ConvTranspose2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - ReLU
    - ConvTranspose2d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
    - Tanh
critic:
  layers:
    - Conv2d: {out_channels: "${width}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Conv2d: {out_channels: "${width * 2}", kernel_size: 4, stride: 2, padding: 1}
    - LeakyReLU: 0.2
    - Flatten
    - Linear: {out_features: 1}
)yaml",
     "gan.yaml: settings: a generative model must declare latent_size (the size of z)"},
};

std::string ErrorOf(const Case& c) {
  const DatasetInfo mnist{"mnist", 1, 28, 28, 10};
  auto file = ParseModelFile("gan.yaml", c.text);
  if (!file.ok()) return std::string(file.status().message());
  auto model = ResolveModel(*file, mnist, {});
  if (!model.ok()) return std::string(model.status().message());
  return "(accepted)";
}

class MalformedModelFile : public ::testing::TestWithParam<Case> {};

TEST_P(MalformedModelFile, IsRefusedWithItsExactError) {
  EXPECT_EQ(ErrorOf(GetParam()), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(Files, MalformedModelFile, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MalformedModelFile, ThereAreAtLeastThirty) { EXPECT_GE(std::size(kCases), 30u); }

TEST(MalformedModelFile, OversizedFileIsRefusedBeforeParsing) {
  auto file = ParseModelFile("big.yaml", std::string(kMaxModelFileBytes + 1, '#'));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(std::string(file.status().message()), "big.yaml: 1048577 bytes; a model file may have at most 1048576");
}

// A repeat that multiplies layers past the per-network limit stops there.
TEST(MalformedModelFile, LayerCountIsBounded) {
  const char* text = R"yaml(objective: wgan
settings: {latent_size: 16}
generator:
  - Linear: {out_features: 784}
critic:
  - repeat: 1000
    layers:
      - repeat: 1000
        layers: [ReLU]
  - Linear: {out_features: 1}
)yaml";
  auto file = ParseModelFile("bomb.yaml", text);
  ASSERT_TRUE(file.ok()) << file.status();
  auto model = ResolveModel(*file, DatasetInfo{"mnist", 1, 28, 28, 10}, {});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(std::string(model.status().message()),
            "bomb.yaml: critic (line 9): more than 1000 layers after repeats");
}

}  // namespace model_file_errors_test
}  // namespace
}  // namespace gridrun::modelspec
