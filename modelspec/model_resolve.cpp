#include "modelspec/model_resolve.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "modelspec/expression.h"

namespace gridrun::modelspec {
namespace {

int64_t Numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Resolves one network's layer list; errors go to message_ with the
// network, layer number and type, and the line.
class NetworkResolver {
 public:
  NetworkResolver(const ModelFile& file, const std::string& role, Environment env,
                  const ResolveLimits& limits)
      : file_(file), role_(role), env_(std::move(env)), limits_(limits) {}

  absl::Status Run(const YAML::Node& layers, Shape input, std::vector<ResolvedLayer>& out) {
    shape_ = std::move(input);
    network_input_ = shape_;
    if (!List(layers, out)) return absl::InvalidArgumentError(message_);
    return absl::OkStatus();
  }
  const Shape& shape() const { return shape_; }

  // Resolves a single layer on `input`, given as a type and an args node
  // (the VAE heads); `preset` holds arguments set before the file's.
  absl::StatusOr<ResolvedLayer> One(const std::string& label, const LayerType& type,
                                    const LayerArgs& preset, const YAML::Node& args, int line,
                                    Shape input) {
    shape_ = std::move(input);
    ResolvedLayer layer;
    layer.type = &type;
    layer.line = line;
    layer.args = preset;
    context_ = label;
    if (!Args(type, args, layer) || !Apply(layer)) return absl::InvalidArgumentError(message_);
    return layer;
  }

 private:
  bool Fail(int line, const std::string& problem) {
    if (message_.empty()) {
      const bool open = !context_.empty() && context_.back() == '(';
      message_ = absl::StrCat(file_.path, ": ", context_, open ? "" : ", ", "line ", line, "): ",
                              problem);
    }
    return false;
  }

  bool List(const YAML::Node& list, std::vector<ResolvedLayer>& out) {
    for (const YAML::Node& item : list) {
      if (item.IsMap() && item["repeat"]) {
        if (!Repeat(item, out)) return false;
        continue;
      }
      if (static_cast<int>(out.size()) >= kMaxLayersPerNetwork) {
        context_ = role_ + " (";
        return Fail(LineOf(item), absl::StrCat("more than ", kMaxLayersPerNetwork,
                                               " layers after repeats"));
      }
      ResolvedLayer layer;
      layer.line = LineOf(item);
      YAML::Node args;
      std::string type_name = item.IsScalar() ? item.Scalar() : item.begin()->first.Scalar();
      if (item.IsMap()) args = item.begin()->second;
      layer.type = FindLayerType(type_name);
      context_ = absl::StrCat(role_, " layer ", out.size() + 1, " (", type_name);
      if (!Args(*layer.type, args, layer) || !Apply(layer)) return false;
      out.push_back(std::move(layer));
    }
    return true;
  }

  bool Repeat(const YAML::Node& item, std::vector<ResolvedLayer>& out) {
    context_ = role_ + " repeat block (";
    int64_t count = 0;
    if (!Int(item["repeat"], "repeat", count)) return false;
    if (count < 0) return Fail(LineOf(item), absl::StrCat("repeat count ", count, " is negative"));
    if (count > kMaxLayersPerNetwork) {
      return Fail(LineOf(item), absl::StrCat("repeat count ", count, " is over ",
                                             kMaxLayersPerNetwork));
    }
    // Default indices by nesting depth: i, then j, k, ... inside it.
    const std::string index =
        item["index"] ? item["index"].Scalar() : std::string(1, static_cast<char>('i' + repeat_depth_));
    if (env_.contains(index)) {
      return Fail(LineOf(item), absl::StrCat("repeat index '", index,
                                             "' is already a name here; choose another"));
    }
    ++repeat_depth_;
    for (int64_t i = 0; i < count; ++i) {
      env_[index] = i;
      if (!List(item["layers"], out)) return false;
    }
    --repeat_depth_;
    env_.erase(index);
    return true;
  }

