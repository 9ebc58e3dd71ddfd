// `gridrun-worker --check-models`: builds models once, on this machine,
// without a coordinator, so that the torch-free `gridrun validate`,
// `submit` and `local` can run a model file's TorchScript networks against
// their contract before anything is submitted (cli/torchscript_files.h;
// why the check lives in a torch-linked program: models/torchscript_network.h).
//
// Input (stdin), one JSON object:
//   {"files": {"<sha256>": "<path>", ...},   // the TorchScript files
//    "configs": ["<TrialConfig JSON>", ...]}  // ToCanonicalJson, model_source set
// Each file is read and its sha256 checked; each config is built with
// models::BuildModel (which loads every TorchScript network and runs it once
// on a batch of 2). Output (stdout): one line per problem, e.g.
//   "g.yaml (latent_size 64) on mnist: critic.pt: critic (image [2, 1, 28,
//    28], one_hot [2, 10]) must return one score per image ([2] or [2, 1]),
//    returned [2, 7]"
// Exit code 0: every config built; 1: some did not; 2: unreadable input.
//
// Thread-safety: one call per process.
#pragma once

#include <istream>
#include <ostream>

namespace gridrun::worker {

int RunModelCheck(std::istream& in, std::ostream& out);

}  // namespace gridrun::worker
