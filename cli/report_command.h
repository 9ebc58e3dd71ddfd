// `gridrun report --db FILE EXPERIMENT --out report.html
//                [--heatmap-metric NAME] [--x AXIS] [--y AXIS]`:
// writes one self-contained HTML report of an experiment: the web app of
// `gridrun ui` with the experiment's data inlined (ui/snapshot.h), so it
// shows the same trials table, learning curves, sample gallery, heat map,
// parallel coordinates and trial pages, offline. Read through
// coordinator::ResultsReader (read-only, so it works while the coordinator is
// writing). --heatmap-metric/--x/--y pick the heat map it opens with
// (cli/report_options.h).
//
//   $ gridrun report --db runs.db vae-kl-sweep --out vae.html
//   wrote vae.html (12 trials, 5 metrics, 60 sample images, 1.2 MiB)
//
// Exit codes: 0 written; 1 missing database, unknown experiment ("no
// experiment 'x'"), a heat-map metric or axis that does not exist (the
// message lists those that do), or the file cannot be written.
//
// Thread-safety: each call opens its own read-only connection.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli/report_options.h"

namespace gridrun::cli {

struct ReportCommandOptions {
  std::string db_path;
  std::string experiment;  // id or name
  std::string out_path;
  std::string heatmap_metric;
  std::string x_axis;
  std::string y_axis;
};

int RunReport(const ReportCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `report` subcommand; `out`/`err` must outlive `app`.
void AddReportCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace gridrun::cli
