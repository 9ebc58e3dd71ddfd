// `gridrun data check|fetch` and `gridrun models [NAME]`: the data-set and
// model tools.
//
//   data check [--data-dir D]   which data files are present and valid
//   data fetch DATASET [--data-dir D] [--mirror URL]
//                               downloads the official files (libcurl),
//                               verifying checksums
//
// All run in this process, torch-free: the data tools through datafetch/,
// `models` through the model file resolver (cli/models_command.h).
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace gridrun::cli {

// `gridrun data check`: prints the report of datafetch::CheckData on `out`;
// returns 0 when some data set is usable, else 1.
int RunDataCheck(const std::string& data_dir, std::ostream& out);

// `gridrun data fetch`: downloads `dataset` into `data_dir` from `mirror`
// ("" : the official sources). Returns 0, or 1 after printing why on `err`.
int RunDataFetch(const std::string& dataset, const std::string& data_dir,
                 const std::string& mirror, std::ostream& out, std::ostream& err);

// Adds the `data` and `models` subcommands. `models` replaces this process
// with the worker program (exit code 1 with a message if it cannot be
// started); the data tools throw CLI::RuntimeError(1) when they fail.
void AddToolCommands(CLI::App& app, std::ostream& out = std::cout,
                     std::ostream& err = std::cerr);

}  // namespace gridrun::cli
