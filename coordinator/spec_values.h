// Reading one value of a grid spec (internal to the spec parser:
// grid_spec.cpp, spec_overrides.cpp): the number and name syntax a spec
// accepts, the "allowed: ..." text of a setting, and ParseScalar, which
// reads and checks a YAML scalar for a setting of the trial field table.
// Thread-safety: pure functions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/trial_fields.h"
#include "coordinator/spec_errors.h"

namespace gridrun::coordinator {

inline constexpr char kNameRule[] = "a name matching [a-z0-9][a-z0-9._-]{0,63}";

// [-+]?[0-9]+
bool MatchesInt(std::string_view s);

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?: YAML 1.2's float
// without .inf and .nan (and with 1e-3, which YAML 1.2 also reads as a float).
bool MatchesReal(std::string_view s);

// An experiment name: [a-z0-9][a-z0-9._-]{0,63}.
bool IsExperimentName(std::string_view s);

// What `field` accepts, for "allowed: ...": "1..100000", ">= 0",
// "> 0 and <= 10", "cpu, cuda", the catalog's names.
std::string AllowedText(const TrialField& field);

// Reads a scalar for `field` (integers for kInt and kIntList, reals for
// kReal, names for the others); on failure adds the problem to `errors`
// under `path` and `line` and returns std::nullopt. `node` must be a scalar
// or null.
std::optional<SettingValue> ParseScalar(const TrialField& field, const YAML::Node& node,
                                        const std::string& path, int line, ErrorList& errors);

}  // namespace gridrun::coordinator
