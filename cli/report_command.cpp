#include "cli/report_command.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "coordinator/results_reader.h"
#include "ui/snapshot.h"

namespace gridrun::cli {
namespace {

std::string SizeText(uintmax_t bytes) {
  char buffer[32];
  if (bytes < 1024) {
    std::snprintf(buffer, sizeof(buffer), "%ju bytes", bytes);
  } else if (bytes < (1u << 20)) {
    std::snprintf(buffer, sizeof(buffer), "%.1f KiB", bytes / 1024.0);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1f MiB", bytes / 1048576.0);
  }
  return buffer;
}

}  // namespace

int RunReport(const ReportCommandOptions& options, std::ostream& out, std::ostream& err) {
  auto reader = coordinator::ResultsReader::Open(options.db_path);
  if (!reader.ok()) {
    err << "gridrun report: " << reader.status().message() << "\n";
    return 1;
  }
  auto results = (*reader)->ReadExperiment(options.experiment, /*with_images=*/false);
  if (!results.ok()) {
    err << "gridrun report: " << results.status().message() << "\n";
    return 1;
  }
  ReportOptions report;
  report.heatmap_metric = options.heatmap_metric;
  report.x_axis = options.x_axis;
  report.y_axis = options.y_axis;
  auto choice = ChooseHeatMap(*results, report);
  if (!choice.ok()) {
    err << "gridrun report: " << choice.status().message() << "\n";
    return 1;
  }
  ui::SnapshotOptions snapshot;
  snapshot.heatmap_metric = choice->metric;
  snapshot.x_axis = choice->x_axis;
  snapshot.y_axis = choice->y_axis;
  snapshot.generated_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  auto html = ui::SnapshotPage(**reader, results->experiment_id, snapshot);
  if (!html.ok()) {
    err << "gridrun report: " << html.status().message() << "\n";
    return 1;
  }
  {
    std::ofstream file(options.out_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "gridrun report: cannot write " << options.out_path << ": " << std::strerror(errno)
          << "\n";
      return 1;
    }
    file << *html;
    file.close();
    if (!file) {
      err << "gridrun report: cannot write " << options.out_path << ": " << std::strerror(errno)
          << "\n";
      return 1;
    }
  }
  size_t images = 0;
  for (const TrialResults& trial : results->trials) images += trial.samples.size();
  out << "wrote " << options.out_path << " (" << results->trials.size() << " trials, "
      << MetricNames(*results).size() << " metrics, " << images << " sample images, "
      << SizeText(html->size()) << ")\n";
  return 0;
}

void AddReportCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<ReportCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "write a self-contained HTML report of an experiment (tables, learning curves, "
      "sample grids, heat map)");
  cmd->add_option("--db", options->db_path, "the database file (read-only)")->required();
  cmd->add_option("experiment", options->experiment, "experiment id or name")->required();
  cmd->add_option("--out", options->out_path, "the HTML file to write")->required();
  cmd->add_option("--heatmap-metric", options->heatmap_metric,
                  "metric of the heat map (default: the first of fid, test/neg_elbo, loss/total)");
  cmd->add_option("--x", options->x_axis,
                  "grid axis across the heat map (default: the first with several values)");
  cmd->add_option("--y", options->y_axis, "grid axis down the heat map (default: the next one)");
  cmd->callback([options, &out, &err] {
    const int code = RunReport(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
