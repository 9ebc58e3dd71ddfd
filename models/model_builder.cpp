#include "models/model_builder.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/torchscript_network.h"

namespace gridrun::models {
namespace {

namespace nn = torch::nn;
using modelspec::BoolArg;
using modelspec::IntArg;
using modelspec::ListArg;
using modelspec::RealArg;
using modelspec::ResolvedLayer;
using modelspec::ResolvedNetwork;
using modelspec::StringArg;

torch::ExpandingArray<2> Pair(const ResolvedLayer& l, const char* name) {
  const std::vector<int64_t>& v = ListArg(l.args, name);
  return torch::ExpandingArray<2>({v[0], v[1]});
}

nn::BatchNormOptions BatchNormOptionsOf(const ResolvedLayer& l) {
  return nn::BatchNormOptions(IntArg(l.args, "num_features"))
      .eps(RealArg(l.args, "eps"))
      .momentum(RealArg(l.args, "momentum"))
      .affine(BoolArg(l.args, "affine"))
      .track_running_stats(BoolArg(l.args, "track_running_stats"));
}

// The module of one layer.
nn::AnyModule LayerModule(const ResolvedLayer& l) {
  const std::string& t = l.type->name;
  if (t == "Linear") {
    return nn::AnyModule(nn::Linear(
        nn::LinearOptions(IntArg(l.args, "in_features"), IntArg(l.args, "out_features"))
            .bias(BoolArg(l.args, "bias"))));
  }
  if (t == "Conv2d") {
    return nn::AnyModule(nn::Conv2d(
        nn::Conv2dOptions(IntArg(l.args, "in_channels"), IntArg(l.args, "out_channels"),
                          Pair(l, "kernel_size"))
            .stride(Pair(l, "stride"))
            .padding(Pair(l, "padding"))
            .dilation(Pair(l, "dilation"))
            .groups(IntArg(l.args, "groups"))
            .bias(BoolArg(l.args, "bias"))));
  }
  if (t == "ConvTranspose2d") {
    return nn::AnyModule(nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(IntArg(l.args, "in_channels"), IntArg(l.args, "out_channels"),
                                   Pair(l, "kernel_size"))
            .stride(Pair(l, "stride"))
            .padding(Pair(l, "padding"))
            .output_padding(Pair(l, "output_padding"))
            .dilation(Pair(l, "dilation"))
            .groups(IntArg(l.args, "groups"))
            .bias(BoolArg(l.args, "bias"))));
  }
  if (t == "BatchNorm1d") return nn::AnyModule(nn::BatchNorm1d(BatchNormOptionsOf(l)));
  if (t == "BatchNorm2d") return nn::AnyModule(nn::BatchNorm2d(BatchNormOptionsOf(l)));
  if (t == "LayerNorm") {
    return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions(ListArg(l.args, "normalized_shape"))
                                           .eps(RealArg(l.args, "eps"))
                                           .elementwise_affine(BoolArg(l.args, "elementwise_affine"))));
  }
  if (t == "Dropout") return nn::AnyModule(nn::Dropout(RealArg(l.args, "p")));
  if (t == "LeakyReLU") {
    return nn::AnyModule(
        nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(RealArg(l.args, "negative_slope"))));
  }
  if (t == "ReLU") return nn::AnyModule(nn::ReLU());
  if (t == "Tanh") return nn::AnyModule(nn::Tanh());
  if (t == "Sigmoid") return nn::AnyModule(nn::Sigmoid());
  if (t == "Identity") return nn::AnyModule(nn::Identity());
  if (t == "Flatten") {
    return nn::AnyModule(nn::Flatten(
        nn::FlattenOptions().start_dim(IntArg(l.args, "start_dim")).end_dim(IntArg(l.args, "end_dim"))));
  }
  if (t == "Unflatten") {
    return nn::AnyModule(nn::Unflatten(
        nn::UnflattenOptions(IntArg(l.args, "dim"), ListArg(l.args, "unflattened_size"))));
  }
  if (t == "Reshape") return nn::AnyModule(Reshape(ListArg(l.args, "shape")));
  if (t == "MaxPool2d") {
    return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(Pair(l, "kernel_size"))
                                           .stride(Pair(l, "stride"))
                                           .padding(Pair(l, "padding"))
                                           .dilation(Pair(l, "dilation"))
                                           .ceil_mode(BoolArg(l.args, "ceil_mode"))));
  }
  if (t == "AvgPool2d") {
    return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(Pair(l, "kernel_size"))
                                           .stride(Pair(l, "stride"))
                                           .padding(Pair(l, "padding"))
                                           .ceil_mode(BoolArg(l.args, "ceil_mode"))
                                           .count_include_pad(BoolArg(l.args, "count_include_pad"))));
  }
  if (t == "Upsample") {
    nn::UpsampleOptions options;
    if (l.args.contains("size")) {
      options.size(ListArg(l.args, "size"));
    } else {
      const std::vector<int64_t>& s = ListArg(l.args, "scale_factor");
      options.scale_factor(std::vector<double>{static_cast<double>(s[0]), static_cast<double>(s[1])});
    }
    const std::string& mode = StringArg(l.args, "mode");
    if (mode == "nearest") {
      options.mode(torch::kNearest);
    } else {
      if (mode == "bilinear") {
        options.mode(torch::kBilinear);
      } else {
        options.mode(torch::kBicubic);
      }
      options.align_corners(false);
    }
    return nn::AnyModule(nn::Upsample(options));
  }
  throw std::invalid_argument("no module for layer type " + t);
}

