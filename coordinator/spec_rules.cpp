// The rules of a grid spec that involve several settings (model and data
// set shapes, hyperparameters a model does not use, optimizer fields,
// batch_size against ranks, sample epochs against epochs), the grid's size
// limit, and the GridSpec a valid parse builds (coordinator/spec_parser.h).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "coordinator/spec_fields.h"
#include "coordinator/spec_parser.h"
#include "coordinator/spec_values.h"
#include "modelspec/zoo.h"

namespace gridrun::coordinator {
namespace {

std::string ObjectiveList(const std::vector<Objective>& objectives) {
  std::vector<std::string> names;
  for (Objective o : objectives) names.emplace_back(ObjectiveName(o));
  return absl::StrCat(names.size() == 1 ? "objective " : "objectives ", absl::StrJoin(names, ", "));
}

std::string Shape(int channels, int height, int width) {
  return absl::StrCat(channels, "x", height, "x", width);
}

}  // namespace

void SpecParser::CheckRequired(int root_line) {
  if (!claims_.contains("experiment")) {
    errors_.Add(root_line, "experiment", "missing", "", kNameRule);
  }
  for (const std::string key : {"dataset", "model"}) {
    if (!claims_.contains(key)) {
      errors_.Add(root_line, key, "missing", "", AllowedText(*FindSpecField(key)));
    }
  }
}

void SpecParser::CheckTrialCount() {
  // Sampled axes count once; the sampled points multiply the list axes.
  int64_t count = SampleCount();
  bool saturated = false;
  for (const AxisState& a : axes_) {
    const int64_t n = static_cast<int64_t>(a.sampled ? 1 : a.written);
    if (count > kNoIntMax / n) {
      saturated = true;
      count = kNoIntMax;
      break;
    }
    count *= n;
  }
  trial_count_ = count;
  if (count > limits_.max_trials) {
    errors_.Add(grid_line_, "grid", "too many trials",
                saturated ? absl::StrCat("more than ", kNoIntMax)
                          : absl::StrCat(count, " = ", AxisProduct()),
                absl::StrCat("at most ", limits_.max_trials));
  }
}

std::string SpecParser::AxisProduct() const {
  std::vector<std::string> parts;
  if (SampleCount() > 1) parts.push_back(absl::StrCat("search.trials ", SampleCount()));
  for (const AxisState& a : axes_) {
    if (!a.sampled) parts.push_back(absl::StrCat(a.axis.name, " ", a.written));
  }
  return absl::StrJoin(parts, " x ");
}

// The values a setting takes across the grid: its single value, the valid
// values of its axis, or `fallback` (path "") when it is not set. Empty when
// it is set but no value is valid (cross checks on it are then skipped).
std::vector<SpecParser::Choice> SpecParser::ChoicesFor(std::string_view field,
                                                       std::optional<SpecValue> fallback) const {
  if (auto it = fixed_.find(std::string(field)); it != fixed_.end()) return {it->second};
  for (const AxisState& a : axes_) {
    if (a.axis.field == field) return a.valid.list;
  }
  if (claims_.contains(std::string(field)) || !fallback) return {};
  return {Choice{*fallback, "", 0}};
}

// Where a setting was given, or nullptr when it was not.
const SpecParser::Origin* SpecParser::OriginOf(std::string_view field) const {
  auto it = claims_.find(std::string(field));
  return it == claims_.end() ? nullptr : &it->second;
}

void SpecParser::CheckCrossFields() {
  const std::vector<Choice> models = ModelChoices();
  const std::vector<Choice> datasets = ChoicesFor("dataset");
  CheckShapes(models, datasets);
  for (const Choice& m : models) {
    const ModelInfo& model = *LookupModel(std::get<std::string>(m.value));
    CheckHyperparameters(model);
    CheckOptimizerFields(model);
  }
  // Inputs of init_encoder_from match the data set too.
  CheckShapes(ChoicesFor("init_encoder_from"), datasets);
  CheckBatchAgainstRanks();
  CheckSampleEpochs();
  CheckSearch();
}

// Every pair of batch_size and ranks values, in order; a batch_size value
// at least as large as every ranks value needs no pairing, and each pair
// that is looked at adds a new problem, so the work stops with the errors
// (ErrorList::truncated) instead of growing as the product of two long axes.
void SpecParser::CheckBatchAgainstRanks() {
  const TrialConfig defaults;
  const std::vector<Choice> batches =
      ChoicesFor("batch_size", SpecValue(int64_t{defaults.batch_size}));
  const std::vector<Choice> ranks_values = ChoicesFor("ranks", SpecValue(int64_t{defaults.ranks}));
  int64_t most_ranks = 0;
  for (const Choice& r : ranks_values)
    most_ranks = std::max(most_ranks, std::get<int64_t>(r.value));
  for (const Choice& b : batches) {
    const int64_t batch = std::get<int64_t>(b.value);
    if (batch >= most_ranks) continue;
    for (const Choice& r : ranks_values) {
      if (errors_.truncated() || Cancelled()) return;
      const int64_t ranks = std::get<int64_t>(r.value);
      if (batch >= ranks) continue;
      if (b.path.empty()) {
        errors_.Add(r.line, r.path, "more ranks than batch_size", absl::StrCat(ranks),
                    absl::StrCat("<= batch_size = ", batch, " (the default)"));
      } else {
        errors_.Add(b.line, b.path, "smaller than ranks", absl::StrCat(batch),
                    absl::StrCat(">= ranks = ", ranks));
      }
    }
  }
}

// Sample epochs beyond some epochs value; bounded as CheckBatchAgainstRanks.
void SpecParser::CheckSampleEpochs() {
  if (!sample_epochs_) return;
  int64_t last_sample = 0;
  for (const Choice& s : sample_epochs_->list) {
    last_sample = std::max(last_sample, std::get<int64_t>(s.value));
  }
  const TrialConfig defaults;
  for (const Choice& e : ChoicesFor("epochs", SpecValue(int64_t{defaults.epochs}))) {
    const int64_t epochs = std::get<int64_t>(e.value);
    if (last_sample <= epochs) continue;
    for (const Choice& s : sample_epochs_->list) {
      if (errors_.truncated() || Cancelled()) return;
      if (std::get<int64_t>(s.value) <= epochs) continue;
      errors_.Add(s.line, s.path, "beyond epochs", SpecValueText(s.value),
                  absl::StrCat("1..", epochs));
    }
  }
}

// Presets (and transfer sources) are built for one input shape.
void SpecParser::CheckShapes(const std::vector<Choice>& models,
                             const std::vector<Choice>& datasets) {
  for (const Choice& m : models) {
    const ModelInfo* found = LookupModel(std::get<std::string>(m.value));
    if (found == nullptr) continue;  // a model file with its own error
    const ModelInfo& model = *found;
    if (model.fixed_channels == 0 && model.fixed_size == 0) continue;
    for (const Choice& d : datasets) {
      const DatasetInfo& data = *FindDataset(std::get<std::string>(d.value));
      const bool channels_ok = model.fixed_channels == 0 || model.fixed_channels == data.channels;
      const bool size_ok = model.fixed_size == 0 ||
                           (model.fixed_size == data.height && model.fixed_size == data.width);
      if (channels_ok && size_ok) continue;
      const int channels = model.fixed_channels != 0 ? model.fixed_channels : data.channels;
      const int height = model.fixed_size != 0 ? model.fixed_size : data.height;
      const int width = model.fixed_size != 0 ? model.fixed_size : data.width;
      errors_.Add(m.line, m.path,
                  absl::StrCat(std::string(model.name), " needs ", Shape(channels, height, width),
                               " images; dataset ", std::string(data.name), " has ",
                               Shape(data.channels, data.height, data.width)));
    }
  }
}

// Settings the model's objective or architecture has no use for.
void SpecParser::CheckHyperparameters(const ModelInfo& model) {
  struct Use {
    std::string_view field;
    std::vector<Objective> objectives;
  };
  static const Use kUses[] = {
      {"kl_weight", {Objective::kVae}},
      {"recon_loss", {Objective::kVae}},
      {"init_encoder_from", {Objective::kVae}},
      {"critic_iters", {Objective::kGan, Objective::kWgan, Objective::kWganGp}},
      {"clip_value", {Objective::kWgan}},
      {"gp_weight", {Objective::kWganGp}},
  };
  for (const Use& use : kUses) {
    const Origin* origin = OriginOf(use.field);
    if (origin == nullptr) continue;
    const auto& objectives = use.objectives;
    if (std::find(objectives.begin(), objectives.end(), model.objective) != objectives.end()) {
      continue;
    }
    errors_.Add(origin->line, origin->path,
                absl::StrCat("not used by model ", std::string(model.name), ", whose objective is ",
                             std::string(ObjectiveName(model.objective))),
                "", ObjectiveList(use.objectives));
  }
  struct Size {
    std::string_view field;
    bool adjustable;
    int fixed;
  };
  const std::string model_name(model.name);
  const Size sizes[] = {{"latent_size", model.latent_adjustable, model.default_latent_size},
                        {"width", model.width_adjustable, model.default_width},
                        {"depth", model.depth_adjustable, model.default_depth}};
  for (const Size& size : sizes) {
    const Origin* origin = OriginOf(size.field);
    if (origin == nullptr || size.adjustable) continue;
    std::string problem;
    if (model.is_preset) {
      problem = absl::StrCat("not adjustable for model ", model_name,
                             ", a preset with a fixed architecture");
    } else if (size.fixed == 0) {
      problem = absl::StrCat("not used by model ", model_name);
    } else {
      problem = absl::StrCat("not adjustable for model ", model_name, ", fixed at ", size.fixed);
    }
    errors_.Add(origin->line, origin->path, problem);
  }
}

// betas only mean something to adam, momentum only to rmsprop and sgd.
void SpecParser::CheckOptimizerFields(const ModelInfo& model) {
  const OptimizerConfig defaults = DefaultOptimizer(model.objective);
  for (const Choice& n : ChoicesFor("optimizer.name", SpecValue(defaults.name))) {
    const std::string& name = std::get<std::string>(n.value);
    const std::string whose =
        n.path.empty() ? absl::StrCat(", the default for model ", std::string(model.name)) : "";
    const Origin* betas = OriginOf("optimizer.betas");
    if (betas != nullptr && name != "adam") {
      errors_.Add(betas->line, betas->path, absl::StrCat("not used by optimizer ", name, whose), "",
                  "only with adam");
    }
    const Origin* momentum = OriginOf("optimizer.momentum");
    if (momentum != nullptr && name == "adam") {
      errors_.Add(momentum->line, momentum->path, absl::StrCat("not used by optimizer adam", whose),
                  "", "only with rmsprop, sgd");
    }
  }
}

GridSpec SpecParser::Build() const {
  GridSpec spec;
  spec.experiment = experiment_;
  nlohmann::json settings = nlohmann::json::object();
  auto to_json = [](const SpecValue& v) {
    return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
  };
  for (const auto& [field, choice] : fixed_) {
    spec.fixed.emplace(field, choice.value);
    settings[field] = to_json(choice.value);
  }
  if (betas_) {
    spec.betas = betas_;
    settings["optimizer.betas"] = {betas_->first, betas_->second};
  }
  if (sample_epochs_) {
    std::vector<int> epochs;
    for (const Choice& c : sample_epochs_->list) {
      epochs.push_back(static_cast<int>(std::get<int64_t>(c.value)));
    }
    std::sort(epochs.begin(), epochs.end());
    spec.sample_epochs = epochs;
    settings["samples.epochs"] = epochs;
  }
  nlohmann::json grid = nlohmann::json::array();
  for (const AxisState& a : axes_) {
    if (a.sampled) continue;  // BuildSampled
    spec.axes.push_back(a.axis);
    nlohmann::json values = nlohmann::json::array();
    for (const SpecValue& v : a.axis.values) values.push_back(to_json(v));
    grid.push_back({{"axis", a.axis.name}, {"values", values}});
  }
  spec.trial_count = trial_count_;
  spec.search = search_;
  BuildSampled(spec);
  nlohmann::json canonical = {{"experiment", experiment_}, {"settings", settings}, {"grid", grid}};
  // Only a spec with search keys gets them, so every plain grid keeps the
  // spec hash it had before they existed.
  if (!spec.search.IsPlainGrid() || spec.search.keep_trained || !spec.sampled_axes.empty()) {
    canonical["search"] = nlohmann::json::parse(search::SearchSettingsToJson(spec.search));
    nlohmann::json sampled = nlohmann::json::array();
    for (const SampledAxis& a : spec.sampled_axes) {
      nlohmann::json choices = nlohmann::json::array();
      for (const SpecValue& v : a.choices) choices.push_back(to_json(v));
      sampled.push_back({{"axis", a.name},
                         {"distribution", search::DistributionKindName(a.distribution.kind)},
                         {"low", a.distribution.low},
                         {"high", a.distribution.high},
                         {"step", a.distribution.step},
                         {"choices", choices}});
    }
    canonical["sampled"] = sampled;
  }
  for (const auto& [path, file] : model_files_) {
    spec.model_files[path] = file->text;
    // A changed file is a changed spec; specs without files read as before.
    canonical["model_files"][path] = Sha256Hex(file->text);
  }
  spec.canonical_json = canonical.dump();
  return spec;
}

}  // namespace gridrun::coordinator
