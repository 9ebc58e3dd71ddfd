#include "common/trial_config.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "common/sha256.h"

namespace gridrun {
namespace {

using nlohmann::json;

json ToJsonObject(const TrialConfig& c) {
  // nlohmann::json objects are std::map based: keys come out sorted.
  json optimizer = {{"name", c.optimizer.name},       {"lr", c.optimizer.lr},
                    {"beta1", c.optimizer.beta1},     {"beta2", c.optimizer.beta2},
                    {"momentum", c.optimizer.momentum},
                    {"weight_decay", c.optimizer.weight_decay}};
  json samples = {{"epochs", c.samples.epochs}, {"count", c.samples.count}};
  return json{{"experiment", c.experiment},
              {"dataset", c.dataset},
              {"model", c.model},
              {"epochs", c.epochs},
              {"batch_size", c.batch_size},
              {"ranks", c.ranks},
              {"device", c.device},
              {"seed", c.seed},
              {"trial_seed", c.trial_seed},
              {"latent_size", c.latent_size},
              {"width", c.width},
              {"depth", c.depth},
              {"kl_weight", c.kl_weight},
              {"recon_loss", c.recon_loss},
              {"critic_iters", c.critic_iters},
              {"clip_value", c.clip_value},
              {"gp_weight", c.gp_weight},
              {"optimizer", optimizer},
              {"samples", samples},
              {"train_size", c.train_size},
              {"test_size", c.test_size},
              {"eval_samples", c.eval_samples},
              {"init_encoder_from", c.init_encoder_from}};
}

// Reads `key` of `obj` into `out` if present; a wrong type is an error.
template <typename T>
absl::Status Read(const json& obj, const char* key, const std::string& path, T* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return absl::OkStatus();
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return absl::InvalidArgumentError("config." + path + key + ": wrong type (" +
                                      std::string(it->type_name()) + ")");
  }
  return absl::OkStatus();
}

}  // namespace

std::string ToCanonicalJson(const TrialConfig& config) { return ToJsonObject(config).dump(); }

std::string ConfigSha256(const TrialConfig& config) {
  json obj = ToJsonObject(config);
  obj.erase("experiment");
  return Sha256Hex(obj.dump());
}

absl::StatusOr<TrialConfig> TrialConfigFromJson(const std::string& json_text) {
  json obj = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded() || !obj.is_object()) {
    return absl::InvalidArgumentError("config: not a JSON object");
  }
  TrialConfig c;
  absl::Status s;
  auto read = [&](const json& o, const char* key, const std::string& path, auto* out) {
    if (s.ok()) s = Read(o, key, path, out);
  };
  read(obj, "experiment", "", &c.experiment);
  read(obj, "dataset", "", &c.dataset);
  read(obj, "model", "", &c.model);
  read(obj, "epochs", "", &c.epochs);
  read(obj, "batch_size", "", &c.batch_size);
  read(obj, "ranks", "", &c.ranks);
  read(obj, "device", "", &c.device);
  read(obj, "seed", "", &c.seed);
  read(obj, "trial_seed", "", &c.trial_seed);
  read(obj, "latent_size", "", &c.latent_size);
  read(obj, "width", "", &c.width);
  read(obj, "depth", "", &c.depth);
  read(obj, "kl_weight", "", &c.kl_weight);
  read(obj, "recon_loss", "", &c.recon_loss);
  read(obj, "critic_iters", "", &c.critic_iters);
  read(obj, "clip_value", "", &c.clip_value);
  read(obj, "gp_weight", "", &c.gp_weight);
  read(obj, "train_size", "", &c.train_size);
  read(obj, "test_size", "", &c.test_size);
  read(obj, "eval_samples", "", &c.eval_samples);
  read(obj, "init_encoder_from", "", &c.init_encoder_from);
  if (auto it = obj.find("optimizer"); s.ok() && it != obj.end()) {
    if (!it->is_object()) return absl::InvalidArgumentError("config.optimizer: not an object");
    read(*it, "name", "optimizer.", &c.optimizer.name);
    read(*it, "lr", "optimizer.", &c.optimizer.lr);
    read(*it, "beta1", "optimizer.", &c.optimizer.beta1);
    read(*it, "beta2", "optimizer.", &c.optimizer.beta2);
    read(*it, "momentum", "optimizer.", &c.optimizer.momentum);
    read(*it, "weight_decay", "optimizer.", &c.optimizer.weight_decay);
  }
  if (auto it = obj.find("samples"); s.ok() && it != obj.end()) {
    if (!it->is_object()) return absl::InvalidArgumentError("config.samples: not an object");
    read(*it, "epochs", "samples.", &c.samples.epochs);
    read(*it, "count", "samples.", &c.samples.count);
  }
  if (!s.ok()) return s;
  return c;
}

}  // namespace gridrun