nn::Sequential BuildSequential(const std::vector<ResolvedLayer>& layers) {
  nn::Sequential seq;
  for (const ResolvedLayer& l : layers) {
    if (auto it = l.args.find("pad_extra"); it != l.args.end()) {
      const auto& extra = std::get<std::vector<int64_t>>(it->second);
      if (extra[0] != 0 || extra[1] != 0) {
        // Keras 'same' with an odd total: the extra pixel at the bottom/right.
        const std::vector<int64_t> pad = {0, extra[1], 0, extra[0]};
        seq->push_back(nn::Functional(
            [pad](torch::Tensor x) { return torch::constant_pad_nd(x, pad, 0); }));
      }
    }
    nn::AnyModule module = LayerModule(l);
    if (l.functional) {
      auto shared = std::make_shared<nn::AnyModule>(std::move(module));
      seq->push_back(nn::Functional(
          [shared](torch::Tensor x) { return shared->forward<torch::Tensor>(std::move(x)); }));
    } else {
      seq->push_back(std::move(module));
    }
  }
  return seq;
}

nn::Linear HeadModule(const ResolvedLayer& l) {
  return nn::Linear(nn::LinearOptions(IntArg(l.args, "in_features"), IntArg(l.args, "out_features"))
                        .bias(BoolArg(l.args, "bias")));
}

// Loads and checks the TorchScript network `net` (a role of `model`).
absl::StatusOr<TorchScriptNet> LoadNetwork(const modelspec::ResolvedModel& model,
                                           const ResolvedNetwork& net,
                                           const TorchScriptFiles& files) {
  const std::string name = absl::StrCat(model.file->path, ": ", net.role, " ", net.torchscript);
  if (net.torchscript_sha256.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": no torchscript_sha256 for it (gridrun submit, local and validate add it when "
              "they read the file)"));
  }
  auto bytes = files.find(net.torchscript_sha256);
  if (bytes == files.end()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " (sha256 ", net.torchscript_sha256,
                                                   "): its bytes were not provided"));
  }
  ASSIGN_OR_RETURN(TorchScriptNet loaded, LoadTorchScript(bytes->second, net.torchscript));
  TorchScriptContract contract;
  contract.role = net.role;
  contract.latent_size = model.latent_size;
  contract.num_classes = net.role == "generator" || net.role == "critic" ? model.label_classes : 0;
  contract.image = ImageShape{model.image[0], model.image[1], model.image[2]};
  RETURN_IF_ERROR(CheckTorchScriptContract(loaded, contract));
  return loaded;
}

}  // namespace

