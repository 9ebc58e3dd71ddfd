// The field table of TrialConfig: one entry per setting, built from the list
// in common/trial_fields.inc. It is the single description of the settings
// that the grid-spec parser validates from (kind, range or choices, whether
// a grid may sweep it), grid expansion assigns from (Assign) and the
// canonical JSON round trip iterates (WriteJson / ReadJson). A new setting is
// one line in trial_fields.inc plus the code that uses it.
//
// Thread-safe: the table is immutable after its first use (a function-local
// static); the entries' functions are pure apart from writing their output
// argument.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "common/trial_config.h"

namespace gridrun {

// One typed value of a setting as a spec gives it: integer fields hold
// int64_t, real-valued fields double, names and choices std::string.
using SettingValue = std::variant<int64_t, double, std::string>;

// How a setting's value is read and checked.
enum class FieldKind {
  kInt,         // integer in [int_min, int_max]
  kReal,        // finite real within real_min / real_max
  kChoice,      // one of `choices`
  kDataset,     // a DatasetCatalog() name
  kModel,       // a ModelCatalog() name
  kClassifier,  // a ModelCatalog() name whose objective is classifier
  kName,        // the experiment name (the spec parser's name rule)
  kIntList,     // a list of integers, each in [int_min, int_max]
  kText,        // text the spec parser fills in (a model file's contents)
};

// How a grid spec may give a setting.
enum class SpecUse {
  kAxis,     // a single value, or swept as a grid axis
  kSingle,   // a single value only
  kSpecial,  // in a form of its own (experiment, optimizer.betas, samples.epochs)
  kDerived,  // never: computed by grid expansion (trial_seed)
};

inline constexpr int64_t kNoIntMax = std::numeric_limits<int64_t>::max();
inline constexpr double kNoRealMax = std::numeric_limits<double>::infinity();

// The allowed values of a setting (the `range` column of trial_fields.inc).
struct FieldRange {
  int64_t int_min = 0;
  int64_t int_max = kNoIntMax;
  double real_min = 0;
  bool real_min_open = false;  // true: value must be > real_min
  double real_max = kNoRealMax;
  bool real_max_open = false;  // true: value must be < real_max
  std::vector<std::string> choices;
};

FieldRange NoRange();
FieldRange IntRange(int64_t min, int64_t max = kNoIntMax);
FieldRange RealRange(double min, bool min_open, double max = kNoRealMax, bool max_open = false);
template <typename... Names>
FieldRange OneOf(Names... names) {
  FieldRange range;
  range.choices = {std::string(names)...};
  return range;
}

struct TrialField {
  std::string key;      // JSON path: "epochs", "optimizer.lr", "samples.count"
  std::string section;  // "" (top level), "optimizer" or "samples"
  std::string name;     // the key inside its section: "lr"
  FieldKind kind;
  SpecUse use;
  FieldRange range;
  // Writes the setting of `config` into `object` (the section's JSON object)
  // under `name`.
  void (*write_json)(const TrialConfig& config, nlohmann::json& object);
  // Reads `name` from `object` into `config` when present; a value of the
  // wrong type is INVALID_ARGUMENT "config.KEY: wrong type (TYPE)".
  absl::Status (*read_json)(const nlohmann::json& object, TrialConfig& config);
  // Sets the setting from a spec value of the type its kind gives (int64_t
  // for kInt, double for kReal, std::string for names and choices); a value
  // of another type, or a kIntList field, leaves `config` unchanged.
  void (*assign)(const SettingValue& value, TrialConfig& config);
};

// Every setting, in trial_fields.inc order.
const std::vector<TrialField>& TrialFields();

// The entry for a JSON path ("optimizer.lr"), or nullptr.
const TrialField* FindTrialField(std::string_view key);

// The top-level keys of TrialConfig's JSON in trial_fields.inc order, the
// sections ("optimizer", "samples") at their place among the fields.
const std::vector<std::string>& TrialConfigTopKeys();

}  // namespace gridrun
