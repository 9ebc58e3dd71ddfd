// gridrun's torch-free shape inference and parameter counts
// (modelspec/layer_types.h) against PyTorch's own layers, run by Debian's
// python3-torch (tests/modelspec/pytorch_parity.py), for every layer type
// and several argument sets each, Keras 'same' padding and ConvTranspose2d
// output_padding included. Skipped, with a message, where python3-torch is
// absent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "modelspec/layer_types.h"

namespace gridrun::modelspec {
namespace {
namespace pytorch_parity_test {

using nlohmann::json;

// Debian's interpreter, where python3-torch lives (a pyenv python3 earlier
// on PATH has no torch); GRIDRUN_PYTHON overrides.
std::string Python() {
  const char* env = std::getenv("GRIDRUN_PYTHON");
  return env != nullptr ? env : "/usr/bin/python3";
}

bool HaveTorch() {
  return std::system((Python() + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
}

struct Case {
  std::string type;
  json args;  // PyTorch keyword arguments (and gridrun's: they are the same names)
  Shape input;
  bool keras_same = false;
};

// The arguments gridrun resolves from `c.args`: JSON ints, reals, bools,
// names and lists; pairs as [h, w]; defaults from the layer table.
LayerArgs ToLayerArgs(const LayerType& type, const Case& c) {
  LayerArgs args;
  for (const ArgSpec& spec : type.args) {
    auto it = c.args.find(spec.name);
    if (it == c.args.end()) {
      if (spec.default_value) args[spec.name] = *spec.default_value;
      continue;
    }
    const json& v = *it;
    switch (spec.kind) {
      case ArgKind::kPair:
      case ArgKind::kNonNegPair:
      case ArgKind::kPadding:
        if (v.is_string()) {
          args[spec.name] = v.get<std::string>();
        } else if (v.is_array()) {
          args[spec.name] = v.get<std::vector<int64_t>>();
        } else {
          args[spec.name] = std::vector<int64_t>{v.get<int64_t>(), v.get<int64_t>()};
        }
        break;
      case ArgKind::kIntList:
        args[spec.name] = v.is_array() ? v.get<std::vector<int64_t>>()
                                       : std::vector<int64_t>{v.get<int64_t>()};
        break;
      case ArgKind::kUnitReal:
      case ArgKind::kPositiveReal:
      case ArgKind::kReal:
        args[spec.name] = v.get<double>();
        break;
      case ArgKind::kBool:
        args[spec.name] = v.get<bool>();
        break;
      case ArgKind::kChoice:
        args[spec.name] = v.get<std::string>();
        break;
      default:
        args[spec.name] = v.get<int64_t>();
    }
  }
  if (c.keras_same) args["padding"] = std::string("same");
  return args;
}

std::vector<Case> Cases() {
  return {
      {"Linear", {{"in_features", 784}, {"out_features", 10}}, {784}},
      {"Linear", {{"in_features", 7}, {"out_features", 3}, {"bias", false}}, {4, 7}},
      {"Linear", {{"in_features", 1}, {"out_features", 1}}, {1, 1, 1}},
      {"Conv2d", {{"in_channels", 1}, {"out_channels", 16}, {"kernel_size", 6}, {"stride", 3}, {"padding", 1}}, {1, 28, 28}},
      {"Conv2d", {{"in_channels", 3}, {"out_channels", 8}, {"kernel_size", {3, 5}}, {"stride", {2, 1}}, {"padding", {1, 2}}, {"bias", false}}, {3, 32, 30}},
      {"Conv2d", {{"in_channels", 4}, {"out_channels", 8}, {"kernel_size", 3}, {"dilation", 2}, {"groups", 2}}, {4, 17, 17}},
      {"Conv2d", {{"in_channels", 3}, {"out_channels", 4}, {"kernel_size", 3}, {"padding", "same"}}, {3, 9, 9}},
      {"Conv2d", {{"in_channels", 3}, {"out_channels", 4}, {"kernel_size", 4}, {"padding", "same"}}, {3, 9, 9}},
      {"Conv2d", {{"in_channels", 3}, {"out_channels", 4}, {"kernel_size", 3}, {"padding", "valid"}}, {3, 9, 9}},
      // Keras 'same' with strides (PyTorch has no padding='same' for them).
      {"Conv2d", {{"in_channels", 3}, {"out_channels", 128}, {"kernel_size", 3}, {"stride", 2}}, {3, 32, 32}, true},
      {"Conv2d", {{"in_channels", 1}, {"out_channels", 64}, {"kernel_size", 4}, {"stride", 2}}, {1, 28, 28}, true},
      {"Conv2d", {{"in_channels", 2}, {"out_channels", 5}, {"kernel_size", 5}, {"stride", 3}}, {2, 13, 11}, true},
      {"Conv2d", {{"in_channels", 2}, {"out_channels", 5}, {"kernel_size", 7}}, {2, 28, 28}, true},
      {"ConvTranspose2d", {{"in_channels", 64}, {"out_channels", 32}, {"kernel_size", 4}, {"stride", 2}}, {64, 1, 1}},
      {"ConvTranspose2d", {{"in_channels", 16}, {"out_channels", 1}, {"kernel_size", 6}, {"stride", 3}, {"padding", 1}}, {16, 9, 9}},
      {"ConvTranspose2d", {{"in_channels", 8}, {"out_channels", 4}, {"kernel_size", 4}, {"stride", 2}, {"padding", 1}, {"output_padding", 1}}, {8, 3, 3}},
      {"ConvTranspose2d", {{"in_channels", 8}, {"out_channels", 4}, {"kernel_size", {3, 4}}, {"stride", {2, 3}}, {"padding", {1, 0}}, {"output_padding", {1, 2}}, {"bias", false}}, {8, 5, 4}},
      {"ConvTranspose2d", {{"in_channels", 4}, {"out_channels", 6}, {"kernel_size", 3}, {"dilation", 2}, {"groups", 2}}, {4, 5, 5}},
      {"BatchNorm2d", {{"num_features", 16}}, {16, 7, 7}},
      {"BatchNorm2d", {{"num_features", 16}, {"affine", false}}, {16, 7, 7}},
      {"BatchNorm1d", {{"num_features", 32}, {"eps", 0.001}, {"momentum", 0.01}}, {32}},
      {"BatchNorm1d", {{"num_features", 8}}, {8, 5}},
      {"LayerNorm", {{"normalized_shape", {7, 7}}}, {4, 7, 7}},
      {"LayerNorm", {{"normalized_shape", 32}, {"elementwise_affine", false}}, {32}},
      {"Dropout", {{"p", 0.3}}, {64}},
      {"LeakyReLU", {{"negative_slope", 0.2}}, {3, 4, 4}},
      {"ReLU", json::object(), {10}},
      {"Tanh", json::object(), {1, 28, 28}},
      {"Sigmoid", json::object(), {5}},
      {"Identity", json::object(), {2, 3, 4}},
      {"Flatten", json::object(), {64, 7, 7}},
      {"Flatten", {{"start_dim", 2}}, {4, 5, 6}},
      {"Flatten", {{"start_dim", 1}, {"end_dim", 2}}, {4, 5, 6}},
      {"Unflatten", {{"dim", 1}, {"unflattened_size", {128, 7, 7}}}, {6272}},
      {"Unflatten", {{"dim", -1}, {"unflattened_size", {2, 3}}}, {4, 6}},
      {"MaxPool2d", {{"kernel_size", 2}}, {128, 8, 8}},
      {"MaxPool2d", {{"kernel_size", 4}}, {3, 128, 128}},
      {"MaxPool2d", {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}}, {4, 10, 9}},
      {"MaxPool2d", {{"kernel_size", {2, 3}}, {"stride", 1}, {"dilation", 2}}, {2, 9, 9}},
      {"AvgPool2d", {{"kernel_size", 2}}, {4, 7, 7}},
      {"AvgPool2d", {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}}, {4, 10, 9}},
      {"Upsample", {{"scale_factor", 2}}, {4, 7, 7}},
      {"Upsample", {{"size", {28, 30}}, {"mode", "bilinear"}}, {4, 7, 7}},
  };
}

std::string GridrunResult(const Case& c) {
  const LayerType* type = FindLayerType(c.type);
  if (type == nullptr) return "unknown type";
  LayerArgs args = ToLayerArgs(*type, c);
  auto result = ApplyLayer(*type, args, c.input);
  if (!result.ok()) return "error: " + std::string(result.status().message());
  return absl::StrJoin(result->output, " ") + " | " + std::to_string(result->params.trainable);
}

TEST(PytorchParity, EveryLayerTypeMatchesPytorch) {
  if (!HaveTorch()) {
    GTEST_SKIP() << Python() << " cannot import torch (Debian's python3-torch): "
                 << "the PyTorch comparison is skipped";
  }
  const std::vector<Case> cases = Cases();
  json input = json::array();
  for (const Case& c : cases) {
    json args = c.args;
    input.push_back({{"type", c.type}, {"args", args}, {"input", c.input},
                     {"keras_same", c.keras_same}});
  }
  char dir_template[] = "/tmp/gridrun-parity-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::ofstream(dir + "/cases.json") << input.dump();
  const char* source = std::getenv("GRIDRUN_SOURCE_DIR");  // set by tests/test_main.cpp
  ASSERT_NE(source, nullptr);
  const std::string script = std::string(source) + "/tests/modelspec/pytorch_parity.py";
  const std::string command =
      Python() + " " + script + " < " + dir + "/cases.json > " + dir + "/out.txt 2> " + dir + "/err.txt";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream out(dir + "/out.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), cases.size());
  std::set<std::string> types;
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(GridrunResult(cases[i]), lines[i]) << cases[i].type << " " << cases[i].args.dump()
                                                 << " on " << absl::StrJoin(cases[i].input, "x");
    types.insert(cases[i].type);
  }
  // Every PyTorch layer of the vocabulary was compared (Reshape is gridrun's own).
  for (const std::string& name : LayerTypeNames()) {
    if (name != "Reshape") EXPECT_TRUE(types.contains(name)) << name << " has no parity case";
  }
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace pytorch_parity_test
}  // namespace
}  // namespace gridrun::modelspec
