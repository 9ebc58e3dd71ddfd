#include "cli/spec_overrides.h"

#include "absl/strings/str_split.h"
#include "coordinator/grid_spec.h"

namespace gridrun::cli {

void AddSetOption(CLI::App* command, std::vector<std::string>* assignments) {
  command
      ->add_option("--set", *assignments,
                   "override a spec setting, KEY=VALUE (repeatable; VALUE is YAML; a list sweeps "
                   "it; e.g. --set epochs=1 --set train_size=512)")
      ->type_size(1)
      ->allow_extra_args(false);
}

std::optional<std::string> ApplySetOptions(const std::string& spec_path, const std::string& text,
                                           const std::vector<std::string>& assignments,
                                           std::ostream& err) {
  auto overridden = coordinator::ApplySpecOverrides(text, assignments);
  if (!overridden.ok()) {
    for (absl::string_view line : absl::StrSplit(overridden.status().message(), '\n')) {
      err << spec_path << ": " << line << "\n";
    }
    return std::nullopt;
  }
  return *std::move(overridden);
}

}  // namespace gridrun::cli
