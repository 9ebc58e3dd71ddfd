#include "models/trained_networks.h"

#include <torch/serialize.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/init_from.h"
#include "common/sha256.h"

namespace gridrun::models {
namespace {

constexpr char kModulePrefix[] = "module_";  // models/trainer.cpp, ModuleKey

// Every tensor below `archive`, by dotted name (Module::save nests one
// archive per child module).
void Flatten(torch::serialize::InputArchive& archive, const std::string& prefix,
             NamedTensors& out) {
  for (const std::string& key : archive.keys()) {
    torch::Tensor tensor;
    if (archive.try_read(key, tensor)) {
      out[prefix + key] = tensor.to(torch::kCPU);
      continue;
    }
    torch::serialize::InputArchive child;
    if (archive.try_read(key, child)) Flatten(child, prefix + key + ".", out);
  }
}

std::string ShapeOf(const torch::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

// Where a network's layers live inside its module.
struct NetworkPlace {
  const char* network;
  const char* module;
  const char* children;    // the Sequential's name
  const char* last_layer;  // a module after the Sequential, or ""
};
constexpr NetworkPlace kPlaces[] = {
    {"generator", "generator", "net", ""},
    {"critic", "critic", "net", ""},
    {"encoder", "vae", "encoder", ""},
    {"decoder", "vae", "decoder", ""},
    {"classifier", "classifier", "layers", "output_projection"},
};

const NetworkPlace* FindPlace(const std::string& network) {
  for (const NetworkPlace& p : kPlaces) {
    if (network == p.network) return &p;
  }
  return nullptr;
}

torch::nn::Module* ModuleOf(ModelBundle& bundle, const std::string& role) {
  for (const auto& [name, module] : bundle.Modules()) {
    if (name == role) return module.get();
  }
  return nullptr;
}

// The live tensors of `module` (parameters and buffers) by name.
std::map<std::string, torch::Tensor> LiveTensors(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> live;
  for (auto& p : module.named_parameters(/*recurse=*/true)) live[p.key()] = p.value();
  for (auto& b : module.named_buffers(/*recurse=*/true)) live[b.key()] = b.value();
  return live;
}

}  // namespace

absl::StatusOr<CheckpointModules> ReadCheckpointModules(std::string_view bytes) {
  CheckpointModules out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), bytes.size(), torch::kCPU);
    torch::serialize::InputArchive trainer;
    c10::IValue model, step;
    if (!archive.try_read("trainer", trainer) || !trainer.try_read("model", model) ||
        !trainer.try_read("step", step)) {
      return absl::DataLossError("checkpoint: no trainer state (model, step) in it");
    }
    out.model = model.toStringRef();
    out.step = step.toInt();
    for (const std::string& key : trainer.keys()) {
      if (!absl::StartsWith(key, kModulePrefix)) continue;
      torch::serialize::InputArchive module;
      if (!trainer.try_read(key, module)) continue;
      Flatten(module, "", out.modules[key.substr(sizeof(kModulePrefix) - 1)]);
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("checkpoint: not a trainer checkpoint (", e.what(), ")"));
  }
  if (out.modules.empty()) return absl::DataLossError("checkpoint: it holds no module");
  return out;
}

NamedTensors ModuleTensors(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}

absl::Status LoadModuleTensors(const NamedTensors& tensors, const std::string& role,
                               ModelBundle& bundle) {
  torch::nn::Module* module = ModuleOf(bundle, role);
  if (module == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("model '", bundle.name, "' has no ", role));
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, live] : LiveTensors(*module)) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the stored ", role, " has no tensor ", name));
    }
    if (!it->second.sizes().equals(live.sizes())) {
      return absl::FailedPreconditionError(absl::StrCat("the stored ", role, "'s ", name, " is ",
                                                        ShapeOf(it->second), ", the model's ",
                                                        ShapeOf(live)));
    }
    live.copy_(it->second);
  }
  return absl::OkStatus();
}

