#include "modelspec/layer_types.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridrun::modelspec {
namespace {

using Pair = std::vector<int64_t>;

ArgSpec Req(std::string name, ArgKind kind) { return ArgSpec{std::move(name), kind, std::nullopt}; }
ArgSpec Def(std::string name, ArgKind kind, ArgValue value) {
  return ArgSpec{std::move(name), kind, std::move(value)};
}
ArgSpec Inferred(std::string name, ArgKind kind) {
  ArgSpec a{std::move(name), kind, std::nullopt};
  a.inferred = true;
  return a;
}
ArgSpec Optional(std::string name, ArgKind kind) {
  ArgSpec a{std::move(name), kind, std::nullopt};
  a.optional = true;
  return a;
}
ArgSpec Choice(std::string name, std::string value, std::vector<std::string> choices) {
  ArgSpec a{std::move(name), ArgKind::kChoice, ArgValue(std::move(value))};
  a.choices = std::move(choices);
  return a;
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

int64_t Product(const Shape& s) {
  int64_t p = 1;
  for (int64_t d : s) p *= d;
  return p;
}

std::string ListText(const Pair& values) {
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

// A [C, H, W] input or an error naming what came instead.
absl::Status NeedImage(const Shape& in) {
  if (in.size() == 3) return absl::OkStatus();
  return Invalid(absl::StrCat("expects a [C, H, W] input, gets ", ShapeText(in)));
}

// Output side of a convolution or pooling window (PyTorch's formula).
int64_t WindowOut(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                  bool ceil_mode) {
  const int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  if (!ceil_mode) return span / stride + 1;
  int64_t out = (span + stride - 1) / stride + 1;
  // The last window must start inside the input or its left padding.
  if ((out - 1) * stride >= in + padding) --out;
  return out;
}

absl::StatusOr<Shape> Spatial(const Shape& in, const Pair& out_hw, const char* what) {
  if (out_hw[0] < 1 || out_hw[1] < 1) {
    return Invalid(absl::StrCat(what, " makes the ", in[1], "x", in[2], " input ", out_hw[0], "x",
                                out_hw[1], " (it must stay at least 1x1)"));
  }
  return Shape{0, out_hw[0], out_hw[1]};
}

absl::Status CheckChannels(const LayerArgs& args, const char* key, int64_t got,
                           const char* noun) {
  const int64_t want = IntArg(args, key);
  if (want == got) return absl::OkStatus();
  return Invalid(absl::StrCat("expects ", want, " input ", noun, ", gets ", got));
}

void InferIfMissing(LayerArgs& args, const char* key, ArgValue value) {
  if (!args.contains(key)) args[key] = std::move(value);
}

absl::Status CheckGroups(const LayerArgs& args, int64_t in, int64_t out) {
  const int64_t groups = IntArg(args, "groups");
  if (in % groups != 0 || out % groups != 0) {
    return Invalid(absl::StrCat("groups ", groups, " must divide in_channels ", in,
                                " and out_channels ", out));
  }
  return absl::OkStatus();
}

// Keras 'same': out = ceil(in / stride) with a total padding of
// max((out - 1) * stride + dilation * (kernel - 1) + 1 - in, 0), the odd
// pixel at the bottom/right. Returns the symmetric part and the extra one.
void SamePadding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t& pad,
                 int64_t& extra) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + dilation * (kernel - 1) + 1 - in, 0);
  pad = total / 2;
  extra = total % 2;
}

// PyTorch's Linear maps the last dimension and keeps the others.
absl::StatusOr<LayerResult> ApplyLinear(LayerArgs& args, const Shape& in) {
  if (in.empty()) return Invalid("expects a [..., features] input, gets [B]");
  InferIfMissing(args, "in_features", in.back());
  if (IntArg(args, "in_features") != in.back()) {
    return Invalid(absl::StrCat("expects ", IntArg(args, "in_features"), " input features, gets ",
                                in.back()));
  }
  const int64_t i = IntArg(args, "in_features"), o = IntArg(args, "out_features");
  Shape out = in;
  out.back() = o;
  return LayerResult{out, {i * o + (BoolArg(args, "bias") ? o : 0), 0}};
}

