#include "cli/validate_command.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <tuple>
#include <sstream>

#include "absl/strings/str_split.h"
#include "cli/spec_files.h"
#include "cli/spec_overrides.h"
#include "common/subprocess.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"
#include "modelspec/trial_model.h"
#include "modelspec/zoo.h"

namespace gridrun::cli {
namespace {

// The layer table of each distinct model the grid trains, in trial order.
void PrintLayerTables(const coordinator::GridSpec& spec, std::ostream& out) {
  std::set<std::tuple<std::string, std::string, int, int, int>> shown;
  int skipped = 0;
  for (const auto& trial : coordinator::ExpandGrid(spec)) {
    const TrialConfig& c = trial.config;
    if (!shown.insert({c.model, c.dataset, c.latent_size, c.width, c.depth}).second) continue;
    if (shown.size() > static_cast<size_t>(kMaxLayerTables)) {
      ++skipped;
      continue;
    }
    auto resolved = modelspec::ResolveTrialModel(c);
    out << "\n" << c.model << " on " << c.dataset << " (latent_size " << c.latent_size
        << ", width " << c.width << ", depth " << c.depth << ")\n\n";
    // The spec validated, so every model resolves.
    out << (resolved.ok() ? modelspec::ResolvedLayerTable(*resolved)
                          : std::string(resolved.status().message()) + "\n");
  }
  if (skipped > 0) out << "\n(" << skipped << " more models not shown)\n";
}

}  // namespace

int RunValidate(const ValidateOptions& options, std::ostream& out, std::ostream& err) {
  const auto files = ReadSpecFiles(options.path, options.sets, err, options.max_torchscript_bytes);
  if (!files) return 1;
  coordinator::GridLimits limits;
  limits.max_trials = options.max_trials;
  limits.max_model_parameters = options.max_model_parameters;
  auto spec = coordinator::ParseGridSpec(files->text, limits, files->model_files);
  if (!spec.ok()) {
    for (absl::string_view line : absl::StrSplit(spec.status().message(), '\n')) {
      err << options.path << ": " << line << "\n";
    }
    return 1;
  }
  const std::string worker = options.worker_binary.empty() ? SiblingProgram("gridrun-worker")
                                                           : options.worker_binary;
  if (absl::Status s = CheckTorchScriptModels(*spec, files->torchscript, worker, err); !s.ok()) {
    for (absl::string_view line : absl::StrSplit(s.message(), '\n')) {
      err << options.path << ": " << line << "\n";
    }
    return 1;
  }
  out << options.path << ": OK, " << coordinator::SummarizeGrid(*spec) << "\n";
  if (options.verbose) PrintLayerTables(*spec, out);
  return 0;
}

void AddValidateCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<ValidateOptions>();
  CLI::App* command =
      app.add_subcommand("validate", "Check a grid spec and show the trials it expands to");
  command->add_option("spec", options->path, "Grid spec YAML file")->required();
  command->add_option("--max-trials", options->max_trials, "Largest grid accepted")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--max-model-parameters", options->max_model_parameters,
                      "Largest model accepted (parameters, all networks)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  AddSetOption(command, &options->sets);
  command->add_option("--max-torchscript-bytes", options->max_torchscript_bytes,
                      "largest TorchScript file a model file may name")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--worker-binary", options->worker_binary,
                      "the gridrun-worker that runs TorchScript networks once (default: next "
                      "to gridrun)");
  command->add_flag("-v,--verbose", options->verbose,
                    "also print the layer table of each model the grid trains");
  command->callback([options, &out, &err] {
    const int code = RunValidate(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