absl::Status LoadCheckpointModules(const CheckpointModules& checkpoint, ModelBundle& bundle) {
  if (checkpoint.model != bundle.name) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the checkpoint is of model '", checkpoint.model, "', not '", bundle.name, "'"));
  }
  for (const auto& [role, module] : bundle.Modules()) {
    auto it = checkpoint.modules.find(role);
    if (it == checkpoint.modules.end()) {
      return absl::FailedPreconditionError(absl::StrCat("the checkpoint has no ", role));
    }
    if (auto s = LoadModuleTensors(it->second, role, bundle); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TensorDictFileBytes(const NamedTensors& tensors) {
  try {
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [name, tensor] : tensors) {
      dict.insert(name, tensor.detach().to(torch::kCPU).contiguous().clone());
    }
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("writing a state dict: ", e.what()));
  }
}

absl::StatusOr<std::string> StateDictFileBytes(const torch::nn::Module& module) {
  return TensorDictFileBytes(ModuleTensors(module));
}

// ---- Warm starts ------------------------------------------------------------

const std::vector<std::string>& NetworkNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const NetworkPlace& p : kPlaces) names.push_back(p.network);
    return names;
  }();
  return kNames;
}

std::string ModuleOfNetwork(const std::string& network) {
  const NetworkPlace* place = FindPlace(network);
  return place == nullptr ? "" : place->module;
}

absl::StatusOr<NetworkLayers> LayersOf(const NamedTensors& module_tensors,
                                       const std::string& network) {
  const NetworkPlace* place = FindPlace(network);
  if (place == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown network '", network, "'; allowed: ",
                                                   absl::StrJoin(NetworkNames(), ", ")));
  }
  const std::string prefix = std::string(place->children) + ".";
  std::map<int64_t, std::vector<std::string>> by_index;
  std::vector<std::string> last;
  for (const auto& [name, tensor] : module_tensors) {
    if (absl::StartsWith(name, prefix)) {
      const std::string rest = name.substr(prefix.size());
      int64_t index = 0;
      if (absl::SimpleAtoi(rest.substr(0, rest.find('.')), &index)) by_index[index].push_back(name);
    } else if (*place->last_layer != '\0' &&
               absl::StartsWith(name, std::string(place->last_layer) + ".")) {
      last.push_back(name);
    }
  }
  NetworkLayers layers;
  for (auto& [index, names] : by_index) layers.push_back(std::move(names));
  if (!last.empty()) layers.push_back(std::move(last));
  return layers;
}

