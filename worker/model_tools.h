// The torch-side tools behind `gridrun models` and `gridrun data` (the
// gridrun CLI links no torch, so it runs `gridrun-worker models|data ...`):
//
//   models                 every catalog model: kind, objective, parameters
//   models NAME [--dataset D] [--latent N] [--width N] [--depth N]
//                          the layer table in the seeds' torchsummary format
//   data check [--data-dir D]         what is present and valid
//   data fetch DATASET [--data-dir D] [--mirror URL]
//                          downloads the official files, verifying checksums
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
