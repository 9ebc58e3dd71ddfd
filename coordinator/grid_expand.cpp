#include "coordinator/grid_expand.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <nlohmann/json.hpp>

#include "common/init_from.h"
#include "common/model_catalog.h"
#include "common/number_format.h"
#include "search/asha.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/trial_fields.h"
#include "modelspec/model_file.h"
#include "modelspec/zoo.h"
#include "search/sampler.h"

namespace gridrun::coordinator {
namespace {

// The trial's config from the settings that hold for it (the spec's single
// values plus this trial's axis values), defaults filled in.
using ParsedModelFiles = std::map<std::string, std::shared_ptr<const modelspec::ModelFile>>;

// spec.model_files, parsed (they parsed in ParseGridSpec).
ParsedModelFiles ParseModelFiles(const GridSpec& spec) {
  ParsedModelFiles parsed;
  for (const auto& [path, text] : spec.model_files) {
    parsed.emplace(path, *modelspec::ParseModelFile(path, text));
  }
  return parsed;
}

TrialConfig Resolve(const GridSpec& spec, const ParsedModelFiles& files,
                    const std::map<std::string, SpecValue>& values) {
  TrialConfig c;
  c.experiment = spec.experiment;
  const std::string& model = std::get<std::string>(values.at("model"));
  if (auto file = files.find(model); file != files.end()) {
    // The file's text travels in the config (and so in its hash: a changed
    // layer is a different trial).
    ApplyModelDefaults(file->second->Info(), c);
    c.model_source = file->second->text;
  } else {
    ApplyModelDefaults(*FindModel(model), c);
  }
  // Each value has the type its field's kind gives (ParseGridSpec).
  for (const auto& [field, value] : values) FindTrialField(field)->assign(value, c);
  if (spec.betas) {
    c.optimizer.beta1 = spec.betas->first;
    c.optimizer.beta2 = spec.betas->second;
  }
  c.samples.epochs = spec.sample_epochs ? *spec.sample_epochs : std::vector<int>{c.epochs};
  // See the header: the seed hashes the config without it.
  c.trial_seed = 0;
  const std::string digest = Sha256Hex(absl::StrCat(c.seed, ":", ConfigSha256(c)));
  uint64_t bits = 0;
  // 16 hex digits of a SHA-256 always parse.
  [[maybe_unused]] const bool parsed = absl::SimpleHexAtoi(digest.substr(0, 16), &bits);
  c.trial_seed = static_cast<int64_t>(bits & ((uint64_t{1} << 62) - 1));
  return c;
}

// ASHA: a trial's first lease stops at the first rung (0: no rungs).
int64_t FirstRungEpoch(const search::SearchSettings& search, int64_t epochs) {
  if (!search.scheduler || search.scheduler->type != search::SchedulerType::kAsha) return 0;
  const std::vector<int64_t> rungs = search::RungEpochs(
      {search.scheduler->min_epochs, search.scheduler->reduction_factor, epochs,
       search.scheduler->mode});
  return rungs.empty() ? 0 : rungs.front();
}

}  // namespace

std::vector<ExpandedTrial> ExpandGrid(const GridSpec& spec) {
  // Without a cancel check the expansion always completes.
  return *ExpandGrid(spec, nullptr);
}

absl::StatusOr<std::vector<ExpandedTrial>> ExpandGrid(const GridSpec& spec,
                                                      const std::function<bool()>& cancelled) {
  constexpr int64_t kTrialsPerCheck = 64;
  std::vector<ExpandedTrial> trials;
  trials.reserve(static_cast<size_t>(spec.trial_count));
  std::vector<size_t> index(spec.axes.size(), 0);
  const ParsedModelFiles files = ParseModelFiles(spec);
  size_t point = 0;  // the sampled point (random/sobol), varying slowest
  for (int64_t number = 0; number < spec.trial_count; ++number) {
    if (cancelled && number % kTrialsPerCheck == 0 && cancelled()) {
      return absl::CancelledError(
          absl::StrCat("grid expansion stopped after ", number, " trials: the caller cancelled"));
    }
    ExpandedTrial trial;
    trial.number = number;
    std::map<std::string, SpecValue> values = spec.fixed;
    if (point < spec.sampled_points.size()) {
      for (size_t a = 0; a < spec.sampled_axes.size(); ++a) {
        const SampledAxis& axis = spec.sampled_axes[a];
        values[axis.field] = spec.sampled_points[point][a];
        trial.params[axis.name] = SpecValueText(spec.sampled_points[point][a]);
      }
    }
    for (size_t a = 0; a < spec.axes.size(); ++a) {
      const GridAxis& axis = spec.axes[a];
      values[axis.field] = axis.values[index[a]];
      trial.params[axis.name] = SpecValueText(axis.values[index[a]]);
    }
    trial.config = Resolve(spec, files, values);
    trial.config_sha256 = ConfigSha256(trial.config);
    trials.push_back(std::move(trial));
    // Odometer step: the last axis varies fastest; the sampled point
    // advances when every list axis has wrapped around.
    bool wrapped = true;
    for (size_t a = spec.axes.size(); a-- > 0;) {
      if (++index[a] < spec.axes[a].values.size()) {
        wrapped = false;
        break;
      }
      index[a] = 0;
    }
    if (wrapped) ++point;
  }
  if (spec.search.scheduler) {
    // A scheduler judges each arrival at a rung against the arrivals so far
    // (asynchronous promotion): in grid order the first arrivals are all
    // alike, so the trials run in a seeded random order instead, numbered
    // in that order.
    ASSIGN_OR_RETURN(const std::vector<int64_t> order,
                     search::ShuffledOrder(static_cast<int64_t>(trials.size()), spec.search.seed));
    std::vector<ExpandedTrial> shuffled;
    shuffled.reserve(trials.size());
    for (int64_t index : order) {
      shuffled.push_back(std::move(trials[static_cast<size_t>(index)]));
      shuffled.back().number = static_cast<int64_t>(shuffled.size()) - 1;
    }
    trials = std::move(shuffled);
  }
  return trials;
}

NewExperiment ToNewExperiment(const GridSpec& spec, std::string_view yaml_text) {
  return *ToNewExperiment(spec, yaml_text, nullptr);
}

absl::StatusOr<NewExperiment> ToNewExperiment(const GridSpec& spec, std::string_view yaml_text,
                                              const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(std::vector<ExpandedTrial> trials, ExpandGrid(spec, cancelled));
  NewExperiment experiment;
  experiment.name = spec.experiment;
  experiment.spec_yaml = std::string(yaml_text);
  experiment.spec_sha256 = Sha256Hex(spec.canonical_json);
  if (!spec.search.IsPlainGrid() || spec.search.keep_trained) {
    experiment.search_json = search::SearchSettingsToJson(spec.search);
  }
  if (!spec.model_files.empty()) {
    experiment.model_files_json = nlohmann::json(spec.model_files).dump();
  }
  for (ExpandedTrial& trial : trials) {
    NewTrial t;
    t.number = trial.number;
    t.config_json = ToCanonicalJson(trial.config);
    t.config_sha256 = std::move(trial.config_sha256);
    t.params = std::move(trial.params);
    t.ranks = trial.config.ranks;
    t.device = trial.config.device;
    t.stop_after_epoch = FirstRungEpoch(spec.search, trial.config.epochs);
    if (!trial.config.init_from.empty()) {
      // The spec parser wrote this text, so it parses.
      absl::StatusOr<InitFrom> init = InitFromFromJson(trial.config.init_from);
      if (init.ok()) t.init_from_trial = init->trial;
    }
    experiment.trials.push_back(std::move(t));
  }
  return experiment;
}

namespace {

std::string DistributionText(const SampledAxis& axis) {
  const search::Distribution& d = axis.distribution;
  if (d.kind == search::Distribution::Kind::kChoice) {
    std::vector<std::string> values;
    for (const SpecValue& v : axis.choices) values.push_back(SpecValueText(v));
    return absl::StrCat("choice of ", absl::StrJoin(values, ", "));
  }
  std::string text = absl::StrCat(search::DistributionKindName(d.kind), " ",
                                  FormatShortestDouble(d.low), "..", FormatShortestDouble(d.high));
  if (d.kind == search::Distribution::Kind::kIntRange && d.step != 1) {
    absl::StrAppend(&text, " step ", d.step);
  }
  return text;
}

}  // namespace

std::string SummarizeSearch(const GridSpec& spec) {
  std::string out;
  const search::SearchSettings& s = spec.search;
  for (const SampledAxis& axis : spec.sampled_axes) {
    absl::StrAppend(&out, "\n  ", axis.name, ": ", DistributionText(axis), " (sampled)");
  }
  if (s.strategy != search::Strategy::kGrid) {
    absl::StrAppend(&out, "\n  search: ", search::StrategyName(s.strategy), ", ", s.trials,
                    s.trials == 1 ? " point" : " points", ", seed ", s.seed);
    constexpr size_t kMaxShown = 20;
    for (size_t i = 0; i < spec.sampled_points.size() && i < kMaxShown; ++i) {
      std::vector<std::string> parts;
      for (size_t a = 0; a < spec.sampled_axes.size(); ++a) {
        parts.push_back(absl::StrCat(spec.sampled_axes[a].name, "=",
                                     SpecValueText(spec.sampled_points[i][a])));
      }
      absl::StrAppend(&out, "\n    point ", i, ": ", absl::StrJoin(parts, " "));
    }
    if (spec.sampled_points.size() > kMaxShown) {
      absl::StrAppend(&out, "\n    ... (", spec.sampled_points.size() - kMaxShown, " more)");
    }
  }
  if (s.scheduler) {
    const search::SchedulerSettings& c = *s.scheduler;
    absl::StrAppend(&out, "\n  scheduler: ", search::SchedulerTypeName(c.type), " on ", c.metric,
                    " (", search::ModeName(c.mode), "), min_epochs ", c.min_epochs);
    if (c.type == search::SchedulerType::kAsha) {
      auto epochs = spec.fixed.find("epochs");
      const int64_t max_epochs =
          epochs != spec.fixed.end() ? std::get<int64_t>(epochs->second) : TrialConfig{}.epochs;
      std::vector<std::string> rungs;
      for (int64_t e : search::RungEpochs(
               {c.min_epochs, c.reduction_factor, max_epochs, c.mode})) {
        rungs.push_back(absl::StrCat(e));
      }
      absl::StrAppend(&out, ", reduction_factor ", c.reduction_factor, ", rungs at epochs ",
                      rungs.empty() ? "(none)" : absl::StrJoin(rungs, ", "));
    } else {
      absl::StrAppend(&out, ", min_trials ", c.min_trials);
    }
  }
  for (const search::StopRule& r : s.stop_rules) {
    std::string what;
    switch (r.kind) {
      case search::StopRule::Kind::kNonFinite:
        what = "is not finite";
        break;
      case search::StopRule::Kind::kAbove:
        what = absl::StrCat("is above ", FormatShortestDouble(r.bound));
        break;
      case search::StopRule::Kind::kBelow:
        what = absl::StrCat("is below ", FormatShortestDouble(r.bound));
        break;
      case search::StopRule::Kind::kDiverged:
        what = absl::StrCat("is worse than its best (", search::ModeName(r.mode), ") by x",
                            FormatShortestDouble(r.factor), " for ", r.epochs, " epochs");
        break;
    }
    absl::StrAppend(&out, "\n  stop when ", r.metric, " ", what);
  }
  if (s.keep_best) {
    absl::StrAppend(&out, "\n  keep_best: ", s.keep_best->metric, " (",
                    search::ModeName(s.keep_best->mode), ")");
  }
  return out;
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
  absl::StrAppend(&out, SummarizeSearch(spec));
  return out;
}

}  // namespace gridrun::coordinator
