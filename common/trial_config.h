// TrialConfig: the fully resolved settings of one trial.
//
// The coordinator produces it (grid expansion fills every default from the
// model catalog), stores it as canonical JSON in trials.config_json, and sends
// it to workers; the worker and models/ consume it. Its settings are listed
// once, in common/trial_fields.inc; common/trial_fields.h is the table built
// from that list. The JSON form is the
// contract: keys are sorted, every field is present, and
// ConfigSha256() hashes everything that changes what training computes
// (every field except the experiment name), so two experiments that ask for
// the same trial share a hash and the second can reuse the first's results.
// Thread-safe: plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun {

// The members below come from common/trial_fields.inc, one line per setting
// (type, name, default and a comment there). Each struct includes the list
// and keeps the lines of its own section.
#define GRIDRUN_TRIAL_FIELD(section, name, type, def, kind, use, range) \
  GRIDRUN_TRIAL_MEMBER_##section(type, name, def)
#define GRIDRUN_TRIAL_DECLARE(type, name, def) type name = def;
#define GRIDRUN_TRIAL_SKIP(type, name, def)

struct OptimizerConfig {  // optimizer.*
#define GRIDRUN_TRIAL_MEMBER_TOP GRIDRUN_TRIAL_SKIP
#define GRIDRUN_TRIAL_MEMBER_OPTIMIZER GRIDRUN_TRIAL_DECLARE
#define GRIDRUN_TRIAL_MEMBER_SAMPLES GRIDRUN_TRIAL_SKIP
#define GRIDRUN_TRIAL_SECTION(member, type)
#include "common/trial_fields.inc"
#undef GRIDRUN_TRIAL_MEMBER_TOP
#undef GRIDRUN_TRIAL_MEMBER_OPTIMIZER
#undef GRIDRUN_TRIAL_MEMBER_SAMPLES

  bool operator==(const OptimizerConfig&) const = default;
};

struct SampleConfig {  // samples.*: the sample grids stored during training
#define GRIDRUN_TRIAL_MEMBER_TOP GRIDRUN_TRIAL_SKIP
#define GRIDRUN_TRIAL_MEMBER_OPTIMIZER GRIDRUN_TRIAL_SKIP
#define GRIDRUN_TRIAL_MEMBER_SAMPLES GRIDRUN_TRIAL_DECLARE
#include "common/trial_fields.inc"
#undef GRIDRUN_TRIAL_MEMBER_TOP
#undef GRIDRUN_TRIAL_MEMBER_OPTIMIZER
#undef GRIDRUN_TRIAL_MEMBER_SAMPLES
#undef GRIDRUN_TRIAL_SECTION

  bool operator==(const SampleConfig&) const = default;
};

struct TrialConfig {
#define GRIDRUN_TRIAL_MEMBER_TOP GRIDRUN_TRIAL_DECLARE
#define GRIDRUN_TRIAL_MEMBER_OPTIMIZER GRIDRUN_TRIAL_SKIP
#define GRIDRUN_TRIAL_MEMBER_SAMPLES GRIDRUN_TRIAL_SKIP
#define GRIDRUN_TRIAL_SECTION(member, type) type member;
#include "common/trial_fields.inc"
#undef GRIDRUN_TRIAL_MEMBER_TOP
#undef GRIDRUN_TRIAL_MEMBER_OPTIMIZER
#undef GRIDRUN_TRIAL_MEMBER_SAMPLES
#undef GRIDRUN_TRIAL_SECTION

  bool operator==(const TrialConfig&) const = default;
};

#undef GRIDRUN_TRIAL_FIELD
#undef GRIDRUN_TRIAL_DECLARE
#undef GRIDRUN_TRIAL_SKIP

// Canonical JSON text: sorted keys, every field, no whitespace.
std::string ToCanonicalJson(const TrialConfig& config);

// Parses JSON produced by ToCanonicalJson (missing keys keep their defaults;
// a key of the wrong type is an InvalidArgument naming the key, as
// "config.optimizer.lr: wrong type (array)").
absl::StatusOr<TrialConfig> TrialConfigFromJson(const std::string& json_text);

// Hex SHA-256 of the canonical JSON without "experiment".
std::string ConfigSha256(const TrialConfig& config);

}  // namespace gridrun
