// The results of one experiment as read from the database (ExperimentResults,
// filled by LoadExperimentResults in cli/report_command.h and shared with
// `gridrun export`), and the single-file HTML report `gridrun report` makes
// of them.
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
//   5. a heat map of one metric over two grid axes.
// Every string from the database goes through XmlEscape.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun::cli {

struct MetricSample {
  int64_t step = 0;
  int64_t epoch = 0;
  std::optional<double> value;  // std::nullopt: the worker reported NaN
};

struct SampleImage {
  std::string name;
  int64_t step = 0;
  int64_t epoch = 0;
  std::string png;  // bytes; empty when loaded without images
  int rows = 0;
  int cols = 0;
};

struct TrialResults {
  int64_t trial_id = 0;
  int64_t number = 0;
  std::string state;  // "COMPLETE", ...
  int attempt = 0;
  int64_t reused_from = 0;  // 0, or the trial whose results these are
  std::string error;
  std::map<std::string, std::string> params;
  // Last value (highest step) of each metric; metrics reported only with
  // CompleteTrial are included. NaN stands for a NULL value.
  std::map<std::string, double> last_metrics;
  std::map<std::string, std::vector<MetricSample>> series;  // by name, ascending step
  std::vector<SampleImage> samples;                         // by name, then ascending step
};

struct ExperimentResults {
  std::string experiment_id;
  std::string name;
  std::string status;
  std::string spec_yaml;
  int64_t created_ms = 0;
  // Grid axes in the spec's order, each with its values in the spec's order
  // (or, if the spec cannot be parsed, in order of first appearance).
  std::vector<std::string> axes;
  std::map<std::string, std::vector<std::string>> axis_values;
  std::vector<TrialResults> trials;  // in grid order

  // Every metric name any trial has (series or last value): the key metrics
  // of `gridrun status` first, then alphabetical.
  std::vector<std::string> MetricNames() const;
  // Every sample name any trial has, alphabetical.
  std::vector<std::string> SampleNames() const;
};

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

// Standard base64 (RFC 4648, with padding).
std::string Base64Encode(std::string_view bytes);

// "latent_size=2, kl_weight=0.5" for a trial, axes in `results.axes` order.
std::string TrialLabel(const ExperimentResults& results, const TrialResults& trial);

}  // namespace gridrun::cli