  // An integer scalar or ${expression}.
  bool Int(const YAML::Node& node, const std::string& name, int64_t& out) {
    if (!node.IsScalar()) return Fail(LineOf(node), name + ": expects an integer");
    const std::string& text = node.Scalar();
    if (IsExpression(text)) {
      auto value = EvaluateExpression(ExpressionBody(text), env_);
      if (!value.ok()) return Fail(LineOf(node), absl::StrCat(name, ": ", value.status().message()));
      out = *value;
      return true;
    }
    try {
      size_t used = 0;
      out = std::stoll(text, &used);
      if (used == text.size()) return true;
    } catch (const std::exception&) {
    }
    return Fail(LineOf(node), absl::StrCat(name, ": expects an integer or ${expression}, got '",
                                           text, "'"));
  }

  // "name: ${expr} = value; " for messages about a computed value.
  static std::string Shown(const YAML::Node& node, const std::string& name, int64_t value) {
    const std::string& text = node.Scalar();
    return IsExpression(text) ? absl::StrCat(name, ": ", text, " = ", value)
                              : absl::StrCat(name, ": ", value);
  }

  bool IntMin(const YAML::Node& node, const std::string& name, int64_t min, int64_t& out) {
    if (!Int(node, name, out)) return false;
    if (out >= min) return true;
    return Fail(LineOf(node), absl::StrCat(Shown(node, name, out), "; must be >= ", min));
  }

  bool Real(const YAML::Node& node, const ArgSpec& spec, double& out) {
    if (!node.IsScalar()) return Fail(LineOf(node), spec.name + ": expects a number");
    const std::string& text = node.Scalar();
    if (IsExpression(text)) {
      int64_t v = 0;
      if (!Int(node, spec.name, v)) return false;
      out = static_cast<double>(v);
    } else {
      try {
        size_t used = 0;
        out = std::stod(text, &used);
        if (used != text.size() || !std::isfinite(out)) throw std::invalid_argument(text);
      } catch (const std::exception&) {
        return Fail(LineOf(node), absl::StrCat(spec.name, ": expects a number, got '", text, "'"));
      }
    }
    if (spec.kind == ArgKind::kUnitReal && (out < 0 || out > 1)) {
      return Fail(LineOf(node), absl::StrCat(spec.name, ": ", text, " is not in [0, 1]"));
    }
    if (spec.kind == ArgKind::kPositiveReal && out <= 0) {
      return Fail(LineOf(node), absl::StrCat(spec.name, ": ", text, " must be > 0"));
    }
    return true;
  }

  bool Value(const YAML::Node& node, const ArgSpec& spec, ArgValue& out) {
    const std::string& name = spec.name;
    switch (spec.kind) {
      case ArgKind::kPositiveInt:
      case ArgKind::kNonNegInt:
      case ArgKind::kInt: {
        int64_t v = 0;
        const int64_t min = spec.kind == ArgKind::kPositiveInt ? 1
                            : spec.kind == ArgKind::kNonNegInt ? 0
                                                               : INT64_MIN;
        if (!IntMin(node, name, min, v)) return false;
        out = v;
        return true;
      }
      case ArgKind::kPadding:
        if (node.IsScalar() && (node.Scalar() == "same" || node.Scalar() == "valid")) {
          out = node.Scalar() == "same" ? ArgValue(std::string("same"))
                                        : ArgValue(std::vector<int64_t>{0, 0});
          return true;
        }
        [[fallthrough]];
      case ArgKind::kPair:
      case ArgKind::kNonNegPair: {
        const int64_t min = spec.kind == ArgKind::kPair ? 1 : 0;
        std::vector<int64_t> pair(2);
        if (node.IsSequence()) {
          if (node.size() != 2) {
            return Fail(LineOf(node), absl::StrCat(name, ": expects one integer or [h, w], gets ",
                                                   node.size(), " values"));
          }
          for (int i = 0; i < 2; ++i) {
            if (!IntMin(node[i], name, min, pair[i])) return false;
          }
        } else {
          if (!IntMin(node, name, min, pair[0])) return false;
          pair[1] = pair[0];
        }
        out = pair;
        return true;
      }
      case ArgKind::kUnitReal:
      case ArgKind::kPositiveReal:
      case ArgKind::kReal: {
        double v = 0;
        if (!Real(node, spec, v)) return false;
        out = v;
        return true;
      }
      case ArgKind::kBool:
        if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
          return Fail(LineOf(node), name + ": expects true or false");
        }
        out = node.Scalar() == "true";
        return true;
      case ArgKind::kIntList: {
        std::vector<int64_t> list;
        if (node.IsSequence()) {
          if (node.size() == 0 || node.size() > 8) {
            return Fail(LineOf(node), name + ": expects 1 to 8 sizes");
          }
          for (const YAML::Node& n : node) {
            int64_t v = 0;
            if (!IntMin(n, name, 1, v)) return false;
            list.push_back(v);
          }
        } else {
          int64_t v = 0;
          if (!IntMin(node, name, 1, v)) return false;
          list.push_back(v);
        }
        out = list;
        return true;
      }
      case ArgKind::kChoice:
        if (!node.IsScalar() ||
            std::find(spec.choices.begin(), spec.choices.end(), node.Scalar()) ==
                spec.choices.end()) {
          return Fail(LineOf(node), absl::StrCat(name, ": expects one of ",
                                                 absl::StrJoin(spec.choices, ", ")));
        }
        out = node.Scalar();
        return true;
    }
    return false;
  }

