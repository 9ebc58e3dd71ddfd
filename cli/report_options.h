// What `gridrun report` shows by default, resolved against an experiment's
// results (coordinator::ExperimentResults): the metric names in display
// order, the sample names, and the heat map's metric and axes (with the
// --heatmap-metric/--x/--y errors). The report itself is the web app's
// snapshot (ui/snapshot.h), one self-contained HTML file.
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
};

// What the heat map will show, resolved against the data.
struct HeatMapChoice {
  std::string metric;  // "" : no heat map (no suitable metric or axes)
  std::string x_axis;
  std::string y_axis;  // "" : a single row (only one axis varies)
  std::string note;    // why there is none
};

// Resolves the options' heat-map metric and axes. INVALID_ARGUMENT when a
// name given explicitly does not exist (the message lists what does), or
// --x equals --y.
absl::StatusOr<HeatMapChoice> ChooseHeatMap(const ExperimentResults& results,
                                            const ReportOptions& options);

// "latent_size=2, kl_weight=0.5" for a trial, axes in `results.axes` order.
std::string TrialLabel(const ExperimentResults& results, const TrialResults& trial);

}  // namespace gridrun::cli