absl::StatusOr<LayerResult> ApplyConv(LayerArgs& args, const Shape& in, bool transposed) {
  if (auto s = NeedImage(in); !s.ok()) return s;
  InferIfMissing(args, "in_channels", in[0]);
  if (auto s = CheckChannels(args, "in_channels", in[0], "channels"); !s.ok()) return s;
  const int64_t ci = IntArg(args, "in_channels"), co = IntArg(args, "out_channels");
  if (auto s = CheckGroups(args, ci, co); !s.ok()) return s;
  const Pair& k = ListArg(args, "kernel_size");
  const Pair& st = ListArg(args, "stride");
  const Pair& d = ListArg(args, "dilation");
  Pair pad = {0, 0}, extra = {0, 0};
  const ArgValue& padding = args.at("padding");
  if (const auto* name = std::get_if<std::string>(&padding)) {
    if (*name == "same") {
      for (int i = 0; i < 2; ++i) {
        if (transposed) {
          // Keras Conv2DTranspose 'same': out = in * stride, from
          // 2 * padding - output_padding = kernel - stride.
          const int64_t need = d[i] * (k[i] - 1) + 1 - st[i];
          if (need < 0) {
            return Invalid(absl::StrCat("padding 'same' needs kernel_size >= stride, gets kernel ",
                                        k[i], " and stride ", st[i]));
          }
          pad[i] = (need + 1) / 2;
          extra[i] = 2 * pad[i] - need;  // becomes output_padding
        } else {
          SamePadding(in[i + 1], k[i], st[i], d[i], pad[i], extra[i]);
        }
      }
    }
  } else {
    pad = std::get<Pair>(padding);
  }
  args["padding"] = pad;
  Pair out_hw(2);
  if (transposed) {
    Pair op = ListArg(args, "output_padding");
    if (std::holds_alternative<std::string>(padding)) op = extra;
    args["output_padding"] = op;
    for (int i = 0; i < 2; ++i) {
      if (op[i] >= st[i] && op[i] >= d[i]) {
        return Invalid(absl::StrCat("output_padding ", op[i], " must be smaller than stride ",
                                    st[i], " or dilation ", d[i]));
      }
      out_hw[i] = (in[i + 1] - 1) * st[i] - 2 * pad[i] + d[i] * (k[i] - 1) + op[i] + 1;
    }
  } else {
    args["pad_extra"] = extra;
    for (int i = 0; i < 2; ++i) {
      out_hw[i] = WindowOut(in[i + 1] + extra[i], k[i], st[i], pad[i], d[i], false);
    }
  }
  auto spatial = Spatial(in, out_hw, transposed ? "the transposed convolution" : "the convolution");
  if (!spatial.ok()) return spatial.status();
  Shape out = *spatial;
  out[0] = co;
  const int64_t groups = IntArg(args, "groups");
  const int64_t weights = transposed ? ci * (co / groups) * k[0] * k[1]
                                     : co * (ci / groups) * k[0] * k[1];
  return LayerResult{out, {weights + (BoolArg(args, "bias") ? co : 0), 0}};
}

absl::StatusOr<LayerResult> ApplyBatchNorm(LayerArgs& args, const Shape& in, bool two_d) {
  if (two_d) {
    if (auto s = NeedImage(in); !s.ok()) return s;
  } else if (in.size() != 1 && in.size() != 2) {
    return Invalid(absl::StrCat("expects a [C] or [C, L] input, gets ", ShapeText(in)));
  }
  InferIfMissing(args, "num_features", in[0]);
  if (auto s = CheckChannels(args, "num_features", in[0], "features"); !s.ok()) return s;
  if (auto it = args.find("keras_momentum"); it != args.end()) {
    // Keras keeps momentum * old + (1 - momentum) * new; PyTorch the reverse.
    args["momentum"] = 1.0 - std::get<double>(it->second);
  }
  const int64_t c = in[0];
  return LayerResult{in, {BoolArg(args, "affine") ? 2 * c : 0,
                          BoolArg(args, "track_running_stats") ? 2 * c : 0}};
}

absl::StatusOr<LayerResult> ApplyLayerNorm(LayerArgs& args, const Shape& in) {
  InferIfMissing(args, "normalized_shape", in);
  const Pair& norm = ListArg(args, "normalized_shape");
  if (norm.size() > in.size() || !std::equal(norm.rbegin(), norm.rend(), in.rbegin())) {
    return Invalid(absl::StrCat("normalized_shape ", ListText(norm),
                                " must be the trailing dimensions of the input, gets ",
                                ShapeText(in)));
  }
  return LayerResult{in, {BoolArg(args, "elementwise_affine") ? 2 * Product(norm) : 0, 0}};
}

absl::StatusOr<LayerResult> ApplyFlatten(LayerArgs& args, const Shape& in) {
  // Dims count the batch, as in PyTorch: start_dim 1 is the first of `in`.
  const int64_t rank = static_cast<int64_t>(in.size()) + 1;
  int64_t start = IntArg(args, "start_dim"), end = IntArg(args, "end_dim");
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  if (start < 1 || end >= rank || start > end) {
    return Invalid(absl::StrCat("start_dim ", IntArg(args, "start_dim"), " and end_dim ",
                                IntArg(args, "end_dim"), " do not fit the input ", ShapeText(in),
                                " (the batch dimension 0 stays)"));
  }
  Shape out(in.begin(), in.begin() + (start - 1));
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) merged *= in[i - 1];
  out.push_back(merged);
  out.insert(out.end(), in.begin() + end, in.end());
  return LayerResult{out, {}};
}

