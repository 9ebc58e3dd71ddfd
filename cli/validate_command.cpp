#include "cli/validate_command.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_split.h"
#include "cli/spec_overrides.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"

namespace gridrun::cli {

int RunValidate(const ValidateOptions& options, std::ostream& out, std::ostream& err) {
  std::ifstream file(options.path, std::ios::binary);
  if (!file) {
    err << options.path << ": cannot open file: " << std::strerror(errno) << "\n";
    return 1;
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    err << options.path << ": cannot read file: " << std::strerror(errno) << "\n";
    return 1;
  }
  const auto spec_text = ApplySetOptions(options.path, text.str(), options.sets, err);
  if (!spec_text) return 1;
  coordinator::GridLimits limits;
  limits.max_trials = options.max_trials;
  auto spec = coordinator::ParseGridSpec(*spec_text, limits);
  if (!spec.ok()) {
    for (absl::string_view line : absl::StrSplit(spec.status().message(), '\n')) {
      err << options.path << ": " << line << "\n";
    }
    return 1;
  }
  out << options.path << ": OK, " << coordinator::SummarizeGrid(*spec) << "\n";
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
  AddSetOption(command, &options->sets);
  command->callback([options, &out, &err] {
    const int code = RunValidate(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
