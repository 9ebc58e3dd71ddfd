// `gridrun-worker model-tool ...`: the LibTorch half of `gridrun export
// --models` and `gridrun sample`. The `gridrun` CLI is torch-free (it links
// gRPC, SQLite and the dashboard; adding LibTorch to it would add minutes to
// every CI build of the CLI and its tests and hundreds of MB to its
// dependencies), so it reads the database itself -- the trial's config and
// the path of its kept checkpoint -- and runs this tool mode of the worker
// program, which already links LibTorch, for the part that needs tensors.
// The tool never opens the database: everything comes on its command line.
//
//   gridrun-worker model-tool export --config CONFIG.json --checkpoint CKPT
//       --sha256 HEX --out DIR [--describe TEXT]
//     writes DIR/<module>.pt for every module of the trial (generator.pt and
//     critic.pt; vae.pt; classifier.pt): its parameters and buffers as a
//     state dict that Python's torch.load reads (models/trained_networks.h),
//     and DIR/model.py, the PyTorch source of the same modules
//     (modelspec/pytorch_source.h). Prints one "wrote PATH" line per file.
//
//   gridrun-worker model-tool sample --config CONFIG.json --checkpoint CKPT
//       --sha256 HEX --out GRID.png [--count N] [--label K] [--seed S]
//       [--interpolate [--to-seed T]] [--raw FILE]
//     draws images from the trial's generator (GANs) or decoder (VAEs), in
//     eval mode, z ~ N(0, 1) from a CPU generator seeded with S (default 0):
//       unconditional            N images (default 64), as square as possible
//       conditional, --label K   N images of class K, as square as possible
//       conditional, no label    one row per class, N per row (default 8);
//                                column j has the same z in every row
//       --interpolate            N steps (default 10) on the straight line
//                                from z(S) to z(T) (T default S + 1); one row,
//                                or one row per class when conditional
//                                without --label
//     --raw FILE also writes {"z", "images"[, "labels"]} (images unclamped,
//     the network's own output) as a torch.load-able file.
//
// Exit codes: 0 done; 1 a bad input (the message names it: a config that
// does not parse, a checkpoint whose sha256 differs or that is of another
// model, a label outside the classes, a classifier asked for samples);
// 2 usage errors.
// Thread-safety: runs in the main thread of its own process.
#pragma once

namespace gridrun::worker {

// True when argv[1] selects the tool ("model-tool").
bool IsModelToolInvocation(int argc, char** argv);

// Runs `gridrun-worker model-tool ...` (argv[0] the program, argv[1]
// "model-tool"); returns the exit code.
int RunModelTool(int argc, char** argv);

}  // namespace gridrun::worker
