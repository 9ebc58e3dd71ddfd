#include "worker/model_check.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "common/sha256.h"
#include "common/trial_config.h"
#include "models/model_factory.h"

namespace gridrun::worker {

namespace {

int Check(const nlohmann::json& input, std::ostream& out);

}  // namespace

int RunModelCheck(std::istream& in, std::ostream& out) {
  try {
    return Check(nlohmann::json::parse(in), out);
  } catch (const std::exception& e) {
    out << "gridrun-worker --check-models: unreadable input: " << e.what() << "\n";
    return 2;
  }
}

namespace {

int Check(const nlohmann::json& input, std::ostream& out) {
  models::TorchScriptFiles files;
  bool ok = true;
  // Named: iterating items() of a temporary would outlive it.
  const nlohmann::json file_paths = input.value("files", nlohmann::json::object());
  const nlohmann::json configs = input.value("configs", nlohmann::json::array());
  for (const auto& [sha, path_json] : file_paths.items()) {
    const std::string path = path_json.get<std::string>();
    std::ifstream file(path, std::ios::binary);
    std::ostringstream bytes;
    if (file) bytes << file.rdbuf();
    if (!file || Sha256Hex(bytes.str()) != sha) {
      out << path << ": " << (file ? "changed since it was read" : "cannot open file") << "\n";
      ok = false;
      continue;
    }
    files.emplace(sha, bytes.str());
  }
  std::set<std::string> reported;
  for (const auto& text : configs) {
    auto config = TrialConfigFromJson(text.get<std::string>());
    if (!config.ok()) {
      out << "unreadable config: " << config.status().message() << "\n";
      ok = false;
      continue;
    }
    const DatasetInfo* data = FindDataset(config->dataset);
    if (data == nullptr) continue;  // the spec parser reports it
    auto bundle = models::BuildModel(*config, *data, files);
    if (bundle.ok()) continue;
    std::ostringstream line;
    line << config->model << " (latent_size " << config->latent_size << ") on " << config->dataset
         << ": " << bundle.status().message();
    if (reported.insert(std::string(bundle.status().message())).second) out << line.str() << "\n";
    ok = false;
  }
  return ok ? 0 : 1;
}

}  // namespace

}  // namespace gridrun::worker