  bool Args(const LayerType& type, const YAML::Node& args, ResolvedLayer& layer) {
    const int line = layer.line;
    if (args && !args.IsNull()) {
      if (args.IsMap()) {
        for (auto it = args.begin(); it != args.end(); ++it) {
          const std::string key = it->first.Scalar();
          if (key == "functional") {
            if (!it->second.IsScalar() ||
                (it->second.Scalar() != "true" && it->second.Scalar() != "false")) {
              return Fail(LineOf(it->second), "functional: expects true or false");
            }
            layer.functional = it->second.Scalar() == "true";
            continue;
          }
          for (const ArgSpec& spec : type.args) {
            if (spec.name != key) continue;
            ArgValue v;
            if (!Value(it->second, spec, v)) return false;
            layer.args[key] = v;
          }
        }
      } else {
        std::vector<YAML::Node> positional;
        if (args.IsScalar() || ListIsTheArgument(type)) {
          positional.push_back(args);
        } else {
          for (const YAML::Node& n : args) positional.push_back(n);
        }
        for (size_t i = 0; i < positional.size(); ++i) {
          ArgValue v;
          if (!Value(positional[i], type.args[i], v)) return false;
          layer.args[type.args[i].name] = v;
        }
      }
    }
    for (const ArgSpec& spec : type.args) {
      if (layer.args.contains(spec.name)) continue;
      if (spec.default_value) {
        layer.args[spec.name] = *spec.default_value;
      } else if (!spec.inferred && !spec.optional) {
        return Fail(line, absl::StrCat("missing argument '", spec.name, "'"));
      }
    }
    return true;
  }

  bool Apply(ResolvedLayer& layer) {
    layer.input = shape_;
    auto result = ApplyLayer(*layer.type, layer.args, shape_);
    if (!result.ok()) {
      // "expects 64 input channels, gets 32 from layer 3 output [B, 32, 14, 14]"
      const std::string problem(result.status().message());
      const bool gets = problem.rfind("expects", 0) == 0;
      return Fail(layer.line, absl::StrCat(problem, gets ? " from " : "; its input is ", Source()));
    }
    layer.output = result->output;
    layer.params = result->params;
    const int64_t values = Numel(layer.output);
    if (values > limits_.max_activation_values) {
      return Fail(layer.line, absl::StrCat("output ", ShapeText(layer.output), " holds ", values,
                                           " values per image, over the limit of ",
                                           limits_.max_activation_values));
    }
    shape_ = layer.output;
    last_layer_ = layer_count_++;
    return true;
  }

  // Where the current input came from: "layer 3 output [B, 32, 14, 14]".
  std::string Source() const {
    if (layer_count_ == 0) return absl::StrCat("the ", role_, " input ", ShapeText(shape_));
    return absl::StrCat("layer ", last_layer_ + 1, " output ", ShapeText(shape_));
  }

  const ModelFile& file_;
  std::string role_;
  Environment env_;
  const ResolveLimits& limits_;
  Shape shape_;
  Shape network_input_;
  std::string context_;
  std::string message_;
  int layer_count_ = 0;
  int last_layer_ = 0;
  int repeat_depth_ = 0;
};

absl::Status Invalid(const ModelFile& f, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(f.path, ": ", problem));
}

