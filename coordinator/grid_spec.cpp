// Grid specs: ParseGridSpec and the reading of a spec's YAML tree into a
// SpecParser (coordinator/grid_spec.h). The pieces it uses live beside it:
// spec_limits (bounded work), spec_errors (messages), spec_fields (which keys
// exist), spec_values (one value), spec_rules (rules over several settings,
// and the result), spec_overrides (--set).
#include "coordinator/grid_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/number_format.h"
#include "common/status_macros.h"
#include "coordinator/spec_fields.h"
#include "coordinator/spec_limits.h"
#include "coordinator/spec_parser.h"
#include "coordinator/spec_values.h"

namespace gridrun::coordinator {

std::string SpecValueText(const SpecValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return absl::StrCat(*i);
  if (const auto* d = std::get_if<double>(&value)) return FormatShortestDouble(*d);
  return std::get<std::string>(value);
}

absl::StatusOr<GridSpec> ParseGridSpec(std::string_view yaml_text, const GridLimits& limits,
                                       const ModelFileTexts& model_files) {
  ASSIGN_OR_RETURN(const YAML::Node root, LoadSpecYaml(yaml_text));
  return SpecParser(limits, model_files).Parse(root);
}

absl::StatusOr<GridSpec> SpecParser::Parse(const YAML::Node& root) {
  const int root_line = LineOf(root, 1);
  if (!root.IsDefined() || root.IsNull()) {
    errors_.Add(1, "spec", "empty document", "", "a map of settings");
    return Fail();
  }
  if (!root.IsMap()) {
    errors_.Add(root_line, "spec", "not a map", DescribeNode(root), "a map of settings");
    return Fail();
  }
  std::map<std::string, int> seen;
  for (auto it = root.begin(); it != root.end(); ++it) {
    // Copies, not references: yaml-cpp's iterator returns its key/value
    // pair by value through a proxy, so `const YAML::Node& key = it->first`
    // dangles at the end of the statement (ASan: stack-use-after-scope,
    // found by fuzz/ grid_spec; fuzz/regressions/grid_spec/).
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const std::string name = KeyName(key);
    const int line = LineOf(key, root_line);
    if (!CheckDuplicate(seen, name, name, line)) continue;
    if (name == "experiment") {
      ParseExperiment(value, line);
    } else if (name == "optimizer") {
      ParseSubMap(value, "optimizer", line, OptimizerKeys());
    } else if (name == "samples") {
      ParseSubMap(value, "samples", line, SamplesKeys());
    } else if (name == "grid") {
      ParseGrid(value, line);
    } else if (name == "search") {
      ParseSearch(value, line);
    } else if (name == "scheduler") {
      ParseScheduler(value, line);
    } else if (name == "stop") {
      ParseStopRules(value, line);
    } else if (name == "keep_best") {
      ParseKeepBest(value, line);
    } else if (name == "keep_trained") {
      ParseKeepTrained(value, line);
    } else if (name == "init_from") {
      ParseInitFrom(value, line);
    } else if (const TrialField* field = TopLevelField(name)) {
      ParseFixed(*field, value, name, line);
    } else {
      errors_.Add(line, name, "unknown key" + DidYouMean(Suggest(name, TopLevelKeys())), "",
                  absl::StrJoin(TopLevelKeys(), ", "));
    }
  }
  CheckRequired(root_line);
  CheckTrialCount();
  if (Cancelled()) return absl::CancelledError("spec: validation stopped, the caller cancelled");
  CheckModelFiles();
  CheckCrossFields();
  CheckModelsBuild();
  if (!errors_.empty()) return Fail();
  return Build();
}

absl::Status SpecParser::Fail() { return absl::InvalidArgumentError(errors_.Message()); }

bool SpecParser::Cancelled() const { return limits_.cancelled && limits_.cancelled(); }

// False (and an error) if `name` was already a key of this map.
bool SpecParser::CheckDuplicate(std::map<std::string, int>& seen, const std::string& name,
                                const std::string& path, int line) {
  auto [it, inserted] = seen.emplace(name, line);
  if (!inserted) {
    errors_.Add(line, path, absl::StrCat("duplicate key (first at line ", it->second, ")"));
  }
  return inserted;
}

// Records that `field` is set at `path`; false (and an error) if it already
// was, e.g. both `lr` and `optimizer.lr`, or a key at the top level and in
// grid.
bool SpecParser::Claim(std::string_view field, const std::string& path, int line, bool in_grid) {
  auto [it, inserted] = claims_.emplace(std::string(field), Origin{path, line, in_grid});
  if (!inserted) {
    const Origin& first = it->second;
    errors_.Add(line, path, absl::StrCat("already set by ", first.path, " at line ", first.line),
                "",
                first.in_grid != in_grid ? "a single value or a grid axis, not both"
                                         : "one of them, not both");
  }
  return inserted;
}

void SpecParser::ParseExperiment(const YAML::Node& value, int line) {
  claims_.emplace("experiment", Origin{"experiment", line, false});
  if (value.IsNull()) {
    errors_.Add(line, "experiment", "no value", "", kNameRule);
  } else if (!value.IsScalar()) {
    errors_.Add(line, "experiment", "not a single value", DescribeNode(value), kNameRule);
  } else if (!IsExperimentName(value.Scalar())) {
    errors_.Add(line, "experiment", "invalid name", DescribeNode(value), kNameRule);
  } else {
    experiment_ = value.Scalar();
  }
}

// A single-valued setting at the top level or in optimizer/samples.
void SpecParser::ParseFixed(const TrialField& field, const YAML::Node& value,
                            const std::string& path, int line) {
  if (!Claim(field.key, path, line, /*in_grid=*/false)) return;
  if (value.IsSequence() || value.IsMap()) {
    errors_.Add(line, path,
                value.IsSequence() && field.use == SpecUse::kAxis
                    ? "not a single value; to sweep it, list its values under grid"
                    : "not a single value",
                DescribeNode(value), AllowedText(field));
    return;
  }
  if (auto v = ParseScalar(field, value, path, line, errors_)) {
    fixed_.emplace(std::string(field.key), Choice{*v, path, line});
  }
}

// `optimizer:` or `samples:`.
void SpecParser::ParseSubMap(const YAML::Node& node, const std::string& prefix, int line,
                             const std::vector<std::string>& keys) {
  const std::string allowed = absl::StrCat("a map with keys ", absl::StrJoin(keys, ", "));
  if (!node.IsMap()) {
    errors_.Add(line, prefix, "not a map", DescribeNode(node), allowed);
    return;
  }
  std::map<std::string, int> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = KeyName(it->first);
    const std::string path = absl::StrCat(prefix, ".", name);
    const int key_line = LineOf(it->first, line);
    if (!CheckDuplicate(seen, name, path, key_line)) continue;
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      errors_.Add(key_line, path, "unknown key" + DidYouMean(Suggest(name, keys)), "",
                  absl::StrJoin(keys, ", "));
    } else if (path == "optimizer.betas") {
      ParseBetas(it->second, key_line);
    } else if (path == "samples.epochs") {
      ParseSampleEpochs(it->second, key_line);
    } else {
      ParseFixed(*FindSpecField(path), it->second, path, key_line);
    }
  }
}

