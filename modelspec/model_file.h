// Model files: an architecture as data (README, "Your own model").
//
// A model file is YAML: its objective, the settings it reads, and its
// networks as ordered layer lists in PyTorch's vocabulary
// (modelspec/layer_types.h), whose sizes may be expressions over the trial's
// settings and the data set (modelspec/expression.h):
//
//   objective: wgan-gp            # vae | gan | wgan | wgan-gp | classifier
//   conditional: true             # GANs: the one-hot label joins z and the critic input
//   settings: {latent_size: 100, width: 64}   # defaults; `{default: 64, fixed: true}` pins one
//   generator:
//     input: spatial              # z as [latent(+classes), 1, 1]; `vector` (default): flat
//     layers:
//       - ConvTranspose2d: {out_channels: "${width * 4}", kernel_size: 7}
//       - repeat: ${depth}        # a block repeated; its index (`i`, nested: `j`, `k`,
//                                 # ...; or `index: name`) counts from 0 inside it
//         layers: [...]
//   critic:                       # or discriminator
//     labels: planes              # conditional: `planes` on the image or a `vector` after flattening
//     output: score               # one score per image; `mean`: the mean of all outputs
//     layers: [...]
//
// Any network except a classifier may instead be a TorchScript module the
// user scripted or traced in PyTorch and saved with torch.jit.save:
//
//   generator: {torchscript: generator.pt}   # path relative to this file
//
// Its calling contract (checked when the module is first run, see
// models/torchscript_network.h): generator (z [B, latent][, one_hot [B, K]])
// -> image [B, C, H, W] (in [-1, 1]); critic / discriminator (image[,
// one_hot]) -> score [B] or [B, 1]; VAE encoder image -> (mu, logvar), each
// [B, latent]; decoder z -> image logits [B, C, H, W]. Such a network takes
// no other key; a conditional critic sees the label through its second
// argument. The file's bytes are not part of this text: `gridrun submit`
// (cli/torchscript_files.h) reads it, uploads it by its sha256 and appends
// a top-level `torchscript_sha256: {generator.pt: HEX}` map, so the trial's
// config (TrialConfig::model_source) names the exact bytes it trains and
// its config hash changes with them. A parsed file with a torchscript
// network but no hash for it is valid here; the coordinator refuses it.
//
// A VAE has `encoder` (ending in flat features), optional `heads` (the mean
// and log-variance Linear layers to latent_size) and `decoder`; a classifier
// has `classifier`, whose last layer is the Linear output projection. The
// gridrun built-in models are such files (modelspec/zoo/, modelspec/zoo.h).
//
// Parsing checks the structure (keys, layer types and argument names, with
// did-you-mean); ResolveModel (modelspec/model_resolve.h) evaluates the
// sizes for one trial and infers every shape. Inputs are bounded
// (kMaxModelFileBytes, kMaxLayersPerNetwork), so a hostile file costs
// bounded time and memory.
//
// Thread-safety: a ModelFile is immutable after ParseModelFile; share it
// freely between threads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"

namespace gridrun::modelspec {

inline constexpr size_t kMaxModelFileBytes = 1 << 20;
inline constexpr int kMaxLayersPerNetwork = 1000;

// The grid settings a model file may read, in this order.
const std::vector<std::string>& ModelSettingNames();  // latent_size, width, depth
// The data-set names an expression may use.
const std::vector<std::string>& DataNames();  // num_classes, channels, image_size, ...

// The 1-based line of `node` in its file, as error messages name it.
inline int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

struct SettingDecl {
  bool declared = false;
  int64_t value = 0;   // the default
  bool fixed = false;  // a grid may not set it
};

// One network of a file, as written (sizes not yet evaluated).
struct NetworkDecl {
  std::string role;    // generator | critic | encoder | decoder | classifier
  std::string input;   // vector | spatial (generator); image | flat (others)
  std::string labels;  // "" | planes | vector (critic of a conditional model)
  std::string output;  // score | mean (critic); "" otherwise
  int line = 0;        // 1-based
  YAML::Node layers;   // the layer list, checked by ParseModelFile; unset for TorchScript
  std::string torchscript;         // `torchscript: PATH` as written; "" : a layer list
  std::string torchscript_sha256;  // from `torchscript_sha256:`; "" : not given
  bool is_torchscript() const { return !torchscript.empty(); }
};

struct ModelFile {
  std::string path;  // as the user named it, or "zoo/NAME.yaml"
  std::string text;
  std::string name;  // `name:`, else the file name without .yaml
  std::string description;
  bool is_preset = false;  // `kind: preset` (a seed's exact architecture)
  bool is_builtin = false;
  Objective objective = Objective::kVae;
  bool conditional = false;
  int fixed_channels = 0;  // `data: {channels, size}`; 0 = any data set
  int fixed_size = 0;
  std::map<std::string, SettingDecl> settings;  // by ModelSettingNames()
  bool dcgan_init = false;    // `init: dcgan`
  bool keras_counts = false;  // `parameter_counts: keras`
  std::vector<NetworkDecl> networks;  // in the file's order
  int heads_line = 0;  // VAE `heads:` {out_features, bias}; 0: not given
  YAML::Node heads;    // set when heads_line > 0
  std::shared_ptr<const YAML::Node> root;  // keeps the nodes alive

  const NetworkDecl* Network(std::string_view role) const;
  bool HasTorchScript() const;
  // The catalog row of this file (string views point into *this).
  ModelInfo Info() const;
};

// Parses `text` (the contents of `path`). INVALID_ARGUMENT, every message
// starting "PATH: line L: ", for: not YAML, not a map, unknown keys and
// layer types and arguments (did you mean), a missing network for the
// objective, a conditional model whose critic does not say how it sees the
// label, malformed repeat blocks. Sizes are checked later, per trial.
absl::StatusOr<std::shared_ptr<const ModelFile>> ParseModelFile(std::string path,
                                                                std::string text);

// True for a `model:` value that names a file rather than a built-in model:
// it ends in .yaml or .yml.
bool IsModelFilePath(std::string_view model);

// The text of a model file with `hashes` (TorchScript path as written ->
// sha256 hex) appended as its `torchscript_sha256:` map. The text must not
// have one already (ParseModelFile refuses a second).
std::string WithTorchScriptHashes(const std::string& text,
                                  const std::map<std::string, std::string>& hashes);

}  // namespace gridrun::modelspec
