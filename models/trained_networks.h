// The trained networks inside a checkpoint: read one trial's module
// weights out of its checkpoint bytes (models/checkpoint_state.h) without
// building its trainer, load them into a freshly built ModelBundle, write
// one module as a state dict that Python's torch.load reads, and copy a
// network (or its first layers) from one model into another (warm starts,
// TrialConfig::init_from).
//
// Names are LibTorch's (and, by models/model_builder.h's layout, PyTorch's
// for the module modelspec/pytorch_source.h generates): "net.0.weight",
// "encoder.3.running_mean", "output_projection.bias".
//
// Networks by name, as model files call them, and where they live:
//   generator  -> module "generator", children of "net"
//   critic     -> module "critic", children of "net"
//   encoder    -> module "vae", children of "encoder"
//   decoder    -> module "vae", children of "decoder"
//   classifier -> module "classifier", children of "layers", then "output_projection"
// A network's "layers" are its children that hold tensors (parameters or
// buffers), in order: a `layers: 2` warm start copies the first two such
// layers (Linear, Conv2d, BatchNorm, ...), matching them by position, not by
// name, so a classifier's layers can start a VAE encoder.
//
// Thread-safety: functions of their arguments; modules are used by one
// thread at a time.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/model_factory.h"

namespace gridrun::models {

// Every tensor of one module, by its dotted name.
using NamedTensors = std::map<std::string, torch::Tensor>;

// The modules of a checkpoint: module role ("generator", "critic", "vae",
// "classifier") -> its tensors, on the CPU.
struct CheckpointModules {
  std::string model;  // the checkpoint's model name (ModelBundle::name)
  int64_t step = 0;   // the trainer's step counter when it was saved
  std::map<std::string, NamedTensors> modules;
};

// Reads the module weights of checkpoint bytes from SaveCheckpointState.
// DATA_LOSS for bytes that are not such a checkpoint.
absl::StatusOr<CheckpointModules> ReadCheckpointModules(std::string_view bytes);

// Every parameter and buffer of `module`, by name (module->named_parameters()
// and named_buffers(), recursively).
NamedTensors ModuleTensors(const torch::nn::Module& module);

// Copies `tensors` into `bundle`'s module `role`: every parameter and buffer
// the module has must be there with its shape. FAILED_PRECONDITION naming
// the first missing or mismatched tensor (and both shapes).
absl::Status LoadModuleTensors(const NamedTensors& tensors, const std::string& role,
                               ModelBundle& bundle);

// LoadModuleTensors for every module of `bundle` from `checkpoint`.
// FAILED_PRECONDITION when the checkpoint is for another model or lacks a module.
absl::Status LoadCheckpointModules(const CheckpointModules& checkpoint, ModelBundle& bundle);

// The bytes of a file that Python's torch.load reads as a dict
// {name: tensor} of `module`'s parameters and buffers (CPU copies), which
// `load_state_dict` accepts: torch::pickle_save of a
// c10::Dict<std::string, Tensor> (the zip format of torch.save).
// INTERNAL on a torch error.
absl::StatusOr<std::string> StateDictFileBytes(const torch::nn::Module& module);

// Same for any tensors by name (e.g. sample noise and outputs).
absl::StatusOr<std::string> TensorDictFileBytes(const NamedTensors& tensors);

// ---- Warm starts ------------------------------------------------------------

// The network names above, in that order.
const std::vector<std::string>& NetworkNames();

// One network's layers: each layer's tensors by their name inside the
// network's module (e.g. {"net.0.weight", "net.0.bias"}).
using NetworkLayers = std::vector<std::vector<std::string>>;

// The layers of network `network` in a module's tensor names (as
// ModuleTensors or a CheckpointModules entry gives them). INVALID_ARGUMENT
// for an unknown network name.
absl::StatusOr<NetworkLayers> LayersOf(const NamedTensors& module_tensors,
                                       const std::string& network);

// The module role that holds `network` ("encoder" -> "vae"); "" if unknown.
std::string ModuleOfNetwork(const std::string& network);

// What to copy: network `from` of the source into network `into` of the
// target, the first `layers` layers (0: all, and then both must have the
// same number of layers).
struct WarmStart {
  std::string from;
  std::string into;
  int64_t layers = 0;
};

// Copies per WarmStart from `source` (a checkpoint's modules) into `target`.
// An empty `from` copies every module of the source whole, by name (the
// "continue training" case: the source must be the same model). Errors
// (INVALID_ARGUMENT), each naming what is wrong: an unknown network name;
// a network the source or the target does not have; fewer layers than
// asked for; a layer whose tensors differ in number or shape (naming the
// layer and both shapes).
absl::Status ApplyWarmStart(const CheckpointModules& source, const WarmStart& warm_start,
                            ModelBundle& target);

// TrialConfig::init_from (common/init_from.h) applied to a freshly built
// `target`: checks `bytes` against the init_from's checkpoint_sha256, reads
// its modules and runs ApplyWarmStart. `bytes` starting "error: " carry why
// the worker could not fetch them. INVALID_ARGUMENT / DATA_LOSS, each
// message starting "init_from: ".
absl::Status ApplyInitFrom(const std::string& init_from_json, std::string_view bytes,
                           ModelBundle& target);

}  // namespace gridrun::models
