// `gridrun local GRID.yaml`: the whole system on one machine, one command.
//
//   1. Starts an embedded coordinator on a free loopback port with the
//      database (default runs.db; the same file the other commands read).
//   2. Uploads the TorchScript files its model files name (each checked by
//      running it once first: cli/torchscript_files.h), then submits the
//      grid (idempotent: running the same command again after a
//      Ctrl-C or a crash resumes the grid; COMPLETE trials are not rerun, and
//      trials that match COMPLETE trials of earlier grids are reused).
//   3. Serves the live dashboard (`gridrun ui`) on a free loopback port for
//      as long as the run lasts and prints its URL (--ui-listen; off: none).
//   4. Starts W workers (`mpirun -np N gridrun-worker ...` when N > 1), each
//      with its log under <db>.logs/. By default the machine's cores are
//      packed with single-thread workers (two 1-thread processes beat one
//      2-thread process on CPU; see docs/BENCHMARKS.md).
//   5. Shows progress until every trial is finished, then prints the results
//      table and writes the HTML report (<db>.report.html by default).
// Ctrl-C (or SIGTERM) stops cleanly: workers checkpoint and give their trials
// back, the coordinator stops; run the command again to continue.
//
// Exit codes: 0 every trial COMPLETE; 1 some trial FAILED or CANCELLED, or a
// set-up error; 130 interrupted. Thread-safety: one call per process (it
// installs signal handlers).
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace gridrun::cli {

struct LocalOptions {
  std::string spec_path;
  std::vector<std::string> sets;  // --set KEY=VALUE overrides of the spec
  std::string db_path = "runs.db";
  int workers = 0;           // 0: cores / (ranks * threads), at least 1
  int ranks_per_worker = 0;  // 0: the grid's ranks
  int threads = 1;           // per rank
  std::string data_dir;      // "" : the worker's default ($GRIDRUN_DATA_DIR, ...)
  std::string report_path;   // "" : <db>.report.html
  bool rerun = false;
  std::string worker_binary;  // "" : gridrun-worker next to this program
  double lease_timeout_s = 30;
  int64_t max_torchscript_bytes = int64_t{256} << 20;  // per TorchScript file
  // Where the live dashboard (ui/web_server.h) listens while the grid runs;
  // port 0 picks a free one, "off" serves none. Loopback only: the local run
  // has no token.
  std::string ui_listen = "127.0.0.1:0";
};

int RunLocal(const LocalOptions& options, std::ostream& out, std::ostream& err);

void AddLocalCommand(CLI::App& app, std::ostream& out = std::cout,
                     std::ostream& err = std::cerr);

}  // namespace gridrun::cli
