// The single-file HTML report `gridrun report` makes of the results of one
// experiment (coordinator::ExperimentResults, as ResultsReader reads them).
//
// The report is ONE self-contained HTML5 file: inline CSS, inline SVG charts
// (cli/svg_chart.h), PNG samples as data: URIs; it holds no URL and no
// script, so it opens offline and can be mailed. Sections:
//   1. title and summary (id, status, trial counts, the spec YAML);
//   2. a table of every trial: its colour, number, state, the grid axes'
//      values and the last value of every metric;
//   3. learning curves: one chart per metric, one line per trial (x = epoch
//      for per-epoch metrics, else step; log-scale y across > 2 decades);
//   4. sample grids: per sample name a table, a row per trial and a column
//      per epoch;
//   5. a heat map of one metric over two grid axes;
//   6. where each trial ran: per attempt, the worker and the environment it
//      reported (gridrun build, LibTorch, BLAS, MPI, CUDA/NCCL, hosts, ranks).
// Every string from the database goes through XmlEscape.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {

using coordinator::AttemptRecord;
using coordinator::ExperimentResults;
using coordinator::MetricSample;
using coordinator::SampleImage;
using coordinator::TrialResults;

// Every metric name any trial has (series or last value): the key metrics
// of `gridrun status` first, then alphabetical.
std::vector<std::string> MetricNames(const ExperimentResults& results);
// Every sample name any trial has, alphabetical.
std::vector<std::string> SampleNames(const ExperimentResults& results);

struct ReportOptions {
  std::string heatmap_metric;  // "" : the first of fid, test/neg_elbo, loss/total present
  std::string x_axis;          // "" : the first axis with more than one value
  std::string y_axis;          // "" : the next such axis
  int64_t generated_ms = 0;    // shown in the footer (0: left out)
};

// What the heat map will show, resolved against the data.
struct HeatMapChoice {
  std::string metric;  // "" : no heat map (no suitable metric or axes)
  std::string x_axis;
  std::string y_axis;  // "" : a single row (only one axis varies)
  std::string note;    // why there is none, for the report
};

// Resolves the options' heat-map metric and axes. INVALID_ARGUMENT when a
// name given explicitly does not exist (the message lists what does), or
// --x equals --y.
absl::StatusOr<HeatMapChoice> ChooseHeatMap(const ExperimentResults& results,
                                            const ReportOptions& options);

// The whole HTML document. Errors as ChooseHeatMap.
absl::StatusOr<std::string> RenderReportHtml(const ExperimentResults& results,
                                             const ReportOptions& options);

// "latent_size=2, kl_weight=0.5" for a trial, axes in `results.axes` order.
std::string TrialLabel(const ExperimentResults& results, const TrialResults& trial);

}  // namespace gridrun::cli
