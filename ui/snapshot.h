// The static form of the dashboard: `gridrun report` writes the web app
// (ui/app_page.h) with one experiment's data inlined, one HTML file that
// shows the same views, curves and images offline.
//
// The snapshot is the JSON the app's data layer (ui/web/src/gr_data.js,
// SnapshotSource) answers from instead of the API:
//   {"generated_ms", "experiment": id, "experiments": [summary],
//    "outline": outline, "rows": [every trial row, grid order],
//    "details": {"N": trial detail}, "curves": {"N": {"metric": curve}},
//    "heatmaps": {"METRIC\tX\tY": heat map, for every metric, every axis X
//                 with more than one value and every other axis Y},
//    "heatmap_default": {"metric", "x", "y"} or null,
//    "samples": {"N\tNAME\tSTEP": base64 PNG}}
// The same ApiRouter JSON conversions (ui/api_json.h) make each part.
//
// Thread-safety: uses the reader it is given (one thread at a time).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/results_reader.h"

namespace gridrun::ui {

struct SnapshotOptions {
  // The heat map the page opens with ("" metric: the app's own default).
  std::string heatmap_metric, x_axis, y_axis;
  int64_t generated_ms = 0;
  int64_t curve_points = 1000;  // per curve, downsampled beyond
};

// The snapshot JSON of experiment `id_or_name`. Errors as the reader's.
absl::StatusOr<std::string> SnapshotJson(coordinator::ResultsReader& reader,
                                         const std::string& id_or_name,
                                         const SnapshotOptions& options);

// InlineAppPage(SnapshotJson(...)): the whole report file.
absl::StatusOr<std::string> SnapshotPage(coordinator::ResultsReader& reader,
                                         const std::string& id_or_name,
                                         const SnapshotOptions& options);

}  // namespace gridrun::ui
