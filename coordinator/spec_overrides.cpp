// --set overrides: ApplySpecOverrides (coordinator/grid_spec.h) checks each
// KEY=VALUE on its own with the parser's wording, applies it to the spec's
// YAML tree and re-emits the spec. Work is bounded by the input: at most
// kMaxOverrides assignments, and the spec and every value are size-checked
// (spec_limits.h) before any walk or re-emission.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "coordinator/grid_spec.h"
#include "coordinator/spec_errors.h"
#include "coordinator/spec_fields.h"
#include "coordinator/spec_limits.h"
#include "coordinator/spec_values.h"

namespace gridrun::coordinator {
namespace {

// More --set assignments than anyone types; each costs a pass over the spec.
constexpr size_t kMaxOverrides = 256;

// What a `--set KEY=...` addresses.
struct OverrideTarget {
  std::string field;    // the setting: "epochs", "optimizer.lr", "samples.epochs", "experiment"
  std::string section;  // where a single value goes: "" (top level), "optimizer", "samples"
  std::string name;     // its key there: "epochs", "lr"
};

// The search keys (coordinator/spec_search.cpp): set as a whole at the top
// level (`--set scheduler={type: asha, metric: fid}`, `--set stop=[...]`),
// checked by ParseGridSpec on the result.
bool IsSearchKey(const std::string& key) {
  return key == "search" || key == "scheduler" || key == "stop" || key == "keep_best" ||
         key == "keep_trained";
}

// The keys --set accepts, for lookups and "allowed:" lists.
std::vector<std::string> OverrideKeys() {
  std::vector<std::string> keys;
  for (const std::string& k : TopLevelKeys()) {
    if (k != "grid" && k != "optimizer" && k != "samples") keys.push_back(k);
  }
  for (const std::string& k : OptimizerKeys()) keys.push_back("optimizer." + k);
  for (const std::string& k : SamplesKeys()) keys.push_back("samples." + k);
  return keys;
}

// Checks an override's value on its own, with the parser's checks and
// wording; problems go to `errors` under `path` ("--set epochs").
void CheckOverrideValue(const OverrideTarget& target, const YAML::Node& value,
                        const std::string& path, ErrorList& errors) {
  if (value.IsNull()) return;  // unsets the setting
  if (IsSearchKey(target.field)) return;  // whole maps and lists, for ParseGridSpec
  if (target.field == "experiment") {
    if (!value.IsScalar() || !IsExperimentName(value.Scalar())) {
      errors.Add(0, path, value.IsNull() ? "no value" : "invalid name", DescribeNode(value),
                 kNameRule);
    }
    return;
  }
  const bool betas = target.field == "optimizer.betas";
  const bool sample_epochs = target.field == "samples.epochs";
  const TrialField& field = betas           ? *FindTrialField("optimizer.beta1")
                            : sample_epochs ? *FindTrialField("samples.epochs")
                                            : *FindSpecField(target.field);
  const bool list_ok = betas || sample_epochs || field.use == SpecUse::kAxis;
  if (betas && (!value.IsSequence() || value.size() != 2)) {
    errors.Add(0, path, "not a list of two numbers", DescribeNode(value),
               absl::StrCat("[beta1, beta2], each ", AllowedText(field)));
    return;
  }
  if (sample_epochs && !value.IsSequence()) {
    errors.Add(0, path, "not a list", DescribeNode(value), "a list of epochs, each 1..epochs");
    return;
  }
  if (value.IsMap() || (value.IsSequence() && !list_ok)) {
    errors.Add(0, path, "not a single value", DescribeNode(value), AllowedText(field));
    return;
  }
  if (!value.IsSequence()) {
    ParseScalar(field, value, path, 0, errors);
    return;
  }
  if (value.size() == 0 && !sample_epochs) {
    errors.Add(0, path, "empty list", "", "a non-empty list of values");
    return;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string element_path = absl::StrCat(path, "[", i, "]");
    const YAML::Node element = value[i];
    if (!element.IsScalar() && !element.IsNull()) {
      errors.Add(0, element_path, "not a single value", DescribeNode(element), AllowedText(field));
    } else {
      ParseScalar(field, element, element_path, 0, errors);
    }
  }
}

// The map `root[key]` (created when absent or null); nullopt when the spec
// has something else there.
std::optional<YAML::Node> SectionOf(YAML::Node& root, const std::string& key) {
  const YAML::Node& view = root;  // const lookups add no key
  const YAML::Node existing = view[key];
  if (!existing.IsDefined() || existing.IsNull()) {
    root[key] = YAML::Node(YAML::NodeType::Map);
  } else if (!existing.IsMap()) {
    return std::nullopt;
  }
  return root[key];
}

// Removes `key` from `map` if `map` is a map that has it.
void RemoveKey(const YAML::Node& root, const std::string& section, const std::string& key) {
  // Const lookups: a non-const operator[] would add the key it looks for.
  const YAML::Node map = section.empty() ? root : root[section];
  if (!map.IsDefined() || !map.IsMap() || !map[key].IsDefined()) return;
  YAML::Node(map).remove(key);
}

// Applies one checked override to `root`: removes every other place that
// sets the setting, then writes the value at its own place. False if the
// spec's layout makes that impossible (optimizer, samples or grid set to
// something that is not a map).
bool ApplyOverride(YAML::Node& root, const OverrideTarget& target, const std::string& key,
                   const YAML::Node& value) {
  if (IsSearchKey(key)) {
    if (value.IsNull()) {
      RemoveKey(root, "", key);
    } else {
      root[key] = value;
    }
    return true;
  }
  const bool to_grid =
      value.IsSequence() && target.field != "optimizer.betas" && target.field != "samples.epochs";
  const std::pair<std::string, std::string> place =
      to_grid ? std::pair<std::string, std::string>{"grid", key}
              : std::pair<std::string, std::string>{target.section, target.name};
  // Where the setting may be: top level (lr for optimizer.lr), its section,
  // grid axes under either name.
  std::vector<std::pair<std::string, std::string>> places;
  const size_t dot = target.field.find('.');
  const std::string top = target.field == "optimizer.lr" ? "lr" : target.field;
  if (dot == std::string::npos || target.field == "optimizer.lr") places.push_back({"", top});
  if (dot != std::string::npos) {
    places.push_back({target.field.substr(0, dot), target.field.substr(dot + 1)});
  }
  places.push_back({"grid", target.field});
  places.push_back({"grid", top});
  for (const auto& [section, name] : places) {
    if (std::pair(section, name) != place || value.IsNull()) RemoveKey(root, section, name);
  }
  if (value.IsNull()) return true;  // unset: back to the default
  if (place.first.empty()) {
    root[place.second] = value;
    return true;
  }
  std::optional<YAML::Node> section = SectionOf(root, place.first);
  if (!section) return false;
  (*section)[place.second] = value;
  return true;
}

// The emitter writes a quoted scalar ("5") plain (5), which would change
// what it parses as; an explicit !!str tag keeps it a string (IsQuoted).
void KeepQuotedScalarsStrings(YAML::Node node) {
  if (node.IsScalar() && node.Tag() == "!") node.SetTag("tag:yaml.org,2002:str");
  if (node.IsSequence()) {
    for (YAML::Node element : node) KeepQuotedScalarsStrings(element);
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) KeepQuotedScalarsStrings(it->second);
  }
}

}  // namespace

