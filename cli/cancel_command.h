// `gridrun cancel EXPERIMENT`: cancels an experiment. WAITING trials become
// CANCELLED at once; RUNNING trials are told to stop at their worker's next
// heartbeat. Idempotent.
//
//   $ gridrun cancel vae-kl-sweep
//   cancelled exp-1a2b3c 'vae-kl-sweep': 10 waiting trials cancelled, 2 running trials told to stop
//
// Exit codes: 0 cancelled (or already cancelled/finished: nothing to do);
// 1 unknown experiment ("no experiment 'x'") or unreachable coordinator.
// Thread-safety: RunCancel has no shared state.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli/coordinator_connection.h"

namespace gridrun::cli {

struct CancelOptions {
  std::string experiment;  // id or name
  ConnectionOptions connection;
};

int RunCancel(const CancelOptions& options, std::ostream& out, std::ostream& err);

// Adds the `cancel` subcommand; `out`/`err` must outlive `app`.
void AddCancelCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace gridrun::cli
