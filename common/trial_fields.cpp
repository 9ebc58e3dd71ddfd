// Builds the field table (common/trial_fields.h) from the list in
// common/trial_fields.inc: for each line, its metadata and the three
// accessors that read and write the member it names.
#include "common/trial_fields.h"

#include <nlohmann/json.hpp>
#include <type_traits>

namespace gridrun {
namespace {

using nlohmann::json;

template <typename T>
absl::Status ReadMember(const json& object, const char* name, const char* key, T& out) {
  auto it = object.find(name);
  if (it == object.end()) return absl::OkStatus();
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return absl::InvalidArgumentError(std::string("config.") + key + ": wrong type (" +
                                      it->type_name() + ")");
  }
  return absl::OkStatus();
}

// Spec values come typed by the field's kind (FieldKind); integer members
// narrower than int64_t are kept in range by the kind's range.
template <typename T>
void AssignMember(const SettingValue& value, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (const auto* s = std::get_if<std::string>(&value)) out = *s;
  } else if constexpr (std::is_same_v<T, double>) {
    if (const auto* d = std::get_if<double>(&value)) out = *d;
  } else if constexpr (std::is_integral_v<T>) {
    if (const auto* i = std::get_if<int64_t>(&value)) out = static_cast<T>(*i);
  }
}

}  // namespace

FieldRange NoRange() { return FieldRange{}; }

FieldRange IntRange(int64_t min, int64_t max) {
  FieldRange range;
  range.int_min = min;
  range.int_max = max;
  return range;
}

FieldRange RealRange(double min, bool min_open, double max, bool max_open) {
  FieldRange range;
  range.real_min = min;
  range.real_min_open = min_open;
  range.real_max = max;
  range.real_max_open = max_open;
  return range;
}

// The member a line names, in a TrialConfig `c`.
#define GRIDRUN_TRIAL_MEMBER_OF_TOP(c) (c)
#define GRIDRUN_TRIAL_MEMBER_OF_OPTIMIZER(c) (c).optimizer
#define GRIDRUN_TRIAL_MEMBER_OF_SAMPLES(c) (c).samples
#define GRIDRUN_TRIAL_SECTION_OF_TOP ""
#define GRIDRUN_TRIAL_SECTION_OF_OPTIMIZER "optimizer"
#define GRIDRUN_TRIAL_SECTION_OF_SAMPLES "samples"
#define GRIDRUN_TRIAL_KEY_OF_TOP(name) #name
#define GRIDRUN_TRIAL_KEY_OF_OPTIMIZER(name) "optimizer." #name
#define GRIDRUN_TRIAL_KEY_OF_SAMPLES(name) "samples." #name

const std::vector<TrialField>& TrialFields() {
  static const std::vector<TrialField> kFields = {
#define GRIDRUN_TRIAL_SECTION(member, type)
#define GRIDRUN_TRIAL_FIELD(section, name, type, def, kind, use, range)               \
  TrialField{GRIDRUN_TRIAL_KEY_OF_##section(name),                                    \
             GRIDRUN_TRIAL_SECTION_OF_##section,                                      \
             #name,                                                                   \
             FieldKind::kind,                                                         \
             SpecUse::use,                                                            \
             range,                                                                   \
             [](const TrialConfig& c, json& object) {                                 \
               object[#name] = GRIDRUN_TRIAL_MEMBER_OF_##section(c).name;             \
             },                                                                       \
             [](const json& object, TrialConfig& c) {                                 \
               return ReadMember(object, #name, GRIDRUN_TRIAL_KEY_OF_##section(name), \
                                 GRIDRUN_TRIAL_MEMBER_OF_##section(c).name);          \
             },                                                                       \
             [](const SettingValue& value, TrialConfig& c) {                          \
               AssignMember(value, GRIDRUN_TRIAL_MEMBER_OF_##section(c).name);        \
             }},
#include "common/trial_fields.inc"
#undef GRIDRUN_TRIAL_FIELD
#undef GRIDRUN_TRIAL_SECTION
  };
  return kFields;
}

const std::vector<std::string>& TrialConfigTopKeys() {
  static const std::vector<std::string> kKeys = {
#define GRIDRUN_TRIAL_SECTION(member, type) #member,
#define GRIDRUN_TRIAL_TOP_KEY_TOP(name) #name,
#define GRIDRUN_TRIAL_TOP_KEY_OPTIMIZER(name)
#define GRIDRUN_TRIAL_TOP_KEY_SAMPLES(name)
#define GRIDRUN_TRIAL_FIELD(section, name, type, def, kind, use, range) \
  GRIDRUN_TRIAL_TOP_KEY_##section(name)
#include "common/trial_fields.inc"
#undef GRIDRUN_TRIAL_FIELD
#undef GRIDRUN_TRIAL_SECTION
  };
  return kKeys;
}

const TrialField* FindTrialField(std::string_view key) {
  for (const TrialField& f : TrialFields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

}  // namespace gridrun