absl::StatusOr<std::string> ApplySpecOverrides(std::string_view yaml_text,
                                               const std::vector<std::string>& assignments) {
  if (assignments.empty()) return std::string(yaml_text);
  if (assignments.size() > kMaxOverrides) {
    return absl::InvalidArgumentError(absl::StrCat("--set: too many overrides (got ",
                                                   assignments.size(), "; allowed: at most ",
                                                   kMaxOverrides, ")"));
  }
  ErrorList errors(/*with_lines=*/false);
  const std::vector<std::string> keys = OverrideKeys();
  struct Parsed {
    OverrideTarget target;
    std::string key;
    YAML::Node value;
  };
  std::vector<Parsed> parsed;
  for (const std::string& assignment : assignments) {
    const size_t eq = assignment.find('=');
    const std::string key(
        absl::StripAsciiWhitespace(assignment.substr(0, std::min(eq, assignment.size()))));
    if (eq == std::string::npos || key.empty()) {
      errors.Add(0, absl::StrCat("--set ", TruncateForMessage(assignment)),
                 "not KEY=VALUE, e.g. epochs=1");
      continue;
    }
    const std::string path = absl::StrCat("--set ", TruncateForMessage(key));
    if (key == "grid" || key == "optimizer" || key == "samples") {
      if (key == "grid") {
        errors.Add(0, path,
                   "not settable as a whole; to sweep a setting give it a list, e.g. "
                   "--set kl_weight=[1, 0.5]");
      } else {
        std::vector<std::string> sub;
        for (const std::string& k : key == "optimizer" ? OptimizerKeys() : SamplesKeys()) {
          sub.push_back(absl::StrCat(key, ".", k));
        }
        errors.Add(0, path, "a map; set one of its keys", "", absl::StrJoin(sub, ", "));
      }
      continue;
    }
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      errors.Add(0, path, "unknown key" + DidYouMean(Suggest(key, keys)), "",
                 absl::StrJoin(keys, ", "));
      continue;
    }
    const std::string value_text = assignment.substr(eq + 1);
    YAML::Node value;
    try {
      value = YAML::Load(value_text);
    } catch (const YAML::Exception& e) {
      errors.Add(0, path, absl::StrCat("invalid YAML value: ", e.msg),
                 TruncateForMessage(value_text));
      continue;
    }
    if (const int64_t limit = MaxSpecNodes(value_text.size()); !WithinNodeLimit(value, limit)) {
      errors.Add(0, path, "expands to too many YAML nodes through anchors and aliases", "",
                 absl::StrCat("at most ", limit, " for a ", value_text.size(), "-byte value"));
      continue;
    }
    const size_t dot = key.find('.');
    OverrideTarget target = dot == std::string::npos
                                ? OverrideTarget{std::string(FieldKeyFor(key)), "", key}
                                : OverrideTarget{key, key.substr(0, dot), key.substr(dot + 1)};
    CheckOverrideValue(target, value, path, errors);
    parsed.push_back({std::move(target), key, value});
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Message());

  ASSIGN_OR_RETURN(YAML::Node root, LoadSpecYaml(yaml_text));
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec: not a map, so --set cannot apply (got ", DescribeNode(root), ")"));
  }
  for (const Parsed& p : parsed) {
    if (!ApplyOverride(root, p.target, p.key, p.value)) {
      const std::string where = p.value.IsSequence() ? "grid" : p.target.section;
      errors.Add(0, absl::StrCat("--set ", p.key),
                 absl::StrCat("cannot apply: the spec's ", where, " is not a map"));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Message());

  KeepQuotedScalarsStrings(root);
  YAML::Emitter emitter;
  emitter << root;
  std::string header = "# with --set";
  for (const std::string& assignment : assignments) absl::StrAppend(&header, " ", assignment);
  std::replace(header.begin(), header.end(), '\n', ' ');
  return absl::StrCat(header, "\n", emitter.c_str(), "\n");
}

}  // namespace gridrun::coordinator
