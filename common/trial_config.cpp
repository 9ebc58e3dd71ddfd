#include "common/trial_config.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/trial_fields.h"

namespace gridrun {
namespace {

using nlohmann::json;

// Every field of the table, each in its section's object. nlohmann::json
// objects are std::map based: keys come out sorted whatever the table order.
json ToJsonObject(const TrialConfig& c) {
  json obj = json::object();
  for (const TrialField& field : TrialFields()) {
    field.write_json(c, field.section.empty() ? obj : obj[field.section]);
  }
  // Only trials of a user's model file carry its text: left out otherwise,
  // so the configs (and hashes) of built-in models are what they were
  // before model files existed.
  if (c.model_source.empty()) obj.erase("model_source");
  // The same for warm starts (common/init_from.h).
  if (c.init_from.empty()) obj.erase("init_from");
  return obj;
}

}  // namespace

std::string ToCanonicalJson(const TrialConfig& config) { return ToJsonObject(config).dump(); }

std::string ConfigSha256(const TrialConfig& config) {
  json obj = ToJsonObject(config);
  obj.erase("experiment");
  return Sha256Hex(obj.dump());
}

absl::StatusOr<TrialConfig> TrialConfigFromJson(const std::string& json_text) {
  json obj = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded() || !obj.is_object()) {
    return absl::InvalidArgumentError("config: not a JSON object");
  }
  TrialConfig c;
  // Top-level keys first, then the sections: the first problem reported is
  // the same whatever the table's order.
  for (const TrialField& field : TrialFields()) {
    if (field.section.empty()) RETURN_IF_ERROR(field.read_json(obj, c));
  }
  for (const TrialField& field : TrialFields()) {
    if (field.section.empty()) continue;
    auto it = obj.find(field.section);
    if (it == obj.end()) continue;
    if (!it->is_object()) {
      return absl::InvalidArgumentError("config." + field.section + ": not an object");
    }
    RETURN_IF_ERROR(field.read_json(*it, c));
  }
  return c;
}

}  // namespace gridrun