void SpecParser::ParseBetas(const YAML::Node& node, int line) {
  static const TrialField& kBeta = *FindTrialField("optimizer.beta1");
  const std::string each = AllowedText(kBeta);
  claims_.emplace("optimizer.betas", Origin{"optimizer.betas", line, false});
  if (!node.IsSequence() || node.size() != 2) {
    errors_.Add(line, "optimizer.betas", "not a list of two numbers", DescribeNode(node),
                absl::StrCat("[beta1, beta2], each ", each));
    return;
  }
  std::optional<SpecValue> b[2];
  for (size_t i = 0; i < 2; ++i) {
    const std::string path = absl::StrCat("optimizer.betas[", i, "]");
    const YAML::Node element = node[i];
    const int element_line = LineOf(element, line);
    if (!element.IsScalar() && !element.IsNull()) {
      errors_.Add(element_line, path, "not a single value", DescribeNode(element), each);
      continue;
    }
    b[i] = ParseScalar(kBeta, element, path, element_line, errors_);
  }
  if (b[0] && b[1]) betas_ = {std::get<double>(*b[0]), std::get<double>(*b[1])};
}

void SpecParser::ParseSampleEpochs(const YAML::Node& node, int line) {
  static const TrialField& kEpoch = *FindTrialField("samples.epochs");
  const std::string each = "a list of epochs, each 1..epochs";
  claims_.emplace("samples.epochs", Origin{"samples.epochs", line, false});
  if (!node.IsSequence()) {
    errors_.Add(line, "samples.epochs", "not a list", DescribeNode(node), each);
    return;
  }
  DistinctChoices epochs;
  bool all_valid = true;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = absl::StrCat("samples.epochs[", i, "]");
    const YAML::Node element = node[i];
    const int element_line = LineOf(element, line);
    if (!element.IsScalar() && !element.IsNull()) {
      errors_.Add(element_line, path, "not a single value", DescribeNode(element),
                  AllowedText(kEpoch));
      all_valid = false;
      continue;
    }
    auto v = ParseScalar(kEpoch, element, path, element_line, errors_);
    if (!v) {
      all_valid = false;
      continue;
    }
    if (!AddDistinct(epochs, Choice{*v, path, element_line})) {
      all_valid = false;
    }
  }
  if (all_valid) sample_epochs_ = std::move(epochs);
}

