// The repeatable `--set KEY=VALUE` option of `gridrun validate`, `submit`
// and `local`: overrides top-level spec settings before the spec is
// validated and sent (see coordinator::ApplySpecOverrides for the rules).
//
//   gridrun local experiments/dcgan_fashion_samples.yaml --db smoke.db \
//       --set epochs=1 --set train_size=512 --set samples.epochs=[1]
//
// Thread-safety: no shared state.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace gridrun::cli {

// Adds `--set KEY=VALUE` to `command`; each use appends one assignment (one
// value per use, so `--set a=1 grid.yaml` does not swallow the file name).
// `assignments` must outlive `command`.
void AddSetOption(CLI::App* command, std::vector<std::string>* assignments);

// The spec text with `assignments` applied (`text` itself when there are
// none). On a bad assignment prints one "SPEC_PATH: --set KEY: ..." line
// per problem to `err` and returns std::nullopt.
std::optional<std::string> ApplySetOptions(const std::string& spec_path, const std::string& text,
                                           const std::vector<std::string>& assignments,
                                           std::ostream& err);

}  // namespace gridrun::cli
