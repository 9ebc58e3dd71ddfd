// `gridrun export --models DIR`: every trained network of an experiment's
// trials (or of one, --trial N) as PyTorch files, with a manifest per trial.
// The database is read here; the tensors are written by the worker
// program's model tool (cli/trained_trials.h, worker/model_tool.h).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/export_command.h"
#include "cli/trained_trials.h"
#include "common/sha256.h"
#include "common/trial_config.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

// manifest.json of one exported trial.
nlohmann::json Manifest(const TrainedTrial& t, const fs::path& dir) {
  nlohmann::json m;
  m["format"] = "gridrun-model-export/1";
  m["experiment"] = {{"id", t.experiment_id}, {"name", t.experiment_name}};
  m["trial"] = {{"id", t.trial_id},       {"number", t.number},
                {"state", t.state},       {"reused_from", t.reused_from},
                {"params", t.params}};
  nlohmann::json config = nlohmann::json::parse(t.config_json, nullptr, /*allow_exceptions=*/false);
  m["config"] = config;
  auto parsed = TrialConfigFromJson(t.config_json);
  m["config_sha256"] = parsed.ok() ? ConfigSha256(*parsed) : "";
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : t.metrics) {
    metrics[name] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  }
  m["metrics"] = metrics;
  m["checkpoint"] = {{"step", t.checkpoint.step},
                     {"epoch", t.checkpoint.epoch},
                     {"sha256", t.checkpoint.sha256},
                     {"size_bytes", t.checkpoint.size_bytes}};
  nlohmann::json files = nlohmann::json::object();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "manifest.json" || !entry.is_regular_file()) continue;
    files[name] = {{"sha256", Sha256Hex(ReadBytes(entry.path()))},
                   {"size_bytes", static_cast<int64_t>(entry.file_size())}};
  }
  m["files"] = files;
  return m;
}

}  // namespace

int ExportModels(const ExportOptions& options, std::ostream& out, std::ostream& err) {
  auto reader = coordinator::ResultsReader::Open(options.db_path);
  if (!reader.ok()) {
    err << "gridrun export: " << reader.status().message() << "\n";
    return 1;
  }
  auto results = (*reader)->ReadExperiment(options.experiment, /*with_images=*/false);
  if (!results.ok()) {
    err << "gridrun export: " << results.status().message() << "\n";
    return 1;
  }
  std::vector<int64_t> numbers;
  for (const auto& trial : results->trials) {
    if (options.trial < 0 || trial.number == options.trial) numbers.push_back(trial.number);
  }
  if (numbers.empty()) {
    err << "gridrun export: experiment '" << results->name << "' has no trial " << options.trial
        << "\n";
    return 1;
  }
  const fs::path root(options.models_dir);
  int exported = 0;
  for (int64_t number : numbers) {
    auto trial = ReadTrainedTrial(**reader, options.db_path, options.experiment, number);
    if (!trial.ok()) {
      // One trial asked for: its problem is the command's. A whole
      // experiment: untrained trials are skipped, and said so.
      if (options.trial >= 0) {
        err << "gridrun export: " << trial.status().message() << "\n";
        return 1;
      }
      out << "skipped " << trial.status().message() << "\n";
      continue;
    }
    const fs::path dir = root / ("trial-" + std::to_string(number));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || fs::is_symlink(dir, ec)) {
      err << "gridrun export: cannot create the folder " << dir.string() << "\n";
      return 1;
    }
    const fs::path config_path = dir / "config.json";
    std::ofstream(config_path, std::ios::trunc) << trial->config_json;
    const std::string describe = "trial " + std::to_string(number) + " (id " +
                                 std::to_string(trial->trial_id) + ") of experiment '" +
                                 results->name + "', step " +
                                 std::to_string(trial->checkpoint.step);
    std::vector<std::string> args = {"export"};
    for (std::string& arg : ModelToolInputArgs(*trial, config_path.string())) {
      args.push_back(std::move(arg));
    }
    args.insert(args.end(), {"--out", dir.string(), "--describe", describe});
    auto code = RunModelTool(args, out, err);
    if (!code.ok() || *code != 0) {
      err << "gridrun export: exporting the networks of trial " << number << " failed"
          << (code.ok() ? "" : ": " + std::string(code.status().message())) << "\n";
      return 1;
    }
    const fs::path manifest = dir / "manifest.json";
    std::ofstream(manifest, std::ios::trunc) << Manifest(*trial, dir).dump(2) << "\n";
    out << "wrote " << manifest.string() << "\n";
    ++exported;
  }
  out << "exported the networks of " << exported << " trial" << (exported == 1 ? "" : "s")
      << " to " << root.string() << "\n";
  return exported > 0 ? 0 : 1;
}

}  // namespace gridrun::cli
