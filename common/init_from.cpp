#include "common/init_from.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace gridrun {

const std::vector<std::string>& InitFromNetworkNames() {
  static const std::vector<std::string> kNames = {"generator", "critic", "encoder", "decoder",
                                                  "classifier"};
  return kNames;
}

std::string InitFromToJson(const InitFrom& f) {
  nlohmann::json j = {{"trial", f.trial}};
  if (!f.network.empty()) j["network"] = f.network;
  if (!f.into.empty()) j["into"] = f.into;
  if (f.layers != 0) j["layers"] = f.layers;
  if (!f.checkpoint_sha256.empty()) j["checkpoint_sha256"] = f.checkpoint_sha256;
  if (!f.source_config_sha256.empty()) j["source_config_sha256"] = f.source_config_sha256;
  return j.dump();
}

absl::StatusOr<InitFrom> InitFromFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("init_from: not a JSON object");
  }
  InitFrom f;
  try {
    f.trial = j.at("trial").get<int64_t>();
    if (j.contains("network")) f.network = j["network"].get<std::string>();
    if (j.contains("into")) f.into = j["into"].get<std::string>();
    if (j.contains("layers")) f.layers = j["layers"].get<int64_t>();
    if (j.contains("checkpoint_sha256")) f.checkpoint_sha256 = j["checkpoint_sha256"].get<std::string>();
    if (j.contains("source_config_sha256")) {
      f.source_config_sha256 = j["source_config_sha256"].get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("init_from: ", e.what()));
  }
  if (f.trial < 1) return absl::InvalidArgumentError("init_from.trial: must be a trial id >= 1");
  if (f.layers < 0) return absl::InvalidArgumentError("init_from.layers: must be >= 0");
  return f;
}

}  // namespace gridrun
