// `gridrun models [NAME]` and `gridrun data check|fetch`: model and data-set
// tools that need LibTorch, which the gridrun CLI does not link. They run
// `gridrun-worker models|data ...` (the worker program next to gridrun),
// which handles them without MPI; see worker/model_tools.h for their usage.
#pragma once

#include <CLI/CLI.hpp>

namespace gridrun::cli {

// Adds the `models` and `data` subcommands. They replace this process with
// the worker program (exit code 1 with a message if it cannot be started).
void AddToolCommands(CLI::App& app);

}  // namespace gridrun::cli
