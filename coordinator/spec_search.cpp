// The search part of a grid spec (coordinator/grid_spec.h, "Search keys"):
// `search`, `scheduler`, `stop`, `keep_best`, and the rules between them and
// the rest of the spec. Distribution axes and the sampled points are
// spec_sampling.cpp's. The policies themselves are search/'s; this file only
// reads and checks what a spec asks of them.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/number_format.h"
#include "coordinator/spec_fields.h"
#include "coordinator/spec_parser.h"
#include "coordinator/spec_values.h"
#include "search/sampler.h"

namespace gridrun::coordinator {
namespace {

using search::Strategy;


// Which objectives report an epoch metric (models/trainer.h, Evaluate; the
// sample-quality metrics come from every generative model with
// eval_samples > 1).
bool MetricReported(const std::string& metric, Objective objective) {
  static const std::vector<std::pair<std::string, std::vector<Objective>>> kUses = {
      {"test/recon", {Objective::kVae}},
      {"test/kl", {Objective::kVae}},
      {"test/neg_elbo", {Objective::kVae}},
      {"test/loss", {Objective::kVae}},
      {"test/d_real", {Objective::kGan, Objective::kWgan, Objective::kWganGp}},
      {"test/d_fake", {Objective::kGan, Objective::kWgan, Objective::kWganGp}},
      {"test/d_accuracy", {Objective::kGan}},
      {"test/jsd", {Objective::kGan}},
      {"test/wasserstein", {Objective::kWgan, Objective::kWganGp}},
      {"test/accuracy", {Objective::kClassifier}},
      {"test/ce", {Objective::kClassifier}},
  };
  for (const auto& [name, objectives] : kUses) {
    if (name == metric) {
      return std::find(objectives.begin(), objectives.end(), objective) != objectives.end();
    }
  }
  return objective != Objective::kClassifier;  // fid, mode_coverage, class_kl
}

}  // namespace

TrialField NumberField(FieldKind kind, FieldRange range) {
  return TrialField{"", "", "", kind, SpecUse::kSingle, std::move(range), nullptr, nullptr, nullptr};
}

std::map<std::string, KeyedNode> ReadSection(const YAML::Node& node, const std::string& prefix,
                                             int line, const std::vector<std::string>& keys,
                                             ErrorList& errors) {
  std::map<std::string, KeyedNode> out;
  if (!node.IsMap()) {
    errors.Add(line, prefix, "not a map", DescribeNode(node),
               absl::StrCat("a map with keys ", absl::StrJoin(keys, ", ")));
    return out;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const std::string name = KeyName(key);
    const std::string path = absl::StrCat(prefix, ".", name);
    const int key_line = LineOf(key, line);
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      errors.Add(key_line, path, "unknown key" + DidYouMean(Suggest(name, keys)), "",
                 absl::StrJoin(keys, ", "));
      continue;
    }
    if (out.contains(name)) {
      errors.Add(key_line, path, absl::StrCat("duplicate key (first at line ", out[name].line, ")"));
      continue;
    }
    out[name] = KeyedNode{it->second, key_line};
  }
  return out;
}

