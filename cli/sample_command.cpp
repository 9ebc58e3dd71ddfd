#include "cli/sample_command.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/trained_trials.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {

int RunSample(const SampleOptions& options, std::ostream& out, std::ostream& err) {
  auto reader = coordinator::ResultsReader::Open(options.db_path);
  if (!reader.ok()) {
    err << "gridrun sample: " << reader.status().message() << "\n";
    return 1;
  }
  auto name = ResolveTrialName(**reader, options.trial);
  if (!name.ok()) {
    err << "gridrun sample: " << name.status().message() << "\n";
    return 1;
  }
  auto trial = ReadTrainedTrial(**reader, options.db_path, name->first, name->second);
  if (!trial.ok()) {
    err << "gridrun sample: " << trial.status().message() << "\n";
    return 1;
  }
  // The config goes to the tool as a file (a model file's text can exceed
  // what one command-line argument may hold).
  char config_path[] = "/tmp/gridrun-sample-config-XXXXXX";
  const int fd = ::mkstemp(config_path);
  if (fd < 0) {
    err << "gridrun sample: cannot create a temporary file in /tmp\n";
    return 1;
  }
  ::close(fd);
  std::ofstream(config_path, std::ios::trunc) << trial->config_json;
  std::vector<std::string> args = {"sample"};
  for (std::string& arg : ModelToolInputArgs(*trial, config_path)) args.push_back(std::move(arg));
  args.insert(args.end(), {"--out", options.out, "--seed", std::to_string(options.seed)});
  if (options.count > 0) args.insert(args.end(), {"--count", std::to_string(options.count)});
  if (options.label >= 0) args.insert(args.end(), {"--label", std::to_string(options.label)});
  if (options.interpolate) args.push_back("--interpolate");
  if (options.to_seed >= 0) args.insert(args.end(), {"--to-seed", std::to_string(options.to_seed)});
  if (!options.raw.empty()) args.insert(args.end(), {"--raw", options.raw});
  auto code = RunModelTool(args, out, err);
  std::filesystem::remove(config_path);
  if (!code.ok()) {
    err << "gridrun sample: " << code.status().message() << "\n";
    return 1;
  }
  return *code == 0 ? 0 : 1;
}

void AddSampleCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<SampleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sample", "draw new samples from a trained trial (GAN generator or VAE decoder) as a PNG grid");
  cmd->add_option("--db", options->db_path, "the database file (read-only)")->required();
  cmd->add_option("trial", options->trial, "trial id, or EXPERIMENT:NUMBER")->required();
  cmd->add_option("--out", options->out, "the PNG file to write")->required();
  cmd->add_option("--count", options->count,
                  "images (default 64); per row with one row per class (default 8); "
                  "steps of --interpolate (default 10)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--label", options->label,
                  "conditional models: every image of this class (default: one row per class)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", options->seed, "noise seed (default 0)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--interpolate", options->interpolate,
                "a latent-space walk from z(--seed) to z(--to-seed)");
  cmd->add_option("--to-seed", options->to_seed, "the walk's end (default --seed + 1)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--raw", options->raw,
                  "also write z, labels and the unclamped images (a torch.load-able file)");
  cmd->callback([options, &out, &err] {
    const int code = RunSample(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
