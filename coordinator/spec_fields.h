// The grid spec's view of the trial field table (common/trial_fields.h),
// internal to the spec parser (grid_spec.cpp, spec_rules.cpp,
// spec_overrides.cpp): which keys a spec may hold at the top level, inside
// optimizer/samples and under grid, and which setting each one gives.
// Every list here is derived from the table, so a setting added there is a
// key and (if its use is kAxis) a grid axis here without further code.
// Thread-safe: the lists are immutable function-local statics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/trial_fields.h"

namespace gridrun::coordinator {

// A setting a spec gives as one value (or an axis): a table entry whose use
// is kAxis or kSingle, by JSON path ("epochs", "optimizer.lr"); else nullptr.
const TrialField* FindSpecField(std::string_view key);

// Top-level keys in the order error messages list them: the table's
// top-level settings, `lr` before `optimizer`, the sections at their place,
// and `grid` last. trial_seed (derived) is not among them.
const std::vector<std::string>& TopLevelKeys();

// The keys of the `optimizer:` map ("name", "lr", "betas", ...) and of the
// `samples:` map ("epochs", "count").
const std::vector<std::string>& OptimizerKeys();
const std::vector<std::string>& SamplesKeys();

// Names allowed under grid: every kAxis setting at the top level, then the
// `lr` shorthand, then the optimizer's kAxis settings by path.
const std::vector<std::string>& AxisNames();

// The setting an axis or top-level key sets ("lr" is optimizer.lr).
std::string_view FieldKeyFor(std::string_view name);

// The setting a top-level scalar key gives ("lr" included), or nullptr.
const TrialField* TopLevelField(std::string_view name);

}  // namespace gridrun::coordinator
