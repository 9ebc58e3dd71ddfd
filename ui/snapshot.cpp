// Builds the report's data snapshot from the same reads and JSON as the API.
#include "ui/snapshot.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ui/api_json.h"
#include "ui/app_page.h"

namespace gridrun::ui {

absl::StatusOr<std::string> SnapshotJson(coordinator::ResultsReader& reader,
                                         const std::string& id_or_name,
                                         const SnapshotOptions& options) {
  const int64_t now = options.generated_ms;
  ASSIGN_OR_RETURN(coordinator::ExperimentOutline outline, reader.ReadOutline(id_or_name, now));
  const std::string& id = outline.experiment_id;
  nlohmann::json snapshot;
  snapshot["generated_ms"] = options.generated_ms;
  snapshot["experiment"] = id;
  snapshot["experiments"] = nlohmann::json::array({SummaryJson(outline)});
  snapshot["outline"] = OutlineJson(outline);

  coordinator::TrialsPageRequest request;
  request.limit = coordinator::TrialsPageRequest::kMaxLimit;
  nlohmann::json rows = nlohmann::json::array();
  std::vector<int64_t> numbers;
  for (;;) {
    ASSIGN_OR_RETURN(coordinator::TrialsPage page, reader.ReadTrialsPage(id, request));
    for (const coordinator::TrialRow& row : page.rows) {
      rows.push_back(TrialRowJson(row));
      numbers.push_back(row.number);
    }
    request.offset += static_cast<int64_t>(page.rows.size());
    if (page.rows.empty() || request.offset >= page.total) break;
  }
  snapshot["rows"] = std::move(rows);

  nlohmann::json details = nlohmann::json::object(), curves = nlohmann::json::object(),
                 samples = nlohmann::json::object();
  for (int64_t number : numbers) {
    const std::string key = std::to_string(number);
    ASSIGN_OR_RETURN(coordinator::TrialDetail detail, reader.ReadTrialDetail(id, number));
    details[key] = TrialDetailJson(detail);
    nlohmann::json& trial_curves = curves[key] = nlohmann::json::object();
    for (const auto& [metric, count] : detail.metric_points) {
      ASSIGN_OR_RETURN(coordinator::CurveSeries curve,
                       reader.ReadCurve(id, number, metric, options.curve_points));
      trial_curves[metric] = CurveJson(curve);
    }
    for (const coordinator::SampleImage& image : detail.samples) {
      ASSIGN_OR_RETURN(std::string png, reader.ReadSamplePng(id, number, image.name, image.step));
      samples[absl::StrCat(number, "\t", image.name, "\t", image.step)] = absl::Base64Escape(png);
    }
  }
  snapshot["details"] = std::move(details);
  snapshot["curves"] = std::move(curves);
  snapshot["samples"] = std::move(samples);

  std::vector<std::string> varying;
  for (const std::string& axis : outline.axes) {
    if (outline.axis_values[axis].size() > 1) varying.push_back(axis);
  }
  nlohmann::json heatmaps = nlohmann::json::object();
  for (const std::string& metric : outline.metrics) {
    for (const std::string& x : varying) {
      for (const std::string& y : outline.axes) {
        if (x == y) continue;
        ASSIGN_OR_RETURN(coordinator::HeatMap map, reader.ReadHeatMap(id, metric, x, y));
        heatmaps[absl::StrCat(metric, "\t", x, "\t", y)] = HeatMapJson(map);
      }
    }
  }
  snapshot["heatmaps"] = std::move(heatmaps);
  snapshot["heatmap_default"] =
      options.heatmap_metric.empty()
          ? nlohmann::json(nullptr)
          : nlohmann::json{
                {"metric", options.heatmap_metric}, {"x", options.x_axis}, {"y", options.y_axis}};
  return DumpJson(snapshot);
}

absl::StatusOr<std::string> SnapshotPage(coordinator::ResultsReader& reader,
                                         const std::string& id_or_name,
                                         const SnapshotOptions& options) {
  ASSIGN_OR_RETURN(std::string json, SnapshotJson(reader, id_or_name, options));
  return InlineAppPage(json);
}

}  // namespace gridrun::ui
