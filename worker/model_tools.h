// The torch-side tool behind `gridrun models` (the gridrun CLI links no
// torch, so it runs `gridrun-worker models ...`; `gridrun data` runs in the
// CLI itself, see cli/tools_command.h):
//
//   models                 every catalog model: kind, objective, parameters
//   models NAME [--dataset D] [--latent N] [--width N] [--depth N]
//                          the layer table in the seeds' torchsummary format
//
// Returns the exit code (0 ok, 1 failure, 2 usage). Thread-safety: one call
// per process; no MPI needed.
#pragma once

#include <ostream>

namespace gridrun::worker {

// True when argv[1] names a tool (so main() must not start MPI).
bool IsToolCommand(int argc, char** argv);
int RunToolCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace gridrun::worker