absl::StatusOr<LayerResult> ApplyReshape(const Pair& shape, const Shape& in, const char* key) {
  if (Product(shape) != Product(in)) {
    return Invalid(absl::StrCat(key, " ", ListText(shape), " holds ", Product(shape),
                                " values per image, not ", Product(in)));
  }
  return LayerResult{shape, {}};
}

absl::StatusOr<LayerResult> ApplyUnflatten(LayerArgs& args, const Shape& in) {
  const int64_t dim = IntArg(args, "dim");
  const int64_t rank = static_cast<int64_t>(in.size()) + 1;
  const int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 1 || d >= rank) {
    return Invalid(absl::StrCat("dim ", dim, " does not fit the input ", ShapeText(in)));
  }
  const Pair& sizes = ListArg(args, "unflattened_size");
  if (Product(sizes) != in[d - 1]) {
    return Invalid(absl::StrCat("unflattened_size ", ListText(sizes), " holds ", Product(sizes),
                                " values, dimension ", dim, " of the input ", ShapeText(in),
                                " has ", in[d - 1]));
  }
  Shape out(in.begin(), in.begin() + (d - 1));
  out.insert(out.end(), sizes.begin(), sizes.end());
  out.insert(out.end(), in.begin() + d, in.end());
  return LayerResult{out, {}};
}

absl::StatusOr<LayerResult> ApplyPool(LayerArgs& args, const Shape& in, bool max) {
  if (auto s = NeedImage(in); !s.ok()) return s;
  if (!args.contains("stride")) args["stride"] = ListArg(args, "kernel_size");
  const Pair& k = ListArg(args, "kernel_size");
  const Pair& st = ListArg(args, "stride");
  const Pair& p = ListArg(args, "padding");
  const Pair d = max ? ListArg(args, "dilation") : Pair{1, 1};
  for (int i = 0; i < 2; ++i) {
    if (2 * p[i] > k[i]) {
      return Invalid(absl::StrCat("padding ", p[i], " must be at most half of kernel_size ", k[i]));
    }
  }
  Pair out_hw(2);
  for (int i = 0; i < 2; ++i) {
    out_hw[i] = WindowOut(in[i + 1], k[i], st[i], p[i], d[i], BoolArg(args, "ceil_mode"));
  }
  auto spatial = Spatial(in, out_hw, max ? "the max pool" : "the average pool");
  if (!spatial.ok()) return spatial.status();
  Shape out = *spatial;
  out[0] = in[0];
  return LayerResult{out, {}};
}

absl::StatusOr<LayerResult> ApplyUpsample(LayerArgs& args, const Shape& in) {
  if (auto s = NeedImage(in); !s.ok()) return s;
  const bool has_size = args.contains("size"), has_scale = args.contains("scale_factor");
  if (has_size == has_scale) return Invalid("give exactly one of size and scale_factor");
  Shape out = in;
  if (has_size) {
    const Pair& size = ListArg(args, "size");
    out[1] = size[0];
    out[2] = size[1];
  } else {
    const Pair& scale = ListArg(args, "scale_factor");
    out[1] = in[1] * scale[0];
    out[2] = in[2] * scale[1];
  }
  return LayerResult{out, {}};
}

}  // namespace