// The image, or the flat vector the MLP generators produce.
absl::Status CheckImageOutput(const ModelFile& f, const std::string& role, const Shape& out,
                              const Shape& image) {
  if (out == image || out == Shape{Numel(image)}) return absl::OkStatus();
  return Invalid(f, absl::StrCat(role, ": output ", ShapeText(out), " is not the data set's image ",
                                 ShapeText(image), " (or the flat ", ShapeText({Numel(image)}),
                                 ")"));
}

}  // namespace

const ResolvedNetwork* ResolvedModel::Network(std::string_view role) const {
  for (const ResolvedNetwork& n : networks) {
    if (n.role == role) return &n;
  }
  return nullptr;
}

ParamCount ResolvedModel::TotalParams() const {
  ParamCount total;
  auto add = [&](const ResolvedLayer& l) {
    total.trainable += l.params.trainable;
    total.keras_non_trainable += l.params.keras_non_trainable;
  };
  for (const ResolvedNetwork& n : networks) {
    for (const ResolvedLayer& l : n.layers) add(l);
  }
  if (z_mean.type != nullptr) {
    add(z_mean);
    add(z_logvar);
  }
  return total;
}

absl::StatusOr<ResolvedModel> ResolveModel(std::shared_ptr<const ModelFile> file,
                                           const DatasetInfo& data, const ModelSizes& sizes,
                                           const ResolveLimits& limits) {
  const ModelFile& f = *file;
  ResolvedModel model;
  model.file = file;
  model.image = {data.channels, data.height, data.width};
  model.num_classes = data.num_classes;
  model.label_classes = f.conditional ? data.num_classes : 0;
  if (f.conditional && data.num_classes <= 0) {
    return Invalid(f, absl::StrCat("the model is conditional but data set '",
                                   std::string(data.name), "' has no classes"));
  }

  Environment env = {{"num_classes", data.num_classes},
                     {"channels", data.channels},
                     {"image_size", data.height},
                     {"image_height", data.height},
                     {"image_width", data.width}};
  const int64_t given[] = {sizes.latent_size, sizes.width, sizes.depth};
  for (size_t i = 0; i < ModelSettingNames().size(); ++i) {
    const std::string& name = ModelSettingNames()[i];
    auto it = f.settings.find(name);
    if (it == f.settings.end()) continue;
    env[name] = given[i] > 0 ? given[i] : it->second.value;
  }
  const bool has_latent = env.contains("latent_size");
  model.latent_size = has_latent ? env["latent_size"] : 0;
  if (f.objective != Objective::kClassifier && !has_latent) {
    return Invalid(f, "settings: a generative model must declare latent_size (the size of z)");
  }

  const Shape& image = model.image;
  const int64_t pixels = Numel(image);
  for (const NetworkDecl& decl : f.networks) {
    ResolvedNetwork net;
    net.role = decl.role;
    net.input = decl.input;
    net.labels = decl.labels;
    net.output = decl.output;
    if (decl.role == "generator" || decl.role == "decoder") {
      const int64_t z = model.latent_size + (decl.role == "generator" ? model.label_classes : 0);
      net.input_shape = decl.input == "spatial" ? Shape{z, 1, 1} : Shape{z};
    } else if (decl.labels == "vector") {
      net.input_shape = {pixels + model.label_classes};
    } else if (decl.input == "flat") {
      net.input_shape = {pixels};
    } else {
      net.input_shape = {image[0] + (decl.labels == "planes" ? model.label_classes : 0), image[1],
                         image[2]};
    }
    if (decl.is_torchscript()) {
      net.torchscript = decl.torchscript;
      net.torchscript_sha256 = decl.torchscript_sha256;
      model.networks.push_back(std::move(net));
      continue;
    }
    NetworkResolver resolver(f, decl.role, env, limits);
    RETURN_IF_ERROR(resolver.Run(decl.layers, net.input_shape, net.layers));
    const Shape& out = resolver.shape();
    if (decl.role == "generator" || decl.role == "decoder") {
      if (auto s = CheckImageOutput(f, decl.role, out, image); !s.ok()) return s;
    } else if (decl.role == "critic") {
      if (decl.output == "score" && Numel(out) != 1) {
        return Invalid(f, absl::StrCat("critic: output ", ShapeText(out),
                                       " is not one score per image; end with a layer of one "
                                       "output, or set output: mean to average its outputs"));
      }
    } else if (decl.role == "encoder") {
      if (out.size() != 1) {
        return Invalid(f, absl::StrCat("encoder: output ", ShapeText(out),
                                       " must be flat features for the latent heads; end the "
                                       "encoder with Flatten"));
      }
      const YAML::Node args = f.heads_line > 0 ? f.heads : YAML::Node();
      LayerArgs preset;
      if (f.heads_line == 0 || !f.heads["out_features"]) preset["out_features"] = model.latent_size;
      const int line = f.heads_line > 0 ? f.heads_line : decl.line;
      for (ResolvedLayer* head : {&model.z_mean, &model.z_logvar}) {
        NetworkResolver heads(f, "heads", env, limits);
        ASSIGN_OR_RETURN(*head, heads.One(head == &model.z_mean ? "heads (z_mean" : "heads (z_logvar",
                                          *FindLayerType("Linear"), preset, args, line, out));
      }
      if (IntArg(model.z_mean.args, "out_features") != model.latent_size) {
        return Invalid(f, absl::StrCat("heads: out_features ", IntArg(model.z_mean.args, "out_features"),
                                       " must equal latent_size ", model.latent_size));
      }
    } else if (decl.role == "classifier") {
      const ResolvedLayer& last = net.layers.back();
      if (last.type->name != "Linear" || out != Shape{model.num_classes}) {
        return Invalid(f, absl::StrCat("classifier: the last layer must be Linear with num_classes = ",
                                       model.num_classes, " outputs (the logits), gets ",
                                       last.type->name, " with output ", ShapeText(out)));
      }
    }
    model.networks.push_back(std::move(net));
  }
  const ParamCount total = model.TotalParams();
  if (total.trainable > limits.max_parameters) {
    return Invalid(f, absl::StrCat("the model has ", WithThousands(total.trainable),
                                   " parameters, over the limit of ",
                                   WithThousands(limits.max_parameters)));
  }
  return model;
}

