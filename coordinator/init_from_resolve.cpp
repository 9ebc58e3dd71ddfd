#include "coordinator/init_from_resolve.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/init_from.h"
#include "common/status_macros.h"
#include "common/trial_config.h"
#include "modelspec/model_file.h"
#include "modelspec/zoo.h"

namespace gridrun::coordinator {
namespace {

// The model file a config trains (built-in or the user's text).
absl::StatusOr<std::shared_ptr<const modelspec::ModelFile>> ModelFileOf(const TrialConfig& c) {
  if (c.model_source.empty()) {
    auto file = modelspec::FindZooFile(c.model);
    if (file == nullptr) return absl::InvalidArgumentError("unknown model '" + c.model + "'");
    return file;
  }
  return modelspec::ParseModelFile(c.model, c.model_source);
}

bool HasNetwork(const modelspec::ModelFile& file, const std::string& network) {
  return file.Network(network) != nullptr;
}

// The resolved init_from JSON for `target` (a trial's config).
absl::StatusOr<std::string> Resolve(TrialStore& store, const TrialConfig& target) {
  ASSIGN_OR_RETURN(InitFrom init, InitFromFromJson(target.init_from));
  const std::string what = absl::StrCat("init_from.trial: trial ", init.trial);
  auto source = store.GetTrial(init.trial);
  if (!source.ok()) {
    if (source.status().code() == absl::StatusCode::kNotFound) {
      return absl::InvalidArgumentError(absl::StrCat("init_from.trial: no trial with id ",
                                                     init.trial, " in this database"));
    }
    return source.status();
  }
  if (source->state != TrialState::kComplete) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is ", TrialStateName(source->state),
                                                   ", not COMPLETE: it has no trained model"));
  }
  ASSIGN_OR_RETURN(const std::vector<CheckpointRecord> checkpoints,
                   store.ListCheckpoints(init.trial));
  if (checkpoints.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " keeps no checkpoint: retention (keep_trained, --keep-trained) removed its "
              "trained model"));
  }
  ASSIGN_OR_RETURN(const TrialConfig source_config, TrialConfigFromJson(source->config_json));
  ASSIGN_OR_RETURN(auto source_file, ModelFileOf(source_config));
  ASSIGN_OR_RETURN(auto target_file, ModelFileOf(target));
  if (init.network.empty()) {
    if (source_config.model != target.model || source_config.model_source != target.model_source) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " trained model '", source_config.model, "', this trial '", target.model,
          "': without init_from.network every network is copied by name, which needs the same "
          "model; name the network to copy"));
    }
  } else {
    if (!HasNetwork(*source_file, init.network)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "init_from.network: trial ", init.trial, "'s model '", source_config.model,
          "' has no ", init.network));
    }
    const std::string into = init.into.empty() ? init.network : init.into;
    if (!HasNetwork(*target_file, into)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "init_from", init.into.empty() ? ".network" : ".into", ": this trial's model '",
          target.model, "' has no ", into));
    }
  }
  init.checkpoint_sha256 = checkpoints.front().sha256;  // newest first: the final one
  init.source_config_sha256 = source->config_sha256;
  return InitFromToJson(init);
}

}  // namespace

absl::Status ResolveInitFrom(TrialStore& store, NewExperiment& experiment) {
  std::map<std::string, std::string> resolved;  // per distinct (init_from, model) text
  for (NewTrial& trial : experiment.trials) {
    ASSIGN_OR_RETURN(TrialConfig config, TrialConfigFromJson(trial.config_json));
    if (config.init_from.empty()) continue;
    const std::string key = config.init_from + "\n" + config.model + "\n" + config.model_source;
    auto it = resolved.find(key);
    if (it == resolved.end()) {
      ASSIGN_OR_RETURN(std::string json, Resolve(store, config));
      it = resolved.emplace(key, std::move(json)).first;
    }
    config.init_from = it->second;
    trial.config_json = ToCanonicalJson(config);
    trial.config_sha256 = ConfigSha256(config);
  }
  return absl::OkStatus();
}

}  // namespace gridrun::coordinator