std::string ShapeText(const Shape& shape) {
  std::vector<std::string> parts = {"B"};
  for (int64_t d : shape) parts.push_back(std::to_string(d));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

const std::vector<LayerType>& LayerTypes() {
  using K = ArgKind;
  static const std::vector<LayerType> kTypes = [] {
    const std::vector<ArgSpec> conv_common = {
        Def("stride", K::kPair, Pair{1, 1}),       Def("padding", K::kPadding, Pair{0, 0}),
        Def("dilation", K::kPair, Pair{1, 1}),     Def("groups", K::kPositiveInt, int64_t{1}),
        Def("bias", K::kBool, true),
    };
    auto conv = [&](bool transposed) {
      std::vector<ArgSpec> a = {Inferred("in_channels", K::kPositiveInt),
                                Req("out_channels", K::kPositiveInt),
                                Req("kernel_size", K::kPair)};
      a.insert(a.end(), conv_common.begin(), conv_common.end());
      if (transposed) a.push_back(Def("output_padding", K::kNonNegPair, Pair{0, 0}));
      return a;
    };
    auto batch_norm = [] {
      return std::vector<ArgSpec>{Inferred("num_features", K::kPositiveInt),
                                  Def("eps", K::kPositiveReal, 1e-5),
                                  Def("momentum", K::kUnitReal, 0.1),
                                  Def("affine", K::kBool, true),
                                  Def("track_running_stats", K::kBool, true),
                                  Optional("keras_momentum", K::kUnitReal)};
    };
    auto pool = [](bool max) {
      std::vector<ArgSpec> a = {Req("kernel_size", K::kPair), Optional("stride", K::kPair),
                                Def("padding", K::kNonNegPair, Pair{0, 0})};
      if (max) a.push_back(Def("dilation", K::kPair, Pair{1, 1}));
      a.push_back(Def("ceil_mode", K::kBool, false));
      if (!max) a.push_back(Def("count_include_pad", K::kBool, true));
      return a;
    };
    return std::vector<LayerType>{
        {"Linear",
         {Inferred("in_features", K::kPositiveInt), Req("out_features", K::kPositiveInt),
          Def("bias", K::kBool, true)},
         false},
        {"Conv2d", conv(false), false},
        {"ConvTranspose2d", conv(true), false},
        {"BatchNorm1d", batch_norm(), false},
        {"BatchNorm2d", batch_norm(), false},
        {"LayerNorm",
         {Inferred("normalized_shape", K::kIntList), Def("eps", K::kPositiveReal, 1e-5),
          Def("elementwise_affine", K::kBool, true)},
         false},
        {"Dropout", {Def("p", K::kUnitReal, 0.5)}, true},
        {"LeakyReLU", {Def("negative_slope", K::kReal, 0.01)}, true},
        {"ReLU", {}, true},
        {"Tanh", {}, true},
        {"Sigmoid", {}, true},
        {"Flatten", {Def("start_dim", K::kInt, int64_t{1}), Def("end_dim", K::kInt, int64_t{-1})},
         true},
        {"Unflatten", {Def("dim", K::kInt, int64_t{1}), Req("unflattened_size", K::kIntList)},
         true},
        {"Reshape", {Req("shape", K::kIntList)}, true},
        {"MaxPool2d", pool(true), true},
        {"AvgPool2d", pool(false), true},
        {"Upsample",
         {Optional("size", K::kPair), Optional("scale_factor", K::kPair),
          Choice("mode", "nearest", {"nearest", "bilinear", "bicubic"})},
         true},
        {"Identity", {}, true},
    };
  }();
  return kTypes;
}

bool ListIsTheArgument(const LayerType& type) {
  return type.args.size() == 1 && type.args[0].kind == ArgKind::kIntList;
}

const LayerType* FindLayerType(std::string_view name) {
  for (const LayerType& t : LayerTypes()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string> LayerTypeNames() {
  std::vector<std::string> names;
  for (const LayerType& t : LayerTypes()) names.push_back(t.name);
  return names;
}

absl::StatusOr<LayerResult> ApplyLayer(const LayerType& type, LayerArgs& args,
                                       const Shape& input) {
  const std::string& n = type.name;
  if (n == "Linear") return ApplyLinear(args, input);
  if (n == "Conv2d") return ApplyConv(args, input, false);
  if (n == "ConvTranspose2d") return ApplyConv(args, input, true);
  if (n == "BatchNorm1d") return ApplyBatchNorm(args, input, false);
  if (n == "BatchNorm2d") return ApplyBatchNorm(args, input, true);
  if (n == "LayerNorm") return ApplyLayerNorm(args, input);
  if (n == "Flatten") return ApplyFlatten(args, input);
  if (n == "Unflatten") return ApplyUnflatten(args, input);
  if (n == "Reshape") return ApplyReshape(ListArg(args, "shape"), input, "shape");
  if (n == "MaxPool2d") return ApplyPool(args, input, true);
  if (n == "AvgPool2d") return ApplyPool(args, input, false);
  if (n == "Upsample") return ApplyUpsample(args, input);
  return LayerResult{input, {}};  // element-wise: Dropout, activations, Identity
}

int64_t IntArg(const LayerArgs& args, std::string_view name) {
  return std::get<int64_t>(args.find(name)->second);
}
double RealArg(const LayerArgs& args, std::string_view name) {
  return std::get<double>(args.find(name)->second);
}
bool BoolArg(const LayerArgs& args, std::string_view name) {
  return std::get<bool>(args.find(name)->second);
}
const std::string& StringArg(const LayerArgs& args, std::string_view name) {
  return std::get<std::string>(args.find(name)->second);
}
const std::vector<int64_t>& ListArg(const LayerArgs& args, std::string_view name) {
  return std::get<std::vector<int64_t>>(args.find(name)->second);
}

}  // namespace gridrun::modelspec
