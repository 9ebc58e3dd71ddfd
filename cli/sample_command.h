// `gridrun sample --db FILE TRIAL --out grid.png`: new samples from a
// trained trial, as one PNG grid.
//
//   gridrun sample --db runs.db 42 --out grid.png            64 images (trial id 42)
//   gridrun sample --db runs.db cgan:3 --label 7 --count 16 --out sevens.png
//   gridrun sample --db runs.db cgan:3 --out classes.png     one row per class
//   gridrun sample --db runs.db 42 --interpolate --seed 1 --to-seed 2 --count 12 --out walk.png
//
// TRIAL is a trial id or EXPERIMENT:NUMBER (cli/trained_trials.h). The
// trial must be COMPLETE with its final checkpoint kept. The layout, the
// noise and --raw (z and the unclamped images as a torch.load-able file, to
// compare with the exported network in Python) are worker/model_tool.h's
// `sample`, which this command runs: the CLI reads the database, the worker
// program (LibTorch) draws.
//
// Exit codes: 0 written; 1 the trial cannot be sampled (the message says
// why: unknown trial, not COMPLETE, no kept checkpoint, a classifier, a
// label outside the classes) or the tool failed; 2 usage errors.
// Thread-safety: no shared state.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>

namespace gridrun::cli {

struct SampleOptions {
  std::string db_path;
  std::string trial;  // id or EXPERIMENT:NUMBER
  std::string out;
  std::string raw;
  int64_t count = 0;  // 0: the tool's default for the layout
  int64_t label = -1;
  int64_t seed = 0;
  bool interpolate = false;
  int64_t to_seed = -1;
};

int RunSample(const SampleOptions& options, std::ostream& out, std::ostream& err);

void AddSampleCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace gridrun::cli
