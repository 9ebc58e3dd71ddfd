#include "coordinator/grid_expand.h"

#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model_catalog.h"
#include "common/sha256.h"

namespace gridrun::coordinator {
namespace {

int64_t AsInt(const SpecValue& v) { return std::get<int64_t>(v); }
// Fields held as int in TrialConfig; ParseGridSpec's ranges keep them in range.
int AsInt32(const SpecValue& v) { return static_cast<int>(std::get<int64_t>(v)); }
double AsReal(const SpecValue& v) { return std::get<double>(v); }
const std::string& AsString(const SpecValue& v) { return std::get<std::string>(v); }

using Setter = void (*)(const SpecValue&, TrialConfig&);

// How each field ParseGridSpec accepts is written into a TrialConfig; the
// value's type is the one ParseGridSpec gave it.
const std::map<std::string, Setter>& Setters() {
  static const std::map<std::string, Setter> kSetters = {
      {"dataset", [](const SpecValue& v, TrialConfig& c) { c.dataset = AsString(v); }},
      {"model", [](const SpecValue& v, TrialConfig& c) { c.model = AsString(v); }},
      {"epochs", [](const SpecValue& v, TrialConfig& c) { c.epochs = AsInt32(v); }},
      {"batch_size", [](const SpecValue& v, TrialConfig& c) { c.batch_size = AsInt32(v); }},
      {"ranks", [](const SpecValue& v, TrialConfig& c) { c.ranks = AsInt32(v); }},
      {"device", [](const SpecValue& v, TrialConfig& c) { c.device = AsString(v); }},
      {"seed", [](const SpecValue& v, TrialConfig& c) { c.seed = AsInt(v); }},
      {"latent_size", [](const SpecValue& v, TrialConfig& c) { c.latent_size = AsInt32(v); }},
      {"width", [](const SpecValue& v, TrialConfig& c) { c.width = AsInt32(v); }},
      {"depth", [](const SpecValue& v, TrialConfig& c) { c.depth = AsInt32(v); }},
      {"kl_weight", [](const SpecValue& v, TrialConfig& c) { c.kl_weight = AsReal(v); }},
      {"recon_loss", [](const SpecValue& v, TrialConfig& c) { c.recon_loss = AsString(v); }},
      {"critic_iters", [](const SpecValue& v, TrialConfig& c) { c.critic_iters = AsInt32(v); }},
      {"clip_value", [](const SpecValue& v, TrialConfig& c) { c.clip_value = AsReal(v); }},
      {"gp_weight", [](const SpecValue& v, TrialConfig& c) { c.gp_weight = AsReal(v); }},
      {"train_size", [](const SpecValue& v, TrialConfig& c) { c.train_size = AsInt(v); }},
      {"test_size", [](const SpecValue& v, TrialConfig& c) { c.test_size = AsInt(v); }},
      {"eval_samples", [](const SpecValue& v, TrialConfig& c) { c.eval_samples = AsInt32(v); }},
      {"init_encoder_from",
       [](const SpecValue& v, TrialConfig& c) { c.init_encoder_from = AsString(v); }},
      {"optimizer.name",
       [](const SpecValue& v, TrialConfig& c) { c.optimizer.name = AsString(v); }},
      {"optimizer.lr", [](const SpecValue& v, TrialConfig& c) { c.optimizer.lr = AsReal(v); }},
      {"optimizer.momentum",
       [](const SpecValue& v, TrialConfig& c) { c.optimizer.momentum = AsReal(v); }},
      {"optimizer.weight_decay",
       [](const SpecValue& v, TrialConfig& c) { c.optimizer.weight_decay = AsReal(v); }},
      {"samples.count", [](const SpecValue& v, TrialConfig& c) { c.samples.count = AsInt32(v); }},
  };
  return kSetters;
}

// The trial's config from the settings that hold for it (the spec's single
// values plus this trial's axis values), defaults filled in.
TrialConfig Resolve(const GridSpec& spec, const std::map<std::string, SpecValue>& values) {
  TrialConfig c;
  c.experiment = spec.experiment;
  c.model = AsString(values.at("model"));
  const ModelInfo& model = *FindModel(c.model);
  c.latent_size = model.default_latent_size;
  c.width = model.default_width;
  c.depth = model.default_depth;
  c.critic_iters = DefaultCriticIters(model.objective);
  c.optimizer = DefaultOptimizer(model.objective);
  c.samples.count = 64;
  for (const auto& [field, value] : values) Setters().at(field)(value, c);
  if (spec.betas) {
    c.optimizer.beta1 = spec.betas->first;
    c.optimizer.beta2 = spec.betas->second;
  }
  c.samples.epochs = spec.sample_epochs ? *spec.sample_epochs : std::vector<int>{c.epochs};
  // See the header: the seed hashes the config without it.
  c.trial_seed = 0;
  const std::string digest = Sha256Hex(absl::StrCat(c.seed, ":", ConfigSha256(c)));
  uint64_t bits = 0;
  absl::SimpleHexAtoi(digest.substr(0, 16), &bits);
  c.trial_seed = static_cast<int64_t>(bits & ((uint64_t{1} << 62) - 1));
  return c;
}

}  // namespace

std::vector<ExpandedTrial> ExpandGrid(const GridSpec& spec) {
  std::vector<ExpandedTrial> trials;
  trials.reserve(static_cast<size_t>(spec.trial_count));
  std::vector<size_t> index(spec.axes.size(), 0);
  for (int64_t number = 0; number < spec.trial_count; ++number) {
    ExpandedTrial trial;
    trial.number = number;
    std::map<std::string, SpecValue> values = spec.fixed;
    for (size_t a = 0; a < spec.axes.size(); ++a) {
      const GridAxis& axis = spec.axes[a];
      values[axis.field] = axis.values[index[a]];
      trial.params[axis.name] = SpecValueText(axis.values[index[a]]);
    }
    trial.config = Resolve(spec, values);
    trial.config_sha256 = ConfigSha256(trial.config);
    trials.push_back(std::move(trial));
    // Odometer step: the last axis varies fastest.
    for (size_t a = spec.axes.size(); a-- > 0;) {
      if (++index[a] < spec.axes[a].values.size()) break;
      index[a] = 0;
    }
  }
  return trials;
}

NewExperiment ToNewExperiment(const GridSpec& spec, std::string_view yaml_text) {
  NewExperiment experiment;
  experiment.name = spec.experiment;
  experiment.spec_yaml = std::string(yaml_text);
  experiment.spec_sha256 = Sha256Hex(spec.canonical_json);
  for (ExpandedTrial& trial : ExpandGrid(spec)) {
    NewTrial t;
    t.number = trial.number;
    t.config_json = ToCanonicalJson(trial.config);
    t.config_sha256 = std::move(trial.config_sha256);
    t.params = std::move(trial.params);
    t.ranks = trial.config.ranks;
    t.device = trial.config.device;
    experiment.trials.push_back(std::move(t));
  }
  return experiment;
}

std::string SummarizeGrid(const GridSpec& spec) {
  constexpr size_t kMaxShown = 10;
  std::string out = absl::StrCat(spec.trial_count, spec.trial_count == 1 ? " trial" : " trials");
  for (const GridAxis& axis : spec.axes) {
    std::vector<std::string> shown;
    for (size_t i = 0; i < axis.values.size() && i < kMaxShown; ++i) {
      shown.push_back(SpecValueText(axis.values[i]));
    }
    if (axis.values.size() > kMaxShown) shown.push_back("...");
    absl::StrAppend(&out, "\n  ", axis.name, ": ", absl::StrJoin(shown, ", "), " (",
                    axis.values.size(), axis.values.size() == 1 ? " value)" : " values)");
  }
  return out;
}

}  // namespace gridrun::coordinator
