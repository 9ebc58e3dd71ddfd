#include "modelspec/model_file.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/suggest.h"
#include "modelspec/layer_types.h"

namespace gridrun::modelspec {
namespace {

// Function-local statics: the zoo may be parsed during another file's static
// initialisation (a test table calling FindModel).
const std::vector<std::string>& TopKeys() {
  static const std::vector<std::string> kKeys = {
      "name",     "description", "kind",    "objective", "conditional",      "data",
      "settings", "init",        "parameter_counts", "generator", "critic", "discriminator",
      "encoder",  "heads",       "decoder", "classifier", "torchscript_sha256"};
  return kKeys;
}

const std::vector<std::string>& NetworkKeys() {
  static const std::vector<std::string> kKeys = {"input", "labels", "output", "layers"};
  return kKeys;
}

// Collects problems as "PATH: line L: problem"; the first one is returned.
class FileParser {
 public:
  FileParser(std::string path, std::string text) {
    file_ = std::make_shared<ModelFile>();
    file_->path = std::move(path);
    file_->text = std::move(text);
  }

  absl::StatusOr<std::shared_ptr<const ModelFile>> Run() {
    if (file_->text.size() > kMaxModelFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat(file_->path, ": ", file_->text.size(),
                                                     " bytes; a model file may have at most ",
                                                     kMaxModelFileBytes));
    }
    YAML::Node root;
    try {
      root = YAML::Load(file_->text);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_->path, ": line ", e.mark.line + 1, ": not valid YAML: ", e.msg));
    }
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_->path, ": not a model file (a YAML map with objective: and networks)"));
    }
    file_->root = std::make_shared<const YAML::Node>(root);
    if (!Top(root)) return Error();
    return std::shared_ptr<const ModelFile>(file_);
  }

 private:
  absl::Status Error() const { return absl::InvalidArgumentError(message_); }
  bool Fail(const YAML::Node& at, const std::string& problem) {
    if (message_.empty()) message_ = absl::StrCat(file_->path, ": line ", LineOf(at), ": ", problem);
    return false;
  }

  bool Scalar(const YAML::Node& node, const std::string& key, std::string& out) {
    if (!node.IsScalar()) return Fail(node, key + ": expects a single value");
    out = node.Scalar();
    return true;
  }

  bool Choice(const YAML::Node& node, const std::string& key,
              const std::vector<std::string>& choices, std::string& out) {
    if (!Scalar(node, key, out)) return false;
    if (std::find(choices.begin(), choices.end(), out) != choices.end()) return true;
    return Fail(node, absl::StrCat(key, ": unknown value '", out, "'",
                                   DidYouMean(Suggest(out, choices)), " (allowed: ",
                                   absl::StrJoin(choices, ", "), ")"));
  }

  bool Bool(const YAML::Node& node, const std::string& key, bool& out) {
    std::string text;
    if (!Choice(node, key, {"true", "false"}, text)) return false;
    out = text == "true";
    return true;
  }

  bool Int(const YAML::Node& node, const std::string& key, int64_t& out) {
    std::string text;
    if (!Scalar(node, key, text)) return false;
    try {
      size_t used = 0;
      out = std::stoll(text, &used);
      if (used == text.size()) return true;
    } catch (const std::exception&) {
    }
    return Fail(node, absl::StrCat(key, ": expects an integer, got '", text, "'"));
  }

  bool Top(const YAML::Node& root) {
    std::set<std::string> seen;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(TopKeys().begin(), TopKeys().end(), key) == TopKeys().end()) {
        return Fail(it->first, absl::StrCat("unknown key '", key, "'",
                                            DidYouMean(Suggest(key, TopKeys())), " (allowed: ",
                                            absl::StrJoin(TopKeys(), ", "), ")"));
      }
    }
    ModelFile& f = *file_;
    if (root["name"] && !Scalar(root["name"], "name", f.name)) return false;
    if (f.name.empty()) {
      std::string base = f.path.substr(f.path.find_last_of('/') + 1);
      for (std::string_view ext : {".yaml", ".yml"}) {
        if (base.ends_with(ext)) base.resize(base.size() - ext.size());
      }
      f.name = base;
    }
    if (root["description"] && !Scalar(root["description"], "description", f.description)) {
      return false;
    }
    if (root["kind"]) {
      std::string kind;
      if (!Choice(root["kind"], "kind", {"preset", "family"}, kind)) return false;
      f.is_preset = kind == "preset";
    }
    if (!root["objective"]) {
      return Fail(root, "missing 'objective' (allowed: vae, gan, wgan, wgan-gp, classifier)");
    }
    std::string objective;
    if (!Choice(root["objective"], "objective", {"vae", "gan", "wgan", "wgan-gp", "classifier"},
                objective)) {
      return false;
    }
    for (Objective o : {Objective::kVae, Objective::kGan, Objective::kWgan, Objective::kWganGp,
                        Objective::kClassifier}) {
      if (ObjectiveName(o) == objective) f.objective = o;
    }
    const bool gan = f.objective == Objective::kGan || f.objective == Objective::kWgan ||
                     f.objective == Objective::kWganGp;
    if (root["conditional"]) {
      if (!Bool(root["conditional"], "conditional", f.conditional)) return false;
      if (f.conditional && !gan) {
        return Fail(root["conditional"], "conditional: only GAN objectives (gan, wgan, wgan-gp) "
                                         "take the class label");
      }
    }
    if (root["data"] && !Data(root["data"])) return false;
    if (root["settings"] && !Settings(root["settings"])) return false;
    if (root["init"]) {
      std::string init;
      if (!Choice(root["init"], "init", {"default", "dcgan"}, init)) return false;
      f.dcgan_init = init == "dcgan";
    }
    if (root["parameter_counts"]) {
      std::string counts;
      if (!Choice(root["parameter_counts"], "parameter_counts", {"torch", "keras"}, counts)) {
        return false;
      }
      f.keras_counts = counts == "keras";
    }
    return Networks(root, gan);
  }

  bool Data(const YAML::Node& data) {
    if (!data.IsMap()) return Fail(data, "data: expects {channels: C, size: S}");
    for (auto it = data.begin(); it != data.end(); ++it) {
      const std::string key = it->first.Scalar();
      int64_t value = 0;
      if (key != "channels" && key != "size") {
        return Fail(it->first, absl::StrCat("data: unknown key '", key, "' (allowed: channels, size)"));
      }
      if (!Int(it->second, "data." + key, value)) return false;
      if (value < 1 || value > 4096) return Fail(it->second, "data." + key + ": must be 1..4096");
      (key == "channels" ? file_->fixed_channels : file_->fixed_size) = static_cast<int>(value);
    }
    if (file_->fixed_channels == 0 || file_->fixed_size == 0) {
      return Fail(data, "data: expects both channels and size");
    }
    return true;
  }

  bool Settings(const YAML::Node& settings) {
    if (!settings.IsMap()) return Fail(settings, "settings: expects a map such as {latent_size: 100}");
    const auto& names = ModelSettingNames();
    for (auto it = settings.begin(); it != settings.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        return Fail(it->first, absl::StrCat("settings: unknown setting '", key, "'",
                                            DidYouMean(Suggest(key, names)), " (allowed: ",
                                            absl::StrJoin(names, ", "), ")"));
      }
      SettingDecl& decl = file_->settings[key];
      decl.declared = true;
      const YAML::Node v = it->second;  // a copy: `it->second` dies with the iterator's proxy
      const std::string where = "settings." + key;
      if (v.IsMap()) {
        for (auto f = v.begin(); f != v.end(); ++f) {
          const std::string k = f->first.Scalar();
          if (k == "default") {
            if (!Int(f->second, where + ".default", decl.value)) return false;
          } else if (k == "fixed") {
            if (!Bool(f->second, where + ".fixed", decl.fixed)) return false;
          } else {
            return Fail(f->first, absl::StrCat(where, ": unknown key '", k,
                                               "' (allowed: default, fixed)"));
          }
        }
        if (!v["default"]) return Fail(v, where + ": missing default");
      } else if (!Int(v, where, decl.value)) {
        return false;
      }
      if (decl.value < 1) return Fail(v, absl::StrCat(where, ": the default must be >= 1"));
    }
    return true;
  }

  bool Networks(const YAML::Node& root, bool gan) {
    std::vector<std::string> roles;
    switch (file_->objective) {
      case Objective::kVae:
        roles = {"encoder", "decoder"};
        break;
      case Objective::kClassifier:
        roles = {"classifier"};
        break;
      default:
        roles = {"generator", "critic"};
    }
    const std::vector<std::string> all = {"generator", "critic", "discriminator", "encoder",
                                          "decoder", "classifier", "heads"};
    for (const std::string& key : all) {
      if (!root[key]) continue;
      std::string role = key == "discriminator" ? "critic" : key;
      if (role == "heads") role = "encoder";
      if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
        return Fail(root[key], absl::StrCat(key, ": not a network of a ",
                                            std::string(ObjectiveName(file_->objective)), " model (it has ",
                                            absl::StrJoin(roles, ", "), ")"));
      }
    }
    if (root["critic"] && root["discriminator"]) {
      return Fail(root["discriminator"], "discriminator: give critic or discriminator, not both");
    }
    for (const std::string& role : roles) {
      if (!root[role] && !(role == "critic" && root["discriminator"])) {
        return Fail(root, absl::StrCat("missing network '", role, "' (a ",
                                       std::string(ObjectiveName(file_->objective)), " model has ",
                                       absl::StrJoin(roles, ", "), ")"));
      }
    }
    // In the file's order: the builder draws initial weights in this order.
    // (Nodes are not reordered afterwards: assigning a yaml-cpp node writes
    // through to the document.)
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string role = key == "discriminator" ? "critic" : key;
      if (std::find(roles.begin(), roles.end(), role) == roles.end()) continue;
      if (!Network(role, it->second)) return false;
    }
    if (root["heads"] && !Heads(root["heads"])) return false;
    if (root["heads"] && file_->Network("encoder")->is_torchscript()) {
      return Fail(root["heads"], "heads: a TorchScript encoder returns (mu, logvar) itself");
    }
    if (root["torchscript_sha256"] && !TorchScriptHashes(root["torchscript_sha256"])) return false;
    (void)gan;
    return true;
  }

  bool TorchScriptHashes(const YAML::Node& map) {
    if (!map.IsMap()) return Fail(map, "torchscript_sha256: expects a map {PATH: SHA256}");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string path = it->first.Scalar();
      std::string hex;
      if (!Scalar(it->second, "torchscript_sha256." + path, hex)) return false;
      const bool is_hex = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                          });
      if (!is_hex) {
        return Fail(it->second, absl::StrCat("torchscript_sha256.", path,
                                             ": expects 64 lower-case hex digits"));
      }
      bool used = false;
      for (NetworkDecl& net : file_->networks) {
        if (net.torchscript == path) {
          net.torchscript_sha256 = hex;
          used = true;
        }
      }
      if (!used) {
        return Fail(it->first, absl::StrCat("torchscript_sha256: no network is torchscript: ", path));
      }
    }
    return true;
  }

  bool Heads(const YAML::Node& heads) {
    file_->heads_line = LineOf(heads);
    if (!heads.IsMap()) return Fail(heads, "heads: expects a map {out_features, bias}");
    file_->heads = heads;
    for (auto it = heads.begin(); it != heads.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (k != "bias" && k != "out_features") {
        return Fail(it->first, absl::StrCat("heads: unknown key '", k,
                                            "' (allowed: out_features, bias)"));
      }
    }
    return true;
  }

  bool Network(const std::string& role, const YAML::Node& node) {
    NetworkDecl net;
    net.role = role;
    net.line = LineOf(node);
    if (node.IsMap() && node["torchscript"]) return TorchScriptNetwork(role, node, net);
    if (node.IsSequence()) {
      net.layers = node;  // a bare layer list
    } else if (!node.IsMap()) {
      return Fail(node, role + ": expects a map with layers: [...] (or the layer list itself)");
    } else {
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (std::find(NetworkKeys().begin(), NetworkKeys().end(), key) == NetworkKeys().end()) {
          return Fail(it->first, absl::StrCat(role, ": unknown key '", key, "'",
                                              DidYouMean(Suggest(key, NetworkKeys())),
                                              " (allowed: ", absl::StrJoin(NetworkKeys(), ", "),
                                              ")"));
        }
      }
      if (!node["layers"]) return Fail(node, role + ": missing layers");
      net.layers = node["layers"];
    }
    const bool generator_like = role == "generator" || role == "decoder";
    std::vector<std::string> inputs = generator_like ? std::vector<std::string>{"vector", "spatial"}
                                                     : std::vector<std::string>{"image", "flat"};
    net.input = role == "classifier" ? "flat" : inputs[0];
    if (node.IsMap() && node["input"] &&
        !Choice(node["input"], role + ".input", inputs, net.input)) {
      return false;
    }
    if (role == "critic") {
      net.output = "score";
      if (node.IsMap() && node["output"] &&
          !Choice(node["output"], "critic.output", {"score", "mean"}, net.output)) {
        return false;
      }
      if (file_->conditional) {
        if (!node.IsMap() || !node["labels"]) {
          return Fail(node, "critic: a conditional model's critic must say how it sees the "
                            "label: labels: planes (stacked on the image channels) or labels: "
                            "vector (appended to the flattened image)");
        }
        if (!Choice(node["labels"], "critic.labels", {"planes", "vector"}, net.labels)) return false;
      } else if (node.IsMap() && node["labels"]) {
        return Fail(node["labels"], "critic.labels: the model is not conditional (set "
                                    "conditional: true)");
      }
    } else if (node.IsMap() && (node["labels"] || node["output"])) {
      const YAML::Node bad = node["labels"] ? node["labels"] : node["output"];
      return Fail(bad, absl::StrCat(role, ": only a critic has labels and output"));
    }
    if (!LayerList(role, net.layers, 0)) return false;
    file_->networks.push_back(std::move(net));
    return true;
  }

  // `ROLE: {torchscript: PATH}`: no layers, the contract of model_file.h.
  bool TorchScriptNetwork(const std::string& role, const YAML::Node& node, NetworkDecl& net) {
    if (role == "classifier") {
      return Fail(node["torchscript"], "classifier: torchscript is for generators, critics, "
                                       "encoders and decoders");
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.Scalar() != "torchscript") {
        return Fail(it->first, absl::StrCat(role, ": a torchscript network takes no other key (got '",
                                            it->first.Scalar(), "')"));
      }
    }
    if (!Scalar(node["torchscript"], role + ".torchscript", net.torchscript)) return false;
    if (net.torchscript.empty()) return Fail(node["torchscript"], role + ".torchscript: empty path");
    const bool generator_like = role == "generator" || role == "decoder";
    net.input = generator_like ? "vector" : "image";
    if (role == "critic") net.output = "score";
    file_->networks.push_back(std::move(net));
    return true;
  }

  bool LayerList(const std::string& role, const YAML::Node& list, int depth) {
    if (!list.IsSequence()) return Fail(list, role + ": layers must be a list");
    if (list.size() == 0 && depth == 0) return Fail(list, role + ": has no layers");
    if (depth > 8) return Fail(list, role + ": repeat blocks nested more than 8 deep");
    for (const YAML::Node& item : list) {
      if (++items_ > 100 * kMaxLayersPerNetwork) return Fail(item, "too many layers");
      if (item.IsMap() && item["repeat"]) {
        if (!Repeat(role, item, depth)) return false;
      } else if (!Layer(role, item)) {
        return false;
      }
    }
    return true;
  }

  bool Repeat(const std::string& role, const YAML::Node& item, int depth) {
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (k != "repeat" && k != "index" && k != "layers") {
        return Fail(it->first, absl::StrCat(role, ": repeat block: unknown key '", k,
                                            "' (allowed: repeat, index, layers)"));
      }
    }
    if (!item["repeat"].IsScalar()) return Fail(item, role + ": repeat: expects a count");
    if (item["index"]) {
      std::string index;
      if (!Scalar(item["index"], "index", index)) return false;
      const auto& s = ModelSettingNames();
      const auto& d = DataNames();
      if (index.empty() || !(std::isalpha(static_cast<unsigned char>(index[0])) || index[0] == '_') ||
          std::find(s.begin(), s.end(), index) != s.end() ||
          std::find(d.begin(), d.end(), index) != d.end()) {
        return Fail(item["index"], absl::StrCat(role, ": repeat index '", index,
                                                "' must be a new name (not a setting)"));
      }
    }
    if (!item["layers"]) return Fail(item, role + ": repeat block without layers");
    return LayerList(role, item["layers"], depth + 1);
  }

  bool Layer(const std::string& role, const YAML::Node& item) {
    std::string type;
    YAML::Node args;
    if (item.IsScalar()) {
      type = item.Scalar();
    } else if (item.IsMap() && item.size() == 1) {
      type = item.begin()->first.Scalar();
      args = item.begin()->second;
    } else {
      return Fail(item, role + ": a layer is written `- Type` or `- Type: {arguments}` (or a "
                               "repeat block)");
    }
    const LayerType* t = FindLayerType(type);
    if (t == nullptr) {
      return Fail(item, absl::StrCat(role, ": unknown layer type '", type, "'",
                                     DidYouMean(Suggest(type, LayerTypeNames())), " (known: ",
                                     absl::StrJoin(LayerTypeNames(), ", "), ")"));
    }
    if (!args || args.IsNull()) return true;
    if (args.IsSequence() && ListIsTheArgument(*t)) return true;
    if (args.IsScalar() || args.IsSequence()) {
      const size_t given = args.IsScalar() ? 1 : args.size();
      if (given > t->args.size()) {
        std::vector<std::string> names;
        for (const ArgSpec& a : t->args) names.push_back(a.name);
        return Fail(args, absl::StrCat(role, ": ", type, " takes at most ", t->args.size(),
                                       " positional argument", t->args.size() == 1 ? "" : "s",
                                       " (", names.empty() ? "none" : absl::StrJoin(names, ", "),
                                       "), gets ", given));
      }
      return true;
    }
    if (!args.IsMap()) return Fail(args, role + ": " + type + ": arguments must be a map or list");
    std::vector<std::string> names;
    for (const ArgSpec& a : t->args) names.push_back(a.name);
    if (t->parameter_free) names.push_back("functional");
    for (auto it = args.begin(); it != args.end(); ++it) {
      const std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(names.begin(), names.end(), k) == names.end()) {
        std::string allowed = names.empty() ? "none" : absl::StrJoin(names, ", ");
        return Fail(it->first, absl::StrCat(role, ": ", type, ": unknown argument '", k, "'",
                                            DidYouMean(Suggest(k, names)), " (allowed: ",
                                            allowed, ")"));
      }
    }
    return true;
  }

  std::shared_ptr<ModelFile> file_;
  std::string message_;
  int items_ = 0;
};

}  // namespace