absl::StatusOr<ModelBundle> BuildResolvedModel(const modelspec::ResolvedModel& model,
                                               const TorchScriptFiles& torchscript) {
  const modelspec::ModelFile& file = *model.file;
  ModelBundle b;
  b.name = file.name;
  b.objective = file.objective;
  b.conditional = file.conditional;
  b.latent_size = model.latent_size;
  b.num_classes = model.num_classes;
  b.image = ImageShape{model.image[0], model.image[1], model.image[2]};
  b.count_convention = file.keras_counts ? CountConvention::kKeras : CountConvention::kTorch;
  std::map<std::string, TorchScriptNetPtr> scripted;  // by role
  for (const ResolvedNetwork& net : model.networks) {
    if (net.torchscript.empty()) continue;
    ASSIGN_OR_RETURN(TorchScriptNet loaded, LoadNetwork(model, net, torchscript));
    scripted[net.role] = loaded.ptr();
  }
  try {
    nn::Sequential encoder{nullptr}, decoder{nullptr};
    for (const ResolvedNetwork& net : model.networks) {
      if (!net.torchscript.empty()) {
        if (net.role == "generator") {
          b.generator = Generator(scripted[net.role],
                                  GeneratorLayout{model.latent_size, model.label_classes,
                                                  false, b.image});
        } else if (net.role == "critic") {
          CriticLayout layout;
          layout.image = b.image;
          layout.num_classes = model.label_classes;
          b.critic = Critic(scripted[net.role], layout);
        }
        continue;  // a VAE's networks join below
      }
      if (net.role == "classifier") {
        // The last layer (a Linear, checked by ResolveModel) is the output
        // projection; the rest are the features.
        std::vector<ResolvedLayer> hidden(net.layers.begin(), net.layers.end() - 1);
        nn::Sequential features = BuildSequential(hidden);
        nn::Linear projection = HeadModule(net.layers.back());
        b.classifier = Classifier(features, projection, b.image, net.input == "flat");
        continue;
      }
      nn::Sequential seq = BuildSequential(net.layers);
      if (net.role == "generator") {
        b.generator = Generator(seq, GeneratorLayout{model.latent_size, model.label_classes,
                                                     net.input == "spatial", b.image});
      } else if (net.role == "critic") {
        CriticLayout layout;
        layout.image = b.image;
        layout.num_classes = model.label_classes;
        layout.label_input = net.labels == "planes"   ? LabelInput::kPlanes
                             : net.labels == "vector" ? LabelInput::kVector
                                                      : LabelInput::kNone;
        layout.flatten_input = net.input == "flat";
        layout.mean_of_outputs = net.output == "mean";
        b.critic = Critic(seq, layout);
      } else if (net.role == "encoder") {
        encoder = seq;
      } else if (net.role == "decoder") {
        decoder = seq;
      }
    }
    if (scripted.contains("encoder") || scripted.contains("decoder")) {
      VaeImpl::Parts parts;
      parts.encoder = encoder;
      parts.decoder = decoder;
      parts.scripted_encoder = scripted["encoder"];
      parts.scripted_decoder = scripted["decoder"];
      if (encoder) {
        parts.z_logvar = HeadModule(model.z_logvar);
        parts.z_mean = HeadModule(model.z_mean);
      }
      const ResolvedNetwork* enc = model.Network("encoder");
      const ResolvedNetwork* dec = model.Network("decoder");
      b.vae = Vae(std::move(parts), model.latent_size, b.image, enc->input == "flat",
                  dec->input == "spatial");
    } else if (encoder) {
      // As the former C++ builders did: the heads after both networks,
      // log-variance first (their weights are drawn in this order).
      nn::Linear z_logvar = HeadModule(model.z_logvar);
      nn::Linear z_mean = HeadModule(model.z_mean);
      const ResolvedNetwork* enc = model.Network("encoder");
      const ResolvedNetwork* dec = model.Network("decoder");
      b.vae = Vae(encoder, z_mean, z_logvar, decoder, b.image, enc->input == "flat",
                  dec->input == "spatial");
    }
    if (file.dcgan_init) {
      for (const auto& [role, module] : b.Modules()) DcganInit(*module);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(file.path, ": building the modules: ", e.what()));
  }
  return b;
}

}  // namespace gridrun::models
