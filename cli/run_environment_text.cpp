// The run environment of an attempt as labelled text (run_environment_text.h).
#include "cli/run_environment_text.h"

#include <nlohmann/json.hpp>
#include <utility>

namespace gridrun::cli {
namespace {

// JSON key and label of each scalar field, in the order shown.
constexpr std::pair<const char*, const char*> kScalarFields[] = {
    {"gridrun_version", "gridrun"}, {"build_commit", "commit"}, {"torch_version", "libtorch"},
    {"blas", "blas"},               {"mpi", "mpi"},             {"cuda", "cuda"},
    {"nccl", "nccl"},               {"hosts", "hosts"}};

constexpr char kUnknown[] = "unknown";

std::string JsonText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string text;
    for (const nlohmann::json& item : value) text += (text.empty() ? "" : ", ") + JsonText(item);
    return text;
  }
  return value.is_null() ? "" : value.dump();
}

std::string RanksText(const nlohmann::json& environment) {
  std::string ranks;
  if (!environment.is_object() || !environment.contains("ranks") ||
      !environment.at("ranks").is_array()) {
    return kUnknown;
  }
  for (const nlohmann::json& rank : environment.at("ranks")) {
    if (!rank.is_object()) continue;
    ranks += (ranks.empty() ? "" : "; ") + std::string("rank ") +
             JsonText(rank.value("rank", nlohmann::json())) + ": " +
             JsonText(rank.value("host", nlohmann::json())) + " " +
             JsonText(rank.value("device", nlohmann::json()));
  }
  return ranks.empty() ? kUnknown : ranks;
}

}  // namespace

std::vector<EnvironmentField> DescribeRunEnvironment(const std::string& environment_json) {
  const nlohmann::json environment =
      nlohmann::json::parse(environment_json, nullptr, /*allow_exceptions=*/false);
  std::vector<EnvironmentField> fields;
  for (const auto& [key, label] : kScalarFields) {
    const bool known = environment.is_object() && environment.contains(key);
    fields.push_back({key, label, known ? JsonText(environment.at(key)) : kUnknown});
  }
  fields.push_back({"ranks", "ranks", RanksText(environment)});
  return fields;
}

}  // namespace gridrun::cli
