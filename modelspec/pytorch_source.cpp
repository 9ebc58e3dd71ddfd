#include "modelspec/pytorch_source.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridrun::modelspec {
namespace {

// A Python float literal that reads back as exactly this double.
std::string PyReal(double value) {
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {  // the shortest exact form
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text = buffer;
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

std::string PyBool(bool value) { return value ? "True" : "False"; }

std::string PyTuple(const std::vector<int64_t>& values) {
  if (values.size() == 1) return absl::StrCat("(", values[0], ",)");
  return absl::StrCat("(", absl::StrJoin(values, ", "), ")");
}

std::string PyString(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// The constructor call of one resolved layer (its arguments all written out).
std::string LayerExpression(const ResolvedLayer& l) {
  const LayerArgs& a = l.args;
  const std::string& t = l.type->name;
  auto pair = [&](const char* name) { return PyTuple(ListArg(a, name)); };
  if (t == "Linear") {
    return absl::StrCat("nn.Linear(", IntArg(a, "in_features"), ", ", IntArg(a, "out_features"),
                        ", bias=", PyBool(BoolArg(a, "bias")), ")");
  }
  if (t == "Conv2d" || t == "ConvTranspose2d") {
    std::string s = absl::StrCat("nn.", t, "(", IntArg(a, "in_channels"), ", ",
                                 IntArg(a, "out_channels"), ", kernel_size=", pair("kernel_size"),
                                 ", stride=", pair("stride"), ", padding=", pair("padding"));
    if (t == "ConvTranspose2d") absl::StrAppend(&s, ", output_padding=", pair("output_padding"));
    absl::StrAppend(&s, ", dilation=", pair("dilation"), ", groups=", IntArg(a, "groups"),
                    ", bias=", PyBool(BoolArg(a, "bias")), ")");
    return s;
  }
  if (t == "BatchNorm1d" || t == "BatchNorm2d") {
    return absl::StrCat("nn.", t, "(", IntArg(a, "num_features"), ", eps=", PyReal(RealArg(a, "eps")),
                        ", momentum=", PyReal(RealArg(a, "momentum")),
                        ", affine=", PyBool(BoolArg(a, "affine")),
                        ", track_running_stats=", PyBool(BoolArg(a, "track_running_stats")), ")");
  }
  if (t == "LayerNorm") {
    return absl::StrCat("nn.LayerNorm(", PyTuple(ListArg(a, "normalized_shape")),
                        ", eps=", PyReal(RealArg(a, "eps")),
                        ", elementwise_affine=", PyBool(BoolArg(a, "elementwise_affine")), ")");
  }
  if (t == "Dropout") return absl::StrCat("nn.Dropout(p=", PyReal(RealArg(a, "p")), ")");
  if (t == "LeakyReLU") {
    return absl::StrCat("nn.LeakyReLU(negative_slope=", PyReal(RealArg(a, "negative_slope")), ")");
  }
  if (t == "ReLU" || t == "Tanh" || t == "Sigmoid" || t == "Identity") {
    return absl::StrCat("nn.", t, "()");
  }
  if (t == "Flatten") {
    return absl::StrCat("nn.Flatten(start_dim=", IntArg(a, "start_dim"),
                        ", end_dim=", IntArg(a, "end_dim"), ")");
  }
  if (t == "Unflatten") {
    return absl::StrCat("nn.Unflatten(", IntArg(a, "dim"), ", ",
                        PyTuple(ListArg(a, "unflattened_size")), ")");
  }
  if (t == "Reshape") return absl::StrCat("Reshape(", PyTuple(ListArg(a, "shape")), ")");
  if (t == "MaxPool2d") {
    return absl::StrCat("nn.MaxPool2d(kernel_size=", pair("kernel_size"), ", stride=",
                        pair("stride"), ", padding=", pair("padding"), ", dilation=",
                        pair("dilation"), ", ceil_mode=", PyBool(BoolArg(a, "ceil_mode")), ")");
  }
  if (t == "AvgPool2d") {
    return absl::StrCat("nn.AvgPool2d(kernel_size=", pair("kernel_size"), ", stride=",
                        pair("stride"), ", padding=", pair("padding"),
                        ", ceil_mode=", PyBool(BoolArg(a, "ceil_mode")),
                        ", count_include_pad=", PyBool(BoolArg(a, "count_include_pad")), ")");
  }
  if (t == "Upsample") {
    std::string s = "nn.Upsample(";
    if (a.contains("size")) {
      absl::StrAppend(&s, "size=", pair("size"));
    } else {
      const std::vector<int64_t>& f = ListArg(a, "scale_factor");
      absl::StrAppend(&s, "scale_factor=(", PyReal(static_cast<double>(f[0])), ", ",
                      PyReal(static_cast<double>(f[1])), ")");
    }
    const std::string& mode = StringArg(a, "mode");
    absl::StrAppend(&s, ", mode=", PyString(mode));
    // models/model_builder.cpp: align_corners false for the interpolating modes.
    if (mode != "nearest") absl::StrAppend(&s, ", align_corners=False");
    return s + ")";
  }
  return absl::StrCat("None  # no PyTorch module for layer type ", t);
}

// The body of an nn.Sequential(...) for `layers`, one child per line, with
// the same children (and so indices) as models/model_builder.cpp's.
std::string SequentialSource(const std::vector<ResolvedLayer>& layers, const std::string& indent) {
  std::string s = "nn.Sequential(\n";
  int index = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ResolvedLayer& l = layers[i];
    if (auto it = l.args.find("pad_extra"); it != l.args.end()) {
      const auto& extra = std::get<std::vector<int64_t>>(it->second);
      if (extra[0] != 0 || extra[1] != 0) {
        absl::StrAppend(&s, indent, "    SamePadExtra(bottom=", extra[0], ", right=", extra[1],
                        "),  # ", index++, ": Keras 'same' padding, odd total\n");
      }
    }
    absl::StrAppend(&s, indent, "    ", LayerExpression(l), ",  # ", index++, ": layer ", i + 1,
                    " (line ", l.line, ")", l.functional ? ", functional" : "", " -> ",
                    ShapeText(l.output), "\n");
  }
  return s + indent + ")";
}

std::string OneHotLine(const char* var, const char* like) {
  return absl::StrCat("F.one_hot(", var, ".long(), NUM_CLASSES).to(", like, ".dtype)");
}

std::string GeneratorClass(const ResolvedNetwork& net) {
  std::string s =
      "class Generator(nn.Module):\n"
      "    \"\"\"z [B, LATENT_SIZE] (+ labels [B] int64 when conditional) -> images "
      "[B, *IMAGE_SHAPE].\"\"\"\n\n"
      "    def __init__(self):\n"
      "        super().__init__()\n";
  absl::StrAppend(&s, "        self.net = ", SequentialSource(net.layers, "        "), "\n\n");
  s += "    def forward(self, z, labels=None):\n        x = z\n";
  s += "        if NUM_CLASSES:\n";
  absl::StrAppend(&s, "            x = torch.cat([z, ", OneHotLine("labels", "z"), "], dim=1)\n");
  if (net.input == "spatial") s += "        x = x.view(x.size(0), x.size(1), 1, 1)\n";
  s += "        out = self.net(x)\n"
       "        return out.view(out.size(0), *IMAGE_SHAPE)\n";
  return s;
}

std::string CriticClass(const ResolvedNetwork& net) {
  std::string s =
      "class Critic(nn.Module):\n"
      "    \"\"\"images [B, *IMAGE_SHAPE] (+ labels [B] when conditional) -> one raw score per "
      "image [B, 1]\n    (a logit for BCE GANs, a Wasserstein score for WGANs).\"\"\"\n\n"
      "    def __init__(self):\n"
      "        super().__init__()\n";
  absl::StrAppend(&s, "        self.net = ", SequentialSource(net.layers, "        "), "\n\n");
  s += "    def forward(self, images, labels=None):\n        x = images\n";
  if (net.input == "flat") s += "        x = x.reshape(x.size(0), -1)\n";
  if (net.labels == "vector") {
    absl::StrAppend(&s, "        x = torch.cat([x.reshape(x.size(0), -1), ",
                    OneHotLine("labels", "images"), "], dim=1)\n");
  } else if (net.labels == "planes") {
    absl::StrAppend(&s, "        one_hot = ", OneHotLine("labels", "images"), "\n",
                    "        planes = one_hot.view(-1, NUM_CLASSES, 1, 1).expand(\n"
                    "            -1, NUM_CLASSES, images.size(2), images.size(3))\n"
                    "        x = torch.cat([x, planes], dim=1)\n");
  }
  s += "        out = self.net(x).reshape(x.size(0), -1)\n";
  s += net.output == "mean" ? "        return out.mean(dim=1, keepdim=True)\n"
                            : "        return out\n";
  return s;
}

std::string VaeClass(const ResolvedModel& model) {
  const ResolvedNetwork* enc = model.Network("encoder");
  const ResolvedNetwork* dec = model.Network("decoder");
  std::string s =
      "class VAE(nn.Module):\n"
      "    \"\"\"encode(images) -> (mu, logvar); decode(z) -> images in [0, 1];\n"
      "    forward(images) -> (reconstruction logits, mu, logvar).\"\"\"\n\n"
      "    def __init__(self):\n"
      "        super().__init__()\n";
  absl::StrAppend(&s, "        self.encoder = ", SequentialSource(enc->layers, "        "), "\n");
  absl::StrAppend(&s, "        self.z_mean = ", LayerExpression(model.z_mean), "\n");
  absl::StrAppend(&s, "        self.z_logvar = ", LayerExpression(model.z_logvar), "\n");
  absl::StrAppend(&s, "        self.decoder = ", SequentialSource(dec->layers, "        "), "\n\n");
  s += "    def encode(self, images):\n";
  s += enc->input == "flat" ? "        h = self.encoder(images.reshape(images.size(0), -1))\n"
                            : "        h = self.encoder(images)\n";
  s += "        return self.z_mean(h), self.z_logvar(h)\n\n";
  s += "    def decode_logits(self, z):\n";
  s += dec->input == "spatial" ? "        out = self.decoder(z.view(z.size(0), z.size(1), 1, 1))\n"
                               : "        out = self.decoder(z)\n";
  s += "        return out.view(out.size(0), *IMAGE_SHAPE)\n\n"
       "    def decode(self, z):\n"
       "        return torch.sigmoid(self.decode_logits(z))\n\n"
       "    def forward(self, images):\n"
       "        mu, logvar = self.encode(images)\n"
       "        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)\n"
       "        return self.decode_logits(z), mu, logvar\n";
  return s;
}

std::string ClassifierClass(const ResolvedNetwork& net) {
  std::vector<ResolvedLayer> hidden(net.layers.begin(), net.layers.end() - 1);
  std::string s =
      "class Classifier(nn.Module):\n"
      "    \"\"\"images [B, *IMAGE_SHAPE] -> class logits [B, NUM_DATA_CLASSES].\"\"\"\n\n"
      "    def __init__(self):\n"
      "        super().__init__()\n";
  absl::StrAppend(&s, "        self.layers = ", SequentialSource(hidden, "        "), "\n");
  absl::StrAppend(&s, "        self.output_projection = ", LayerExpression(net.layers.back()),
                  "\n\n");
  s += "    def features(self, images):\n";
  s += net.input == "flat" ? "        return self.layers(images.reshape(images.size(0), -1))\n\n"
                           : "        return self.layers(images)\n\n";
  s += "    def forward(self, images):\n"
       "        return self.output_projection(self.features(images))\n";
  return s;
}

}  // namespace

std::string PyTorchClassName(const std::string& module_role) {
  if (module_role == "generator") return "Generator";
  if (module_role == "critic") return "Critic";
  if (module_role == "vae") return "VAE";
  if (module_role == "classifier") return "Classifier";
  return "";
}

namespace {

// The network of `role` when it is a layer list; nullptr when the model has
// none or it is TorchScript (exported as TorchScript, no Python class).
const ResolvedNetwork* LayerListNetwork(const ResolvedModel& model, const char* role) {
  const ResolvedNetwork* network = model.Network(role);
  return network != nullptr && network->torchscript.empty() ? network : nullptr;
}

}  // namespace

std::string PyTorchSource(const ResolvedModel& model, const PyTorchSourceInfo& info) {
  const ModelFile& file = *model.file;
  std::string s = absl::StrCat(
      "# Generated by gridrun export from the model file ", file.path, " (model '", file.name,
      "')\n# on ", info.dataset, ": ", info.description,
      ".\n#\n# The same modules, with the same parameter names, as gridrun trained, so the\n"
      "# exported weights load as they are:\n"
      "#\n#   import torch\n#   from model import *\n");
  for (const char* role : {"generator", "critic", "vae", "classifier"}) {
    const bool has = (std::string(role) == "vae" && LayerListNetwork(model, "encoder") &&
                      LayerListNetwork(model, "decoder")) ||
                     (std::string(role) != "vae" && LayerListNetwork(model, role));
    if (!has) continue;
    const std::string cls = PyTorchClassName(role);
    const std::string r = role;
    const std::string var = r == "generator" ? "G" : r == "critic" ? "D" : r == "vae" ? "vae" : "clf";
    absl::StrAppend(&s, "#   ", var, " = ", cls, "(); ", var, ".load_state_dict(torch.load('",
                    role, ".pt')); ", var, ".eval()\n");
  }
  absl::StrAppend(
      &s,
      "#\n# Generators end in Tanh (images in [-1, 1]); VAE decode() gives [0, 1].\n"
      "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n"
      "IMAGE_SHAPE = ", PyTuple(model.image), "  # channels, height, width\n",
      "LATENT_SIZE = ", model.latent_size, "\n",
      "NUM_CLASSES = ", model.label_classes, "  # label classes the networks take (0: unconditional)\n",
      "NUM_DATA_CLASSES = ", model.num_classes, "\n\n\n",
      "class Reshape(nn.Module):\n"
      "    \"\"\"x.view(batch, *shape).\"\"\"\n\n"
      "    def __init__(self, shape):\n"
      "        super().__init__()\n"
      "        self.shape = tuple(shape)\n\n"
      "    def forward(self, x):\n"
      "        return x.view(x.size(0), *self.shape)\n\n\n"
      "class SamePadExtra(nn.Module):\n"
      "    \"\"\"The extra bottom/right zero pixel of Keras 'same' padding with an odd total.\"\"\"\n\n"
      "    def __init__(self, bottom, right):\n"
      "        super().__init__()\n"
      "        self.bottom, self.right = bottom, right\n\n"
      "    def forward(self, x):\n"
      "        return F.pad(x, (0, self.right, 0, self.bottom))\n");
  if (const ResolvedNetwork* g = LayerListNetwork(model, "generator")) {
    absl::StrAppend(&s, "\n\n", GeneratorClass(*g));
  }
  if (const ResolvedNetwork* c = LayerListNetwork(model, "critic")) {
    absl::StrAppend(&s, "\n\n", CriticClass(*c));
  }
  if (LayerListNetwork(model, "encoder") != nullptr &&
      LayerListNetwork(model, "decoder") != nullptr) {
    absl::StrAppend(&s, "\n\n", VaeClass(model));
  }
  if (const ResolvedNetwork* c = model.Network("classifier")) {
    if (!c->layers.empty()) absl::StrAppend(&s, "\n\n", ClassifierClass(*c));
  }
  return s;
}

}  // namespace gridrun::modelspec
