// The layer vocabulary of model files: PyTorch's layer names, argument names
// and defaults (torch.nn 1.13), plus what the seeds' Keras models need
// (`padding: same`, `keras_momentum`), and for each type its output shape and
// parameter count, computed without LibTorch. The coordinator validates
// model files with this table; models/model_builder.cpp builds the same
// layers as LibTorch modules from the arguments it resolves, and
// tests/modelspec/pytorch_parity_test checks both against PyTorch itself.
//
// Shapes here leave out the batch dimension: a Conv2d input is {C, H, W}.
//
// Thread-safety: the table is immutable after static initialisation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun::modelspec {

using Shape = std::vector<int64_t>;

// "[B, 32, 14, 14]" (the batch shown as B).
std::string ShapeText(const Shape& shape);

// A resolved argument value: integers (sizes), reals (slopes, rates),
// booleans (bias), names (mode) and integer lists (kernel pairs, shapes).
using ArgValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;
using LayerArgs = std::map<std::string, ArgValue, std::less<>>;

enum class ArgKind {
  kPositiveInt,  // >= 1 (sizes, channels)
  kNonNegInt,    // >= 0
  kInt,          // any integer (dims)
  kPair,         // an integer or [h, w], each >= 1
  kNonNegPair,   // an integer or [h, w], each >= 0 (padding, output_padding)
  kPadding,      // kNonNegPair, or 'same' / 'valid'
  kUnitReal,     // a real in [0, 1]
  kPositiveReal, // a real > 0
  kReal,         // any finite real
  kBool,
  kIntList,      // a list of integers >= 1 (shapes)
  kChoice,       // one of `choices`
};

struct ArgSpec {
  std::string name;
  ArgKind kind;
  // The default when the file leaves the argument out; nullopt with
  // `inferred` false: required; `inferred`: taken from the input shape.
  std::optional<ArgValue> default_value;
  bool inferred = false;
  bool optional = false;  // may stay unset (no default, not required)
  std::vector<std::string> choices;  // kChoice
};

struct ParamCount {
  int64_t trainable = 0;
  // BatchNorm's running mean and variance, which Keras prints as
  // "non-trainable params" (torchsummary does not count them).
  int64_t keras_non_trainable = 0;
};

struct LayerType {
  std::string name;           // "Conv2d"
  std::vector<ArgSpec> args;  // in PyTorch's positional order
  bool parameter_free;        // may be `functional: true`
};

// True when a list written as the arguments of `type` is its one argument
// (`- Reshape: [128, 7, 7]`), not a list of positional arguments.
bool ListIsTheArgument(const LayerType& type);

// Every layer type, in the order documented in README ("Your own model").
const std::vector<LayerType>& LayerTypes();
// nullptr when unknown.
const LayerType* FindLayerType(std::string_view name);
std::vector<std::string> LayerTypeNames();

// What one layer does to its input, once its arguments are resolved.
struct LayerResult {
  Shape output;
  ParamCount params;
};

// Fills the arguments `type` takes from the input shape (Linear in_features,
// Conv2d in_channels, BatchNorm num_features, LayerNorm normalized_shape)
// where `args` lacks them, then computes the output shape and parameters.
// Turns Keras `padding: same` into PyTorch padding (see the .cpp). Errors
// (INVALID_ARGUMENT) describe the mismatch without naming the layer, e.g.
// "expects 64 input channels, gets 32" or "expects a [C, H, W] input, gets
// [B, 784]"; the caller adds where the input came from.
absl::StatusOr<LayerResult> ApplyLayer(const LayerType& type, LayerArgs& args,
                                       const Shape& input);

// Typed reads of resolved arguments (the builder's view; they exist after
// ApplyLayer succeeded).
int64_t IntArg(const LayerArgs& args, std::string_view name);
double RealArg(const LayerArgs& args, std::string_view name);
bool BoolArg(const LayerArgs& args, std::string_view name);
const std::string& StringArg(const LayerArgs& args, std::string_view name);
const std::vector<int64_t>& ListArg(const LayerArgs& args, std::string_view name);

}  // namespace gridrun::modelspec