std::optional<std::string> SpecParser::ParseMetric(const YAML::Node& node, const std::string& path,
                                                   int line) {
  const std::vector<std::string>& names = search::EpochMetricNames();
  const std::string allowed = absl::StrCat("a per-epoch metric: ", absl::StrJoin(names, ", "));
  if (!node.IsScalar()) {
    errors_.Add(line, path, node.IsNull() ? "no value" : "not a single value",
                node.IsNull() ? "" : DescribeNode(node), allowed);
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  if (std::find(names.begin(), names.end(), text) == names.end()) {
    errors_.Add(line, path, "unknown metric" + DidYouMean(Suggest(text, names)), DescribeNode(node),
                allowed);
    return std::nullopt;
  }
  return text;
}

std::optional<search::Mode> SpecParser::ParseModeKey(const YAML::Node& node,
                                                     const std::string& path, int line) {
  auto mode = node.IsScalar() ? search::ParseMode(node.Scalar()) : std::nullopt;
  if (!mode) errors_.Add(line, path, "unknown mode", DescribeNode(node), "min, max");
  return mode;
}

void SpecParser::ParseSearch(const YAML::Node& node, int line) {
  search_line_ = line;
  auto keys = ReadSection(node, "search", line, {"strategy", "trials", "seed"}, errors_);
  if (auto it = keys.find("strategy"); it != keys.end()) {
    const YAML::Node& v = it->second.node;
    const std::vector<std::string> names = {"grid", "random", "sobol"};
    if (!v.IsScalar() || !search::ParseStrategy(v.Scalar(), &search_.strategy)) {
      strategy_ok_ = false;
      errors_.Add(it->second.line, "search.strategy",
                  "unknown strategy" +
                      DidYouMean(v.IsScalar() ? Suggest(v.Scalar(), names) : std::string()),
                  DescribeNode(v), absl::StrJoin(names, ", "));
    }
  }
  if (auto it = keys.find("trials"); it != keys.end()) {
    trials_line_ = it->second.line;
    const TrialField field = NumberField(FieldKind::kInt, IntRange(1, limits_.max_trials));
    if (auto v = ParseScalar(field, it->second.node, "search.trials", it->second.line, errors_)) {
      search_.trials = std::get<int64_t>(*v);
    }
  }
  if (auto it = keys.find("seed"); it != keys.end()) {
    const TrialField field = NumberField(FieldKind::kInt, IntRange(0));
    if (auto v = ParseScalar(field, it->second.node, "search.seed", it->second.line, errors_)) {
      search_.seed = static_cast<uint64_t>(std::get<int64_t>(*v));
      seed_given_ = true;
    }
  }
}

void SpecParser::ParseScheduler(const YAML::Node& node, int line) {
  scheduler_line_ = line;
  auto keys = ReadSection(node, "scheduler", line,
                          {"type", "metric", "mode", "min_epochs", "reduction_factor", "min_trials"},
                          errors_);
  if (!node.IsMap()) return;
  search::SchedulerSettings s;
  bool ok = true;
  const std::vector<std::string> types = {"asha", "median"};
  if (auto it = keys.find("type"); it == keys.end()) {
    errors_.Add(line, "scheduler.type", "missing", "", absl::StrJoin(types, ", "));
    ok = false;
  } else {
    const YAML::Node& v = it->second.node;
    const std::string text = v.IsScalar() ? v.Scalar() : "";
    if (text == "asha") {
      s.type = search::SchedulerType::kAsha;
    } else if (text == "median") {
      s.type = search::SchedulerType::kMedian;
    } else {
      errors_.Add(it->second.line, "scheduler.type",
                  "unknown scheduler" + DidYouMean(Suggest(text, types)), DescribeNode(v),
                  absl::StrJoin(types, ", "));
      ok = false;
    }
  }
  if (auto it = keys.find("metric"); it == keys.end()) {
    errors_.Add(line, "scheduler.metric", "missing", "", "a per-epoch metric such as fid");
    ok = false;
  } else if (auto m = ParseMetric(it->second.node, "scheduler.metric", it->second.line)) {
    s.metric = *m;
    scheduler_metric_path_ = "scheduler.metric";
    scheduler_metric_line_ = it->second.line;
  } else {
    ok = false;
  }
  if (auto it = keys.find("mode"); it != keys.end()) {
    if (auto m = ParseModeKey(it->second.node, "scheduler.mode", it->second.line)) {
      s.mode = *m;
    } else {
      ok = false;
    }
  }
  auto read_int = [&](const char* key, int64_t min, int64_t max, int64_t* out) {
    auto it = keys.find(key);
    if (it == keys.end()) return;
    const std::string path = absl::StrCat("scheduler.", key);
    if (auto v = ParseScalar(NumberField(FieldKind::kInt, IntRange(min, max)), it->second.node,
                             path, it->second.line, errors_)) {
      *out = std::get<int64_t>(*v);
    } else {
      ok = false;
    }
  };
  if (auto it = keys.find("min_epochs"); it != keys.end()) min_epochs_line_ = it->second.line;
  read_int("min_epochs", 1, 100000, &s.min_epochs);
  int64_t rf = s.reduction_factor, min_trials = s.min_trials;
  read_int("reduction_factor", 2, 1000, &rf);
  read_int("min_trials", 1, 100000, &min_trials);
  s.reduction_factor = static_cast<int>(rf);
  s.min_trials = static_cast<int>(min_trials);
  if (ok && s.type == search::SchedulerType::kMedian && keys.contains("reduction_factor")) {
    errors_.Add(keys["reduction_factor"].line, "scheduler.reduction_factor",
                "not used by the median rule", "", "only with type asha");
    ok = false;
  }
  if (ok && s.type == search::SchedulerType::kAsha && keys.contains("min_trials")) {
    errors_.Add(keys["min_trials"].line, "scheduler.min_trials", "not used by asha", "",
                "only with type median");
    ok = false;
  }
  if (ok) search_.scheduler = s;
}

void SpecParser::ParseStopRules(const YAML::Node& node, int line) {
  const std::string allowed =
      "a list of rules, each {metric, and one of non_finite: true, above: X, below: X, "
      "diverged: {factor: F, epochs: N}}";
  if (!node.IsSequence()) {
    errors_.Add(line, "stop", "not a list", DescribeNode(node), allowed);
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string prefix = absl::StrCat("stop[", i, "]");
    const YAML::Node item = node[i];
    const int item_line = LineOf(item, line);
    auto keys = ReadSection(item, prefix, item_line,
                            {"metric", "mode", "non_finite", "above", "below", "diverged"}, errors_);
    if (!item.IsMap()) continue;
    search::StopRule rule;
    bool ok = true;
    if (auto it = keys.find("metric"); it == keys.end()) {
      errors_.Add(item_line, prefix + ".metric", "missing", "", "a per-epoch metric such as fid");
      ok = false;
    } else if (auto m = ParseMetric(it->second.node, prefix + ".metric", it->second.line)) {
      rule.metric = *m;
    } else {
      ok = false;
    }
    std::vector<std::string> kinds;
    for (const char* k : {"non_finite", "above", "below", "diverged"}) {
      if (keys.contains(k)) kinds.push_back(k);
    }
    if (kinds.size() != 1) {
      errors_.Add(item_line, prefix,
                  kinds.empty() ? "no condition" : "more than one condition",
                  kinds.empty() ? "" : absl::StrJoin(kinds, ", "),
                  "exactly one of non_finite, above, below, diverged");
      continue;
    }
    const std::string kind = kinds[0];
    const KeyedNode& value = keys[kind];
    const std::string path = absl::StrCat(prefix, ".", kind);
    if (keys.contains("mode") && kind != "diverged") {
      errors_.Add(keys["mode"].line, prefix + ".mode", "not used by " + kind, "",
                  "only with diverged");
      ok = false;
    }
    if (kind == "non_finite") {
      rule.kind = search::StopRule::Kind::kNonFinite;
      if (!value.node.IsScalar() || value.node.Scalar() != "true") {
        errors_.Add(value.line, path, "not true", DescribeNode(value.node), "true");
        ok = false;
      }
    } else if (kind == "above" || kind == "below") {
      rule.kind = kind == "above" ? search::StopRule::Kind::kAbove : search::StopRule::Kind::kBelow;
      const TrialField field = NumberField(FieldKind::kReal, RealRange(-kNoRealMax, false));
      if (value.node.IsScalar()) {
        if (auto v = ParseScalar(field, value.node, path, value.line, errors_)) {
          rule.bound = std::get<double>(*v);
        } else {
          ok = false;
        }
      } else {
        errors_.Add(value.line, path, "not a single value", DescribeNode(value.node), "a number");
        ok = false;
      }
    } else {
      rule.kind = search::StopRule::Kind::kDiverged;
      if (auto it = keys.find("mode"); it != keys.end()) {
        if (auto m = ParseModeKey(it->second.node, prefix + ".mode", it->second.line)) {
          rule.mode = *m;
        } else {
          ok = false;
        }
      }
      auto sub = ReadSection(value.node, path, value.line, {"factor", "epochs"}, errors_);
      if (!value.node.IsMap()) continue;
      if (auto it = sub.find("factor"); it == sub.end()) {
        errors_.Add(value.line, path + ".factor", "missing", "", "> 1");
        ok = false;
      } else if (auto v = ParseScalar(NumberField(FieldKind::kReal, RealRange(1, true)),
                                      it->second.node, path + ".factor", it->second.line,
                                      errors_)) {
        rule.factor = std::get<double>(*v);
      } else {
        ok = false;
      }
      if (auto it = sub.find("epochs"); it != sub.end()) {
        if (auto v = ParseScalar(NumberField(FieldKind::kInt, IntRange(1, 100000)), it->second.node,
                                 path + ".epochs", it->second.line, errors_)) {
          rule.epochs = std::get<int64_t>(*v);
        } else {
          ok = false;
        }
      }
    }
    if (ok) search_.stop_rules.push_back(rule);
  }
}

void SpecParser::ParseKeepBest(const YAML::Node& node, int line) {
  auto keys = ReadSection(node, "keep_best", line, {"metric", "mode"}, errors_);
  if (!node.IsMap()) return;
  search::KeepBest keep;
  bool ok = true;
  if (auto it = keys.find("metric"); it == keys.end()) {
    errors_.Add(line, "keep_best.metric", "missing", "", "a per-epoch metric such as fid");
    ok = false;
  } else if (auto m = ParseMetric(it->second.node, "keep_best.metric", it->second.line)) {
    keep.metric = *m;
  } else {
    ok = false;
  }
  if (auto it = keys.find("mode"); it != keys.end()) {
    if (auto m = ParseModeKey(it->second.node, "keep_best.mode", it->second.line)) {
      keep.mode = *m;
    } else {
      ok = false;
    }
  }
  if (ok) search_.keep_best = keep;
}

// keep_trained: N (N >= 0) or `all` (the same as leaving it out).
void SpecParser::ParseKeepTrained(const YAML::Node& node, int line) {
  if (node.IsScalar() && node.Scalar() == "all") return;
  if (auto v = ParseScalar(NumberField(FieldKind::kInt, IntRange(0, 1'000'000'000)), node,
                           "keep_trained", line, errors_)) {
    search_.keep_trained = std::get<int64_t>(*v);
  }
}

// Rules between the search keys and the rest of the spec.
void SpecParser::CheckSearch() {
  if (!strategy_ok_) return;  // the strategy's own error says enough
  const bool sampling = search_.strategy != Strategy::kGrid;
  int sampled = 0;
  for (const AxisState& a : axes_) {
    if (!a.sampled) continue;
    ++sampled;
    if (!sampling) {
      errors_.Add(a.line, a.path, "a distribution needs search.strategy random or sobol", "",
                  "a list of values for a grid");
    }
  }
  if (sampling) {
    const std::string strategy = search::StrategyName(search_.strategy);
    if (trials_line_ == 0) {
      errors_.Add(search_line_, "search.trials", "missing", "",
                  absl::StrCat("the number of points a ", strategy, " search samples"));
    }
    if (distributions_written_ == 0) {
      errors_.Add(search_line_, "search.strategy",
                  absl::StrCat(strategy, " needs a distribution axis under grid"), strategy,
                  "an axis such as lr: {log_uniform: [1.0e-5, 1.0e-3]}");
    }
    if (search_.strategy == Strategy::kSobol && sampled > search::kMaxSobolDimensions) {
      errors_.Add(search_line_, "search.strategy", "too many distribution axes for sobol",
                  absl::StrCat(sampled), absl::StrCat("at most ", search::kMaxSobolDimensions));
    }
  } else if (trials_line_ != 0) {
    errors_.Add(trials_line_, "search.trials", "only with strategy random or sobol",
                absl::StrCat(search_.trials), "no trials with strategy grid (every combination runs)");
  }
  // The metrics named must be reported by every model of the grid.
  std::vector<std::pair<std::string, std::string>> named;  // metric, path
  if (search_.scheduler) named.emplace_back(search_.scheduler->metric, "scheduler.metric");
  for (size_t i = 0; i < search_.stop_rules.size(); ++i) {
    named.emplace_back(search_.stop_rules[i].metric, absl::StrCat("stop[", i, "].metric"));
  }
  if (search_.keep_best) named.emplace_back(search_.keep_best->metric, "keep_best.metric");
  const TrialConfig defaults;
  const std::vector<Choice> eval = ChoicesFor("eval_samples", SpecValue(int64_t{defaults.eval_samples}));
  const bool quality_off = std::all_of(eval.begin(), eval.end(), [](const Choice& c) {
    return std::get<int64_t>(c.value) <= 1;
  });
  for (const Choice& m : ModelChoices()) {  // built-in models and model files that parsed
    const ModelInfo& model = *LookupModel(std::get<std::string>(m.value));
    for (const auto& [metric, path] : named) {
      if (!MetricReported(metric, model.objective)) {
        errors_.Add(scheduler_metric_line_ != 0 && path == "scheduler.metric" ? scheduler_metric_line_
                                                                             : scheduler_line_,
                    path,
                    absl::StrCat("model ", std::string(model.name), " (objective ",
                                 std::string(ObjectiveName(model.objective)), ") does not report ",
                                 metric));
      }
    }
  }
  for (const auto& [metric, path] : named) {
    if ((metric == "fid" || metric == "mode_coverage" || metric == "class_kl") && quality_off) {
      errors_.Add(scheduler_line_, path,
                  absl::StrCat(metric, " is only measured with eval_samples > 1"), metric);
    }
  }
  if (search_.scheduler) {
    const std::vector<Choice> epochs = ChoicesFor("epochs", SpecValue(int64_t{defaults.epochs}));
    if (epochs.size() > 1) {
      errors_.Add(scheduler_line_, "scheduler", "epochs is a grid axis", "",
                  "one epochs value: the scheduler's rungs and medians compare equal lengths");
    } else if (epochs.size() == 1 && search_.scheduler->min_epochs >= std::get<int64_t>(epochs[0].value)) {
      errors_.Add(min_epochs_line_ != 0 ? min_epochs_line_ : scheduler_line_,
                  "scheduler.min_epochs", "not below epochs",
                  absl::StrCat(search_.scheduler->min_epochs),
                  absl::StrCat("1..", std::get<int64_t>(epochs[0].value) - 1));
    }
  }
}

}  // namespace gridrun::coordinator
