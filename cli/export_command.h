// `gridrun export --db FILE EXPERIMENT --out DIR`: copies an experiment's
// results out of the database (read through coordinator::ResultsReader,
// read-only) into plain files:
//
//   DIR/metrics.csv   long format, one row per metric point:
//                     trial,number,<grid axes...>,name,step,epoch,value
//                     (a reused trial lists its source trial's points under
//                     its own trial id; a NaN value is an empty field)
//   DIR/samples/trial-<number>_<name>_epoch-<E>_step-<S>.png   every sample
//
// DIR is created if needed; files already there are overwritten. Names from
// the database are sanitised for file names (anything but [A-Za-z0-9._-]
// becomes '_', a name made only of dots becomes '_'), so nothing is ever
// written outside DIR; two names that sanitise alike get "-2", "-3", ...
//
//   $ gridrun export --db runs.db vae-kl-sweep --out vae
//   wrote vae/metrics.csv (480 points of 4 trials)
//   wrote 20 sample images to vae/samples
//
// With --models DIR (instead of or beside --out), every trained network of
// every COMPLETE trial (or of trial --trial N only), one folder each:
//
//   DIR/trial-<number>/generator.pt, critic.pt  (GANs; vae.pt; classifier.pt)
//                      state dicts that Python's torch.load reads
//                      model.py      the PyTorch modules they load into
//                                    (modelspec/pytorch_source.h)
//                      config.json   the trial's resolved config
//                      manifest.json experiment, trial, params, config and
//                                    its sha256, last metrics, the
//                                    checkpoint (step, epoch, sha256) and
//                                    each file's sha256
//
//   >>> import torch, sys; sys.path.insert(0, "DIR/trial-3")
//   >>> from model import Generator
//   >>> G = Generator(); G.load_state_dict(torch.load("DIR/trial-3/generator.pt"))
//
// The database is read here; the tensors are written by the worker
// program's model tool (worker/model_tool.h), so this binary stays
// torch-free. Trials that are not COMPLETE or whose checkpoint retention
// removed are skipped with a line saying so (with --trial N: an error).
//
// Exit codes: 0 written; 1 missing database, unknown experiment ("no
// experiment 'x'"), or a file that cannot be written.
// Thread-safety: RunExport has no shared state.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>

namespace gridrun::cli {

struct ExportOptions {
  std::string db_path;
  std::string experiment;  // id or name
  std::string out_dir;     // "" : no metrics, samples or spec
  std::string models_dir;  // "" : no networks
  int64_t trial = -1;      // --models of this trial number only (-1: all)
};

// Returns the exit code: 0, 1 (failed, the reason on `err`), or 2 when
// neither --out nor --models was given.
int RunExport(const ExportOptions& options, std::ostream& out, std::ostream& err);

// The --models part alone (cli/export_models.cpp).
int ExportModels(const ExportOptions& options, std::ostream& out, std::ostream& err);

// Adds the `export` subcommand; `out`/`err` must outlive `app`.
void AddExportCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// `name` made safe as part of one file name: every byte outside
// [A-Za-z0-9._-] becomes '_'; "", "." and ".." (any all-dot name) become "_".
// The result never contains '/'.
std::string SanitizeFileName(std::string_view name);

}  // namespace gridrun::cli