absl::StatusOr<ResolvedModel> ResolveModelForTrial(std::shared_ptr<const ModelFile> file,
                                                   const DatasetInfo& dataset, ModelSizes sizes,
                                                   const ResolveLimits& limits) {
  const ModelInfo info = file->Info();
  const std::string& model = file->name;
  const std::string dataset_name(dataset.name);
  if (info.fixed_channels != 0 &&
      (dataset.channels != info.fixed_channels || dataset.height != info.fixed_size ||
       dataset.width != info.fixed_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: '", model, "' is built for ", info.fixed_channels, "x", info.fixed_size, "x",
        info.fixed_size, " images; dataset '", dataset_name, "' has ", dataset.channels, "x",
        dataset.height, "x", dataset.width));
  }
  if (info.conditional && dataset.num_classes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: '", model, "' is conditional but dataset '", dataset_name, "' has no classes"));
  }
  if (sizes.latent_size <= 0) sizes.latent_size = info.default_latent_size;
  if (sizes.width <= 0) sizes.width = info.default_width;
  if (sizes.depth <= 0) sizes.depth = info.default_depth;
  if (info.objective != Objective::kClassifier && !info.latent_adjustable &&
      sizes.latent_size != info.default_latent_size) {
    return absl::InvalidArgumentError(absl::StrCat("latent_size: '", model, "' fixes it at ",
                                                   info.default_latent_size, ", got ",
                                                   sizes.latent_size));
  }
  if (info.is_preset && (sizes.width != info.default_width || sizes.depth != info.default_depth)) {
    return absl::InvalidArgumentError(absl::StrCat("width/depth: preset '", model,
                                                   "' has a fixed layout; got width ", sizes.width,
                                                   ", depth ", sizes.depth));
  }
  auto resolved = ResolveModel(std::move(file), dataset, sizes, limits);
  if (!resolved.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", model, "' (latent_size ", sizes.latent_size, ", width ", sizes.width,
        ", depth ", sizes.depth, ") on ", dataset_name, ": ", resolved.status().message()));
  }
  return resolved;
}

}  // namespace gridrun::modelspec