absl::Status ApplyWarmStart(const CheckpointModules& source, const WarmStart& warm_start,
                            ModelBundle& target) {
  if (warm_start.from.empty()) {
    // The whole model, by name: continue training a finished trial.
    for (const auto& [role, module] : target.Modules()) {
      auto it = source.modules.find(role);
      if (it == source.modules.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "init_from: the source trial's model '", source.model, "' has no ", role));
      }
      if (auto s = LoadModuleTensors(it->second, role, target); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("init_from: ", s.message()));
      }
    }
    return absl::OkStatus();
  }
  const std::string into = warm_start.into.empty() ? warm_start.from : warm_start.into;
  const std::string from_module = ModuleOfNetwork(warm_start.from);
  const std::string into_module = ModuleOfNetwork(into);
  for (const std::string& name : {warm_start.from, into}) {
    if (ModuleOfNetwork(name).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("init_from: unknown network '", name,
                                                     "'; allowed: ",
                                                     absl::StrJoin(NetworkNames(), ", ")));
    }
  }
  auto src = source.modules.find(from_module);
  if (src == source.modules.end()) {
    return absl::InvalidArgumentError(absl::StrCat("init_from: the source trial's model '",
                                                   source.model, "' has no ", warm_start.from));
  }
  torch::nn::Module* dst_module = ModuleOf(target, into_module);
  if (dst_module == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("init_from: model '", target.name, "' has no ", into));
  }
  std::map<std::string, torch::Tensor> live = LiveTensors(*dst_module);
  NamedTensors live_named(live.begin(), live.end());
  auto from_layers = LayersOf(src->second, warm_start.from);
  auto into_layers = LayersOf(live_named, into);
  if (!from_layers.ok()) return from_layers.status();
  if (!into_layers.ok()) return into_layers.status();
  if (from_layers->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("init_from: the source trial's model '",
                                                   source.model, "' has no ", warm_start.from));
  }
  if (into_layers->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("init_from: model '", target.name, "' has no ", into));
  }
  const int64_t n_from = static_cast<int64_t>(from_layers->size());
  const int64_t n_into = static_cast<int64_t>(into_layers->size());
  int64_t count = warm_start.layers;
  if (count == 0) {
    if (n_from != n_into) {
      return absl::InvalidArgumentError(absl::StrCat(
          "init_from: the source's ", warm_start.from, " has ", n_from,
          " layers with weights, this model's ", into, " ", n_into,
          "; copy the first N with `layers: N`"));
    }
    count = n_from;
  }
  if (count > n_from || count > n_into) {
    return absl::InvalidArgumentError(absl::StrCat(
        "init_from: layers: ", count, ", but the source's ", warm_start.from, " has ", n_from,
        " layers with weights and this model's ", into, " ", n_into));
  }
  // Check every layer first: a failed warm start changes nothing.
  for (int64_t i = 0; i < count; ++i) {
    const auto& a = (*from_layers)[i];
    const auto& b = (*into_layers)[i];
    auto describe = [](const NamedTensors& t, const std::vector<std::string>& names) {
      std::vector<std::string> parts;
      for (const std::string& n : names) {
        parts.push_back(n.substr(n.rfind('.') + 1) + " " + ShapeOf(t.at(n)));
      }
      return absl::StrJoin(parts, ", ");
    };
    bool same = a.size() == b.size();
    for (size_t k = 0; same && k < a.size(); ++k) {
      same = a[k].substr(a[k].rfind('.')) == b[k].substr(b[k].rfind('.')) &&
             src->second.at(a[k]).sizes().equals(live_named.at(b[k]).sizes());
    }
    if (!same) {
      return absl::InvalidArgumentError(absl::StrCat(
          "init_from: layer ", i + 1, " of the source's ", warm_start.from, " (",
          describe(src->second, a), ") does not fit layer ", i + 1, " of this model's ", into,
          " (", describe(live_named, b), ")"));
    }
  }
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < count; ++i) {
    const auto& a = (*from_layers)[i];
    const auto& b = (*into_layers)[i];
    for (size_t k = 0; k < a.size(); ++k) live.at(b[k]).copy_(src->second.at(a[k]));
  }
  return absl::OkStatus();
}

absl::Status ApplyInitFrom(const std::string& init_from_json, std::string_view bytes,
                           ModelBundle& target) {
  auto init = InitFromFromJson(init_from_json);
  if (!init.ok()) return init.status();
  const std::string source = absl::StrCat("init_from: trial ", init->trial);
  if (bytes.empty() || bytes.substr(0, 7) == "error: ") {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": its checkpoint could not be fetched",
        bytes.empty() ? std::string() : " (" + std::string(bytes.substr(7)) + ")"));
  }
  if (!init->checkpoint_sha256.empty() && Sha256Hex(bytes) != init->checkpoint_sha256) {
    return absl::DataLossError(absl::StrCat(source, ": the checkpoint has sha256 ",
                                            Sha256Hex(bytes), ", init_from names ",
                                            init->checkpoint_sha256));
  }
  auto modules = ReadCheckpointModules(bytes);
  if (!modules.ok()) return absl::DataLossError(absl::StrCat(source, ": ", modules.status().message()));
  auto status = ApplyWarmStart(*modules, WarmStart{init->network, init->into, init->layers}, target);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(status.message(), " (the source: trial ", init->trial, ")"));
  }
  return absl::OkStatus();
}

}  // namespace gridrun::models
