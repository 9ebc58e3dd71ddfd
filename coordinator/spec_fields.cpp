// Key lists of a grid spec, derived from the trial field table
// (coordinator/spec_fields.h).
#include "coordinator/spec_fields.h"

namespace gridrun::coordinator {
namespace {

bool GivenAsValue(const TrialField& f) {
  return f.use == SpecUse::kAxis || f.use == SpecUse::kSingle;
}

// The key of `field` inside its section's map: its name, except that the two
// betas are one list, `betas`. Empty for a field with no key of its own.
std::string SectionKeyOf(const TrialField& field) {
  if (field.use == SpecUse::kDerived) return "";
  if (field.key == "optimizer.beta1") return "betas";
  if (field.key == "optimizer.beta2") return "";
  return field.name;
}

std::vector<std::string> SectionKeys(std::string_view section) {
  std::vector<std::string> keys;
  for (const TrialField& f : TrialFields()) {
    if (f.section != section) continue;
    if (std::string key = SectionKeyOf(f); !key.empty()) keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace

const TrialField* FindSpecField(std::string_view key) {
  const TrialField* field = FindTrialField(key);
  return field != nullptr && GivenAsValue(*field) ? field : nullptr;
}

const std::vector<std::string>& TopLevelKeys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> keys;
    for (const std::string& key : TrialConfigTopKeys()) {
      const TrialField* field = FindTrialField(key);
      if (field != nullptr && field->use == SpecUse::kDerived) continue;
      if (key == "optimizer") keys.emplace_back("lr");
      keys.push_back(key);
    }
    // The search keys (coordinator/spec_search.cpp), then the grid.
    for (const char* key : {"search", "scheduler", "stop", "keep_best", "keep_trained", "grid"}) {
      keys.emplace_back(key);
    }
    return keys;
  }();
  return kKeys;
}

const std::vector<std::string>& OptimizerKeys() {
  static const std::vector<std::string> kKeys = SectionKeys("optimizer");
  return kKeys;
}

const std::vector<std::string>& SamplesKeys() {
  static const std::vector<std::string> kKeys = SectionKeys("samples");
  return kKeys;
}

const std::vector<std::string>& AxisNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const TrialField& f : TrialFields()) {
      if (f.use == SpecUse::kAxis && f.section.empty()) names.push_back(f.key);
    }
    names.emplace_back("lr");
    for (const TrialField& f : TrialFields()) {
      if (f.use == SpecUse::kAxis && f.section == "optimizer") names.push_back(f.key);
    }
    return names;
  }();
  return kNames;
}

std::string_view FieldKeyFor(std::string_view name) {
  return name == "lr" ? std::string_view("optimizer.lr") : name;
}

const TrialField* TopLevelField(std::string_view name) {
  if (name == "lr") return FindSpecField("optimizer.lr");
  if (name.find('.') != std::string_view::npos) return nullptr;
  return FindSpecField(name);
}

}  // namespace gridrun::coordinator