// Appends `choice` unless an equal value is already there (then an error).
bool SpecParser::AddDistinct(DistinctChoices& choices, Choice choice) {
  auto [it, inserted] = choices.index.emplace(choice.value, choices.list.size());
  if (!inserted) {
    errors_.Add(choice.line, choice.path,
                absl::StrCat("duplicate value, same as ", choices.list[it->second].path),
                SpecValueText(choice.value), "distinct values");
    return false;
  }
  choices.list.push_back(std::move(choice));
  return true;
}

void SpecParser::ParseGrid(const YAML::Node& node, int line) {
  grid_line_ = line;
  if (node.IsNull()) return;  // `grid:` with nothing under it: one trial
  if (!node.IsMap()) {
    errors_.Add(line, "grid", "not a map", DescribeNode(node), "a map of axis: [values]");
    return;
  }
  std::map<std::string, int> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = KeyName(it->first);
    const std::string path = absl::StrCat("grid.", name);
    const int key_line = LineOf(it->first, line);
    if (!CheckDuplicate(seen, name, path, key_line)) continue;
    const std::vector<std::string>& names = AxisNames();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      const std::vector<std::string>& top = TopLevelKeys();
      const bool known = std::find(top.begin(), top.end(), name) != top.end() ||
                         FindSpecField(name) != nullptr || name == "optimizer.betas" ||
                         name == "samples.epochs";
      errors_.Add(key_line, path,
                  known ? std::string("cannot be a grid axis")
                        : "unknown axis" + DidYouMean(Suggest(name, names)),
                  "", absl::StrJoin(names, ", "));
      continue;
    }
    const TrialField& field = *FindSpecField(FieldKeyFor(name));
    if (!Claim(field.key, path, key_line, /*in_grid=*/true)) continue;
    ParseAxis(field, name, it->second, path, key_line);
  }
}

// The values of a list axis (a grid list, or a `choice` distribution),
// each checked as a single value of `field` and kept once.
void SpecParser::ReadAxisValues(const TrialField& field, const YAML::Node& list,
                                const std::string& path, int line, AxisState& state) {
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string value_path = absl::StrCat(path, "[", i, "]");
    const YAML::Node element = list[i];
    const int element_line = LineOf(element, line);
    if (!element.IsScalar() && !element.IsNull()) {
      errors_.Add(element_line, value_path, "not a single value", DescribeNode(element),
                  AllowedText(field));
      continue;
    }
    auto v = ParseScalar(field, element, value_path, element_line, errors_);
    if (!v) continue;
    if (AddDistinct(state.valid, Choice{*v, value_path, element_line})) {
      state.axis.values.push_back(*v);
    }
  }
}

void SpecParser::ParseAxis(const TrialField& field, const std::string& name, const YAML::Node& node,
                           const std::string& path, int line) {
  const std::string allowed = "a non-empty list of values";
  if (node.IsMap()) {  // a distribution: {log_uniform: [a, b]}, ... (spec_search.cpp)
    ParseDistributionAxis(field, name, node, path, line);
    return;
  }
  if (!node.IsSequence()) {
    errors_.Add(line, path, "not a list", DescribeNode(node),
                absl::StrCat(allowed, ", each ", AllowedText(field)));
    return;
  }
  if (node.size() == 0) {
    errors_.Add(line, path, "empty list", "", allowed);
    return;
  }
  AxisState state;
  state.axis.name = name;
  state.axis.field = std::string(field.key);
  state.path = path;
  state.line = line;
  state.written = node.size();
  ReadAxisValues(field, node, path, line, state);
  axes_.push_back(std::move(state));
}
}  // namespace gridrun::coordinator