const std::vector<std::string>& ModelSettingNames() {
  static const std::vector<std::string> kNames = {"latent_size", "width", "depth"};
  return kNames;
}

const std::vector<std::string>& DataNames() {
  static const std::vector<std::string> kNames = {"num_classes", "channels", "image_size",
                                                  "image_height", "image_width"};
  return kNames;
}

const NetworkDecl* ModelFile::Network(std::string_view role) const {
  for (const NetworkDecl& n : networks) {
    if (n.role == role) return &n;
  }
  return nullptr;
}

bool ModelFile::HasTorchScript() const {
  return std::any_of(networks.begin(), networks.end(),
                     [](const NetworkDecl& n) { return n.is_torchscript(); });
}

ModelInfo ModelFile::Info() const {
  auto value = [&](const char* name) {
    auto it = settings.find(name);
    return it == settings.end() ? 0 : static_cast<int>(it->second.value);
  };
  auto adjustable = [&](const char* name) {
    auto it = settings.find(name);
    return it != settings.end() && !it->second.fixed;
  };
  return ModelInfo{name,
                   is_preset,
                   objective,
                   conditional,
                   fixed_channels,
                   fixed_size,
                   value("latent_size"),
                   value("width"),
                   value("depth"),
                   adjustable("latent_size"),
                   adjustable("width"),
                   adjustable("depth"),
                   description};
}

absl::StatusOr<std::shared_ptr<const ModelFile>> ParseModelFile(std::string path,
                                                                std::string text) {
  return FileParser(std::move(path), std::move(text)).Run();
}

bool IsModelFilePath(std::string_view model) {
  return model.ends_with(".yaml") || model.ends_with(".yml");
}

std::string WithTorchScriptHashes(const std::string& text,
                                  const std::map<std::string, std::string>& hashes) {
  if (hashes.empty()) return text;
  // A top-level key at column 0 after a newline ends any block the text
  // left open; flow style keeps it on one line.
  std::string out = text;
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += "torchscript_sha256: {";
  bool first = true;
  for (const auto& [path, hex] : hashes) {
    out += absl::StrCat(first ? "" : ", ", "\"", absl::CEscape(path), "\": ", hex);
    first = false;
  }
  out += "}  # added by gridrun: the TorchScript files' content hashes\n";
  return out;
}

}  // namespace gridrun::modelspec
